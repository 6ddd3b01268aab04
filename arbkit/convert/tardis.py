"""Convert tardis.dev CSV downloads (gz or plain) into events.

The data type is told by the header: ``incremental_book_L2`` (is_snapshot, side, price,
amount), ``book_snapshot_N`` (asks[i].price/amount, bids[i].price/amount), ``trades`` (id,
side, price, amount) and ``quotes`` (ask/bid price and amount). Timestamps are µs.
In incremental_book_L2 a run of ``is_snapshot=true`` rows after non-snapshot rows starts a
new book image (CLEAR first); amount 0 removes a level.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

from arbkit.core.errors import DataError
from arbkit.convert.files import LocalClock, open_text
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.common import NS_PER_US, ConversionResult, EventSink, InstrumentTable

_SIDES = {"bid": BID, "buy": BID, "ask": ASK, "sell": ASK}


def _kind_of(header: list[str], path: Path) -> str:
    cols = set(header)
    if {"is_snapshot", "side", "price", "amount"} <= cols:
        return "incremental_book_L2"
    if "asks[0].price" in cols and "bids[0].price" in cols:
        return "book_snapshot"
    if {"id", "side", "price", "amount"} <= cols:
        return "trades"
    if {"ask_price", "bid_price", "ask_amount", "bid_amount"} <= cols:
        return "quotes"
    raise DataError(f"unrecognised tardis CSV header {header[:8]}", path=path, row=1)


def convert_tardis(sources: Sequence[str | Path], *,
                   instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert tardis.dev CSV files."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    report: dict[str, Any] = {"format": "tardis", "files": {}}
    for src in (Path(s) for s in sources):
        with open_text(src) as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise DataError("empty file", path=src) from None
            dtype = _kind_of(header, src)
            col = {name: i for i, name in enumerate(header)}
            in_snapshot: dict[int, bool] = {}
            clock = LocalClock(src, field="local_timestamp")
            rows = 0
            depth = sum(1 for h in header if h.startswith("asks[") and h.endswith(".price"))
            for lineno, rec in enumerate(reader, start=2):
                if not rec:
                    continue
                if len(rec) != len(header):
                    raise DataError(f"{len(rec)} fields, header has {len(header)}", path=src, row=lineno)
                try:
                    asset = table.asset(rec[col["exchange"]], rec[col["symbol"]])
                    ts_exch = int(rec[col["timestamp"]]) * NS_PER_US
                    ts_local = int(rec[col["local_timestamp"]]) * NS_PER_US
                except ValueError as exc:
                    raise DataError(f"bad timestamp ({exc})", path=src, row=lineno, field="timestamp") from None
                clock.check(ts_local, lineno)
                where = f"{src} line {lineno}"
                if dtype == "incremental_book_L2":
                    snap = rec[col["is_snapshot"]] == "true"
                    if snap and not in_snapshot.get(asset, False):
                        sink.emit_clear(ts_exch, ts_local, asset)
                    in_snapshot[asset] = snap
                    side = _SIDES.get(rec[col["side"]])
                    if side is None:
                        raise DataError(f"side {rec[col['side']]!r}", path=src, row=lineno, field="side")
                    sink.emit_levels(ts_exch, ts_local, asset, Kind.SNAPSHOT if snap else Kind.DEPTH, side,
                                     [(rec[col["price"]], rec[col["amount"]])], -1, where=where)
                elif dtype == "book_snapshot":
                    bids = [(rec[col[f"bids[{i}].price"]], rec[col[f"bids[{i}].amount"]]) for i in range(depth)
                            if rec[col[f"bids[{i}].price"]]]
                    asks = [(rec[col[f"asks[{i}].price"]], rec[col[f"asks[{i}].amount"]]) for i in range(depth)
                            if rec[col[f"asks[{i}].price"]]]
                    sink.emit_snapshot(ts_exch, ts_local, asset, bids, asks, -1, where=where)
                elif dtype == "trades":
                    side_text = rec[col["side"]]
                    side = {"buy": BUY, "sell": SELL}.get(side_text)
                    if side is None:
                        sink.count("tardis_trades_unknown_side")
                        continue
                    tid = rec[col["id"]]
                    sink.emit_trade(ts_exch, ts_local, asset, side, rec[col["price"]], rec[col["amount"]],
                                    int(tid) if tid.isdigit() else -1, where=where)
                else:
                    sink.emit_bbo(ts_exch, ts_local, asset, rec[col["bid_price"]], rec[col["bid_amount"]],
                                  rec[col["ask_price"]], rec[col["ask_amount"]], -1, where=where)
                rows += 1
        report["files"][src.name] = {"data_type": dtype, "rows": rows}
    report["warnings"] = sink.warnings
    report["counters"] = sink.counters
    return ConversionResult(events=sink.columns(), instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])

"""Convert Bybit v5 order-book captures (``orderbook.N.SYMBOL`` snapshot + delta JSON lines).

Accepts Bybit's public-data ``.data`` dumps and websocket captures alike: one JSON object
a line with ``topic``, ``type`` (snapshot/delta), ``ts`` (ms) and ``data`` {s, b, a, u, seq}.
A snapshot (or ``u == 1``, Bybit's service-restart snapshot) replaces the book; a delta
must carry ``u == previous u + 1``, else a GAP event is written and deltas are ignored
until the next snapshot. Lines may be prefixed with a local receive timestamp
(``<ts> <json>``); otherwise ``ts_local`` is the message's ``ts`` (or ``cts``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from arbkit.core.errors import DataError
from arbkit.convert.files import iter_lines, loads
from arbkit.venues.bybit import BybitBookSync
from arbkit.venues.common import NS_PER_MS, ConversionResult, EventSink, InstrumentTable, detect_ts_unit, to_ns


def convert_bybit(sources: Sequence[str | Path], *, category: str = "linear",
                  instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert Bybit v5 order-book captures into one event table."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    syncs: dict[str, BybitBookSync] = {}
    contract = {"linear": "linear_perp", "inverse": "inverse_perp", "spot": "spot"}.get(category)
    if contract is None:
        raise DataError(f"category {category!r} is not linear/inverse/spot")
    for src in (Path(s) for s in sources):
        for lineno, line in iter_lines(src):
            prefix, sep, rest = line.partition(" ")
            local = None
            if sep and prefix.isdigit():
                local = to_ns(int(prefix), detect_ts_unit(int(prefix), where=f"{src} line {lineno}"))
                line = rest
            msg = loads(line, path=src, row=lineno)
            if not isinstance(msg, dict) or "topic" not in msg or not str(msg["topic"]).startswith("orderbook."):
                sink.count("bybit_messages_ignored")
                continue
            if not isinstance(msg.get("data"), dict) or "s" not in msg["data"]:
                raise DataError("orderbook message without data.s", path=src, row=lineno, field="data")
            sym = msg["data"]["s"]
            if sym not in syncs:
                asset = table.asset(f"bybit-{category}", sym, contract_type=contract,
                                    maker_fee_bps=2.0 if category != "spot" else 10.0,
                                    taker_fee_bps=5.5 if category != "spot" else 10.0)
                syncs[sym] = BybitBookSync(sink, asset, sym)
            ts_local = local if local is not None else int(msg.get("cts", msg.get("ts", 0))) * NS_PER_MS
            syncs[sym].on_message(ts_local, msg, f"{src} line {lineno}")
    report = {"format": "bybit", "symbols": {s: {"snapshots": y.snapshots, "deltas": y.deltas, "gaps": y.gaps}
                                             for s, y in syncs.items()},
              "counters": sink.counters, "warnings": sink.warnings}
    return ConversionResult(events=sink.columns(), instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])

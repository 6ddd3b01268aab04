"""Convert raw Binance websocket captures (``<local_ts> <json>`` lines) into events.

Handles spot, USD-M and COIN-M: combined-stream envelopes (``{"stream", "data"}``) or
bare payloads for ``depthUpdate`` (with ``U``/``u`` and futures ``pu``), ``bookTicker``,
``trade``/``aggTrade``, futures ``markPriceUpdate`` (MARK and FUNDING rows), and the REST
depth snapshot line (``lastUpdateId``). Several files
of one symbol (day N, day N+1) are chained in time order so the sequence check spans
the file boundary.

A symbol whose diffs never meet a snapshot gets no depth rows: its instrument is written
with ``depth_usable: false`` and a warning naming the files, while its BBO and trades
still convert.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from arbkit.convert.files import LocalClock, iter_lines, loads
from arbkit.core.errors import DataError
from arbkit.venues.binance import VENUE_NAMES, BinanceBookSync, emit_mark_price, instrument_meta, market_of
from arbkit.venues.common import (
    _EPOCH_HI_S,
    _EPOCH_LO_S,
    NS_PER_S,
    TS_UNITS,
    ConversionResult,
    EventSink,
    InstrumentTable,
    detect_ts_unit,
    to_ns,
)

PEEK_LINES = 5_000


def _split(line: str, path: Path, lineno: int) -> tuple[str, str]:
    ts, sep, payload = line.partition(" ")
    if not sep or not ts.isdigit():
        raise DataError("expected '<local timestamp> <json>'", path=path, row=lineno, field="local_ts")
    return ts, payload


def _payload(msg: Any) -> tuple[str, dict[str, Any]]:
    """(kind, data) of a parsed line: kind in snapshot/depth/ticker/trade/other."""
    if isinstance(msg, dict) and "stream" in msg and isinstance(msg.get("data"), dict):
        msg = msg["data"]
    if not isinstance(msg, dict):
        return "other", {}
    if "lastUpdateId" in msg and "bids" in msg:
        return "snapshot", msg
    e = msg.get("e")
    if e == "depthUpdate":
        return "depth", msg
    if e == "bookTicker" or (e is None and {"u", "s", "b", "B", "a", "A"} <= msg.keys()):
        return "ticker", msg
    if e in ("trade", "aggTrade"):
        return "trade", msg
    if e == "markPriceUpdate":
        return "mark", msg
    return "other", msg


def _peek(path: Path) -> dict[str, Any]:
    """First timestamp, its unit, and the (market, symbol) pairs seen near the top of a file."""
    first_ts: int | None = None
    unit = None
    found: dict[str, str] = {}
    for lineno, line in iter_lines(path):
        ts, payload = _split(line, path, lineno)
        if first_ts is None:
            unit = detect_ts_unit(int(ts), where=f"{path} line {lineno}")
            first_ts = to_ns(int(ts), unit)
        kind, data = _payload(loads(payload, path=path, row=lineno))
        if kind in ("depth", "ticker", "mark") and "s" in data and data["s"] not in found:
            m = market_of(data)
            if m:
                found[data["s"]] = m
        if lineno >= PEEK_LINES and found:
            break
    if first_ts is None:
        raise DataError("file holds no messages", path=path)
    if not found:
        raise DataError("no depthUpdate, bookTicker or markPriceUpdate message found: cannot tell the symbol and "
                        "market", path=path)
    return {"first_ts": first_ts, "unit": unit, "symbols": found}


def convert_binance(sources: Sequence[str | Path], *, check_bbo: bool = True,
                    instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert Binance capture files (any mix of symbols and markets) into one event table."""
    paths = [Path(s) for s in sources]
    if not paths:
        raise DataError("no source files given")
    infos = {p: _peek(p) for p in paths}
    paths.sort(key=lambda p: (sorted(infos[p]["symbols"].items()), infos[p]["first_ts"]))
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    syncs: dict[tuple[str, str], BinanceBookSync] = {}
    files_of: dict[tuple[str, str], list[str]] = {}
    units = {}

    for path in paths:
        info = infos[path]
        unit = info["unit"]
        units[path.name] = unit
        mult_ok = _unit_bounds(unit)
        markets = info["symbols"]
        for sym, market in markets.items():
            if (market, sym) not in syncs:
                asset = table.asset(VENUE_NAMES[market], sym, **instrument_meta(market, sym))
                syncs[(market, sym)] = BinanceBookSync(sink, asset, market, sym, check_bbo=check_bbo,
                                                       checks=table.checks(asset, sequence="checked",
                                                                           book="REST snapshot+delta"))
            files_of.setdefault((market, sym), []).append(path.name)
        only_symbol = next(iter(markets)) if len(markets) == 1 else None
        where = str(path)
        clock = LocalClock(path)
        for lineno, line in iter_lines(path):
            ts_text, payload = _split(line, path, lineno)
            raw_ts = int(ts_text)
            if not mult_ok[0] <= raw_ts < mult_ok[1]:
                raise DataError(f"local timestamp {raw_ts} is not in {unit} like the rest of the file",
                                path=path, row=lineno, field="local_ts")
            ts = clock.check(to_ns(raw_ts, unit), lineno)
            kind, data = _payload(loads(payload, path=path, row=lineno))
            loc = f"{where} line {lineno}"
            if kind == "snapshot":
                sym = data.get("symbol") or only_symbol
                if sym is None:
                    raise DataError("REST snapshot without a symbol in a file with several symbols", path=path,
                                    row=lineno, field="symbol")
                _sync(syncs, markets, sym, path, lineno).on_snapshot(ts, data, loc)
            elif kind == "depth":
                _sync(syncs, markets, data.get("s"), path, lineno).on_diff(ts, data, loc)
            elif kind == "ticker":
                _sync(syncs, markets, data.get("s"), path, lineno).on_book_ticker(ts, data, loc)
            elif kind == "trade":
                _sync(syncs, markets, data.get("s"), path, lineno).on_trade(ts, data, loc)
            elif kind == "mark":
                emit_mark_price(sink, _sync(syncs, markets, data.get("s"), path, lineno).asset, ts, data, loc)
            else:
                sink.count("binance_messages_ignored")

    report: dict[str, Any] = {"format": "binance", "ts_units": units, "symbols": {}}
    insts = table.instruments()
    for (market, sym), sync in syncs.items():
        sync.finish(sym)
        entry: dict[str, Any] = {
            "market": sync.market, "files": files_of[(market, sym)], "snapshots": sync.snapshots,
            "diffs_applied": sync.diffs_applied, "stale_diffs_dropped": sync.stale_dropped, "gaps": sync.gaps,
        }
        if sync.snapshots == 0:
            insts[sync.asset].depth_usable = False
            msg = (f"{sym}: depth diffs but no REST snapshot in {files_of[(market, sym)]}: no book is invented; depth is "
                   f"marked unusable (depth_usable=false) and only BBO and trades are converted. Pass the file "
                   f"holding the snapshot (e.g. the previous day's) together with these files.")
            sink.warn(msg)
            entry["depth_usable"] = False
        if check_bbo and sync.snapshots:
            entry.update(sync.bbo_check())
        report["symbols"][insts[sync.asset].key] = entry
    report["counters"] = dict(sink.counters)
    report["warnings"] = list(sink.warnings)
    return ConversionResult(events=sink.columns(), instruments=insts, report=report,
                            sources=[str(p) for p in paths])


def _sync(syncs: dict[tuple[str, str], BinanceBookSync], markets: dict[str, str], sym: Any, path: Path,
          lineno: int) -> BinanceBookSync:
    try:
        return syncs[(markets[sym], sym)]
    except KeyError:
        raise DataError(f"message for symbol {sym!r} not seen in the first {PEEK_LINES} lines of the file",
                        path=path, row=lineno, field="s") from None


def _unit_bounds(unit: str) -> tuple[int, int]:
    mult = TS_UNITS[unit]
    return _EPOCH_LO_S * NS_PER_S // mult, _EPOCH_HI_S * NS_PER_S // mult


"""Convert the Polymarket collector's JSON files (full-depth book snapshots + trades) into events.

File names ``polymarket_<interval>_<asset>_updown_<slug>_<up|down>_<orderbooks|trades>.json[.gz]``
name the market; the Up and Down tokens become two ``binary_outcome`` instruments
(price in [0, 1], payoff 1). Each book element is a full snapshot: CLEAR + SNAPSHOT rows.
Timestamps are milliseconds (``timestamp`` = exchange, ``local_timestamp`` = collector).
Trades' ``side`` is the taker's side.

Each token carries its market (``<asset>-updown-<interval>-<slug>``), its outcome (``Up`` /
``Down``), its complement (the other token's symbol) and the resolution time the name gives
(the slug is the window's start in epoch seconds; the window lasts ``<interval>``). The winner
is not in the files: ``resolution`` gives it (``{market id or "*": "Up" | "Down"}``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from arbkit.core.errors import DataError
from arbkit.convert.files import LocalClock, read_json_document
from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS, ConversionResult, EventSink, InstrumentTable

_NAME = re.compile(r"polymarket_(?P<interval>[^_]+)_(?P<asset>[^_]+)_updown_(?P<slug>\d+)_(?P<token>up|down)_"
                   r"(?P<what>orderbooks|trades)\.json(\.gz)?$")


def parse_name(path: Path) -> dict[str, str]:
    """Market, token and kind from a collector file name."""
    m = _NAME.match(path.name)
    if not m:
        raise DataError("file name does not follow polymarket_<interval>_<asset>_updown_<slug>_<up|down>_"
                        "<orderbooks|trades>.json[.gz]", path=path)
    return m.groupdict()


_INTERVAL = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def market_of(meta: dict[str, str]) -> str:
    """The market id of a collector file's name fields."""
    return f"{meta['asset']}-updown-{meta['interval']}-{meta['slug']}"


def symbol_of(meta: dict[str, str], token: str) -> str:
    """The instrument symbol of one token of a collector market."""
    return f"{meta['asset'].upper()}-UPDOWN-{meta['interval']}-{meta['slug']}-{token.upper()}"


def resolution_ns(meta: dict[str, str], path: Path) -> int:
    """The window's end, ns since epoch: slug (start, epoch seconds) plus the interval."""
    m = _INTERVAL.match(meta["interval"])
    if not m:
        raise DataError(f"interval {meta['interval']!r} in the file name is not <number><s|m|h|d>", path=path)
    return (int(meta["slug"]) + int(m["n"]) * _UNIT_S[m["unit"]]) * 1_000_000_000


def _winner(resolution: dict[str, str], market: str) -> str | None:
    w = resolution.get(market, resolution.get("*"))
    if w is None:
        return None
    if str(w).lower() not in ("up", "down"):
        raise DataError(f"resolution: winner {w!r} of market {market} is not Up or Down", path=market)
    return str(w).capitalize()


def _ms(v: Any, path: Path, row: int, field: str) -> int:
    try:
        return int(v) * NS_PER_MS
    except (TypeError, ValueError):
        raise DataError(f"bad timestamp {v!r}", path=path, row=row, field=field) from None


def convert_polymarket(sources: Sequence[str | Path], *, instruments: dict[str, dict[str, Any]] | None = None,
                       resolution: dict[str, str] | None = None) -> ConversionResult:
    """Convert the Polymarket collector's files (``resolution``: winners by market id, ``"*"`` for all)."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    counts: dict[str, dict[str, int]] = {}
    for src in sorted(Path(s) for s in sources):
        meta = parse_name(src)
        market = market_of(meta)
        other = "down" if meta["token"] == "up" else "up"
        asset = table.asset("polymarket", symbol_of(meta, meta["token"]), contract_type="binary_outcome",
                            quote_currency="USDC", maker_fee_bps=0.0, taker_fee_bps=0.0,
                            market_id=market, outcome=meta["token"].capitalize(), complement=symbol_of(meta, other),
                            resolution_ts=resolution_ns(meta, src), winner=_winner(resolution or {}, market),
                            extra={"market": market, "outcome": meta["token"]})
        doc = read_json_document(src)
        if not isinstance(doc, list):
            raise DataError("expected a JSON array of elements", path=src)
        where = str(src)
        clock = LocalClock(src, field="local_timestamp")
        for i, el in enumerate(doc):
            if not isinstance(el, dict):
                raise DataError("element is not an object", path=src, row=i)
            ts_exch = _ms(el.get("timestamp"), src, i, "timestamp")
            ts_local = clock.check(_ms(el.get("local_timestamp"), src, i, "local_timestamp"), i)
            try:
                if meta["what"] == "orderbooks":
                    bids = [(lv["price"], lv["size"]) for lv in el["bids"]]
                    asks = [(lv["price"], lv["size"]) for lv in el["asks"]]
                    sink.emit_snapshot(ts_exch, ts_local, asset, bids, asks, -1, where=f"{where} element {i}")
                else:
                    side = {"buy": BUY, "sell": SELL}.get(str(el["side"]).lower())
                    if side is None:
                        raise DataError(f"trade side {el['side']!r} is not buy/sell", path=src, row=i, field="side")
                    sink.emit_trade(ts_exch, ts_local, asset, side, el["price"], el["size"], -1,
                                    where=f"{where} element {i}")
            except KeyError as exc:
                raise DataError(f"missing key {exc.args[0]!r}", path=src, row=i, field=str(exc.args[0])) from None
        counts[src.name] = {"elements": len(doc)}
    insts = table.instruments()
    return ConversionResult(events=sink.columns(), instruments=insts,
                            report={"format": "polymarket", "files": counts, "warnings": sink.warnings},
                            sources=[str(s) for s in sources])

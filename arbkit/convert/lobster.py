"""Convert a LOBSTER message file + orderbook file pair into events.

The orderbook file holds the visible book (N levels a side) after each message; the first
row becomes CLEAR + SNAPSHOT, every later row becomes DEPTH rows for the levels that changed
(a level leaving the N-level view is set to 0: the recording's book is the file's view).
Executions (types 4 visible, 5 hidden) become TRADE rows whose side is the aggressor
(the opposite of the resting order's direction). Times are seconds after midnight,
America/New_York, on the date in the file name; ``seq`` is the message row number.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from arbkit.core.errors import DataError
from arbkit.convert.files import open_text
from arbkit.core.schema import ASK, BID, Kind
from arbkit.venues.common import NS_PER_S, ConversionResult, EventSink, InstrumentTable

_NAME = re.compile(r"(?P<ticker>[A-Za-z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+_(?P<what>message|orderbook)_"
                   r"(?P<levels>\d+)")
PRICE_SCALE = 10_000
_DUMMY = 9_999_999_999


def _pairs(sources: Sequence[Path]) -> list[tuple[Path, Path, dict[str, str]]]:
    msgs, books = {}, {}
    for s in sources:
        m = _NAME.match(s.name)
        if not m:
            raise DataError("not a LOBSTER file name (TICKER_DATE_START_END_{message|orderbook}_LEVELS.csv)", path=s)
        key = (m["ticker"], m["date"], m["levels"])
        (msgs if m["what"] == "message" else books)[key] = (s, m.groupdict())
    out = []
    for key, (mpath, meta) in msgs.items():
        if key not in books:
            raise DataError("message file has no matching orderbook file", path=mpath)
        out.append((mpath, books[key][0], meta))
    if not out:
        raise DataError("no LOBSTER message file among the sources")
    return out


def convert_lobster(sources: Sequence[str | Path], *,
                    instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert a LOBSTER message + orderbook file pair."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    report: dict[str, Any] = {"format": "lobster", "files": {}}
    for mpath, bpath, meta in _pairs([Path(s) for s in sources]):
        levels = int(meta["levels"])
        asset = table.asset("nasdaq", meta["ticker"], contract_type="equity", quote_currency="USD",
                            tick_size=0.01, lot_size=1.0)
        midnight = datetime.strptime(meta["date"], "%Y-%m-%d").replace(tzinfo=ZoneInfo("America/New_York"))
        base_ns = int(midnight.timestamp()) * NS_PER_S
        prev: dict[tuple[int, int], int] = {}
        trades = 0
        with open_text(mpath) as mf, open_text(bpath) as bf:
            for row, (m, b) in enumerate(zip(csv.reader(mf), csv.reader(bf)), start=1):
                if len(m) < 6 or len(b) != 4 * levels:
                    raise DataError(f"expected 6 message fields and {4 * levels} book fields",
                                    path=mpath if len(m) < 6 else bpath, row=row)
                secs, _, _ = m[0].partition(".")
                frac = m[0][len(secs) + 1:]
                ts = base_ns + int(secs) * NS_PER_S + int((frac + "000000000")[:9])
                book: dict[tuple[int, int], int] = {}
                for lv in range(levels):
                    ap, asz, bp, bsz = (int(x) for x in b[4 * lv: 4 * lv + 4])
                    if abs(ap) != _DUMMY and asz > 0:
                        book[(ASK, ap)] = asz
                    if abs(bp) != _DUMMY and bsz > 0:
                        book[(BID, bp)] = bsz
                if row == 1:
                    sink.emit_clear(ts, ts, asset, row)
                    for (side, p), q in sorted(book.items()):
                        sink.emit(ts, ts, asset, Kind.SNAPSHOT, side, p / PRICE_SCALE, float(q), row)
                else:
                    for key in sorted(set(prev) | set(book)):
                        q = book.get(key, 0)
                        if prev.get(key, 0) != q:
                            sink.emit(ts, ts, asset, Kind.DEPTH, key[0], key[1] / PRICE_SCALE, float(q), row)
                if m[1] in ("4", "5"):
                    direction = int(m[5])
                    sink.emit(ts, ts, asset, Kind.TRADE, -direction, int(m[4]) / PRICE_SCALE, float(m[3]), row)
                    trades += 1
                prev = book
        report["files"][mpath.name] = {"messages": row, "trades": trades, "orderbook": bpath.name, "levels": levels}
    return ConversionResult(events=sink.columns(), instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])

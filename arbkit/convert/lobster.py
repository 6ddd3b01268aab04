"""Convert a LOBSTER message file + orderbook file pair into events.

The orderbook file holds the visible book (N levels a side) after each message; the first
row becomes CLEAR + SNAPSHOT, every later row becomes DEPTH rows for the levels that changed
(a level leaving the N-level view is set to 0: the recording's book is the file's view).
Executions (types 4 visible, 5 hidden) become TRADE rows whose side is the aggressor
(the opposite of the resting order's direction). Times are seconds after midnight,
America/New_York, on the date in the file name; ``seq`` is the message row number.

The two files must line up row for row: the same number of rows, and each message's effect
on the book (a submission adds its size at its price and side, a cancellation, deletion or
visible execution takes it away, a hidden execution, cross trade or halt leaves the book as
it was) must be the change from the previous orderbook row to its own, up to the one level
entering or leaving the N-level view at its far end. The first row that does not is an
error naming it: a message file with a row missing, or cut short, is refused instead of
pairing every later book with the wrong message.
"""
from __future__ import annotations

import csv
import itertools
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from arbkit.core.errors import DataError
from arbkit.convert.files import LocalClock, open_text
from arbkit.core.schema import ASK, BID, Kind
from arbkit.venues.common import NS_PER_S, ConversionResult, EventSink, InstrumentTable

_NAME = re.compile(r"(?P<ticker>[A-Za-z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+_(?P<what>message|orderbook)_"
                   r"(?P<levels>\d+)")
PRICE_SCALE = 10_000
_DUMMY = 9_999_999_999
_TYPES = {"1": "submission", "2": "cancellation", "3": "deletion", "4": "execution", "5": "hidden execution",
          "6": "cross trade", "7": "trading halt"}


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
        clock = LocalClock(mpath, field="time")
        row = 0
        with open_text(mpath) as mf, open_text(bpath) as bf:
            for row, (m, b) in enumerate(itertools.zip_longest(csv.reader(mf), csv.reader(bf)), start=1):
                if m is None or b is None:
                    short, other = (mpath, bpath) if m is None else (bpath, mpath)
                    raise DataError(f"{short.name} ends after {row - 1} rows but {other.name} goes on: the message "
                                    f"and orderbook files must have one row each per message", path=short, row=row)
                if len(m) < 6 or len(b) != 4 * levels:
                    raise DataError(f"expected 6 message fields and {4 * levels} book fields",
                                    path=mpath if len(m) < 6 else bpath, row=row)
                secs, _, _ = m[0].partition(".")
                frac = m[0][len(secs) + 1:]
                try:
                    ts = clock.check(base_ns + int(secs) * NS_PER_S + int((frac + "000000000")[:9]), row)
                    book = _book(b, levels)
                    why = _misaligned(m, prev, book, levels) if row > 1 else None
                except ValueError as exc:
                    raise DataError(f"not a number ({exc})", path=mpath, row=row) from None
                if why:
                    raise DataError(f"{why}: the message and orderbook files do not line up here (a message row "
                                    f"missing or extra?)", path=mpath, row=row)
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


def _book(fields: list[str], levels: int) -> dict[tuple[int, int], int]:
    """One orderbook row as {(side, price): size} of its visible levels (dummy levels left out)."""
    book: dict[tuple[int, int], int] = {}
    for lv in range(levels):
        ap, asz, bp, bsz = (int(x) for x in fields[4 * lv: 4 * lv + 4])
        if abs(ap) != _DUMMY and asz > 0:
            book[(ASK, ap)] = asz
        if abs(bp) != _DUMMY and bsz > 0:
            book[(BID, bp)] = bsz
    return book


def _misaligned(m: list[str], prev: dict[tuple[int, int], int], book: dict[tuple[int, int], int],
                levels: int) -> str | None:
    """Why the message ``m`` cannot be what changed ``prev`` into ``book`` (None when it can)."""
    kind, size, price, direction = m[1], int(m[3]), int(m[4]), int(m[5])
    changed = {k for k in set(prev) | set(book) if prev.get(k, 0) != book.get(k, 0)}
    what = (f"message {_TYPES.get(kind, 'type ' + kind)} {'buy' if direction > 0 else 'sell'} {size} @ "
            f"{price / PRICE_SCALE:g}")
    if kind not in ("1", "2", "3", "4"):
        return None if not changed else f"{what} changes nothing, but the book changed at {_levels(changed, prev, book)}"
    side = BID if direction > 0 else ASK
    key = (side, price)
    expected = prev.get(key, 0) + (size if kind == "1" else -size)
    others = changed - {key}
    if key not in changed:
        if not others and _beyond_view(prev, side, price, levels):
            return None  # an order outside the visible levels
        return f"{what} does not show in the book (changed: {_levels(changed, prev, book) or 'nothing'})"
    if book.get(key, 0) != max(expected, 0) or expected < 0:
        return f"{what} should leave {max(expected, 0)} at that price, the book has {book.get(key, 0)}"
    if len(others) > 1 or any(k[0] != side or not _at_far_end(k, prev, book) for k in others):
        return f"{what} does not explain the other changes ({_levels(others, prev, book)})"
    return None


def _beyond_view(book: dict[tuple[int, int], int], side: int, price: int, levels: int) -> bool:
    prices = [p for s, p in book if s == side]
    if len(prices) < levels:
        return False
    return price < min(prices) if side == BID else price > max(prices)


def _at_far_end(key: tuple[int, int], prev: dict[tuple[int, int], int], book: dict[tuple[int, int], int]) -> bool:
    """A level leaving the view (the worst of ``prev``) or entering it (the worst of ``book``)."""
    side, price = key
    for b in (prev, book):
        prices = [p for s, p in b if s == side]
        if prices and price == (min(prices) if side == BID else max(prices)) and key in b:
            return True
    return False


def _levels(keys: set[tuple[int, int]], prev: dict[tuple[int, int], int], book: dict[tuple[int, int], int]) -> str:
    return ", ".join(f"{'bid' if s == BID else 'ask'} {p / PRICE_SCALE:g}: {prev.get((s, p), 0)} -> {book.get((s, p), 0)}"
                     for s, p in sorted(keys)[:3])

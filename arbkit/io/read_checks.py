"""Recordings checked where they are read: the row rules of ``arbkit validate``, applied to every row a replay reads.

A replay (and every sweep job) reads a recording through :func:`checked_stream`: each row
goes through the rules ``arbkit validate`` applies to rows (ts_local never going back,
known kind and asset, side ±1 on priced rows and 0 on FUNDING / MARK rows, finite
non-negative price (a funding rate may be negative) and qty, a positive price on the
instrument's tick grid). The first row that breaks one stops the read
with a :class:`~arbkit.core.errors.DataError` naming the part file, the row in it and the
field — unless the caller asked to run anyway (``skip_bad``): then such rows are left out
(a row whose ts_local is before an earlier kept row's is left out too) and counted in a
:class:`BadRows` tally that the run's result reports. Crossed books are not a row rule
(the engine counts them).

:func:`verify_parts` checks every part's sha256 against ``manifest.json`` before a read
(``--verify``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
from numba import njit

from arbkit.core.columns import EventColumns
from arbkit.core.errors import DataError
from arbkit.core.schema import KIND_NAMES, Kind
from arbkit.io.manifest import sha256_file
from arbkit.io.parts import open_part

#: Kinds whose rows carry a price and a side (SNAPSHOT, DEPTH, TRADE, BBO).
PRICED_KINDS = np.array([Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE, Kind.BBO], dtype=np.uint8)
#: Kinds whose side must be 0 (FUNDING, MARK: about an instrument, not a side of its book).
UNSIDED_KINDS = np.array([Kind.FUNDING, Kind.MARK], dtype=np.uint8)
#: Kinds whose price may be negative (a FUNDING row's price is a rate).
SIGNED_PRICE_KINDS = np.array([Kind.FUNDING], dtype=np.uint8)
#: Tolerance of the tick-grid check, in ticks (plus a relative 1e-12 for huge prices).
TICK_TOLERANCE = 1e-6

# Problem codes, in the order a row's problems are looked at (the first one found is the row's).
OK, BAD_KIND, BAD_ASSET, BAD_SIDE, PRICE_NOT_FINITE, PRICE_NEGATIVE, PRICE_NOT_POSITIVE, OFF_TICK, QTY_NOT_FINITE, \
    QTY_NEGATIVE, UNSORTED = range(11)
#: code -> (validate's check name, field)
PROBLEMS: dict[int, tuple[str, str]] = {
    BAD_KIND: ("unknown_kind", "kind"), BAD_ASSET: ("unknown_asset", "asset"), BAD_SIDE: ("bad_side", "side"),
    PRICE_NOT_FINITE: ("non_finite", "price"), PRICE_NEGATIVE: ("negative", "price"),
    PRICE_NOT_POSITIVE: ("non_positive_price", "price"), OFF_TICK: ("off_tick", "price"),
    QTY_NOT_FINITE: ("non_finite", "qty"), QTY_NEGATIVE: ("negative", "qty"), UNSORTED: ("unsorted", "ts_local"),
}


def kind_tables() -> np.ndarray:
    """bool[4, 256] indexed by [table, kind code]: known kinds, priced kinds, unsided kinds, signed-price kinds."""
    tables = np.zeros((4, 256), np.bool_)
    for t, kinds in enumerate((np.array(sorted(KIND_NAMES)), PRICED_KINDS, UNSIDED_KINDS, SIGNED_PRICE_KINDS)):
        tables[t, np.asarray(kinds, dtype=np.int64)] = True
    return tables


@njit(cache=True, nogil=True)
def row_codes_nb(ts, asset, kind, side, price, qty, tick, kinds, last_ts, codes):
    """codes[r] = the first problem of row r (0: none); returns the latest ts_local of the rows kept so far.

    A row is unsorted when its ts_local is before ``last_ts`` or before a kept row above it.
    """
    n_assets = tick.shape[0]
    hi = last_ts
    for r in range(ts.shape[0]):
        k = kind[r]
        a = asset[r]
        p = price[r]
        q = qty[r]
        code = OK
        is_priced = kinds[1, k]
        if not kinds[0, k]:
            code = BAD_KIND
        elif a < 0 or a >= n_assets:
            code = BAD_ASSET
        elif (is_priced and side[r] != 1 and side[r] != -1) or (kinds[2, k] and side[r] != 0):
            code = BAD_SIDE
        elif not np.isfinite(p):
            code = PRICE_NOT_FINITE
        elif p < 0.0 and not kinds[3, k]:
            code = PRICE_NEGATIVE
        elif is_priced and p <= 0.0:
            code = PRICE_NOT_POSITIVE
        elif is_priced and abs(p / tick[a] - np.round(p / tick[a])) > TICK_TOLERANCE + 1e-12 * abs(p / tick[a]):
            code = OFF_TICK
        elif not np.isfinite(q):
            code = QTY_NOT_FINITE
        elif q < 0.0:
            code = QTY_NEGATIVE
        elif ts[r] < hi:
            code = UNSORTED
        codes[r] = code
        if code == OK:
            hi = ts[r]
    return hi


def describe(code: int, cols: EventColumns, r: int, tick: np.ndarray, last_ts: int) -> str:
    """What is wrong with row ``r`` (the words ``arbkit validate`` uses)."""
    k = int(cols.kind[r])
    name = KIND_NAMES.get(k, str(k))
    if code == BAD_KIND:
        return f"kind {k} is not one of {sorted(KIND_NAMES.values())}"
    if code == BAD_ASSET:
        return f"asset {int(cols.asset[r])} is not one of the {len(tick)} instruments"
    if code == BAD_SIDE:
        return f"side {int(cols.side[r])} must be {'0' if k in UNSIDED_KINDS else '+1 or -1'} for {name}"
    if code in (PRICE_NOT_FINITE, QTY_NOT_FINITE):
        return f"{PROBLEMS[code][1]} is {float(getattr(cols, PROBLEMS[code][1])[r])}"
    if code in (PRICE_NEGATIVE, QTY_NEGATIVE):
        return f"{PROBLEMS[code][1]} {float(getattr(cols, PROBLEMS[code][1])[r])} is negative"
    if code == PRICE_NOT_POSITIVE:
        return f"price {float(cols.price[r])} must be > 0 for {name}"
    if code == OFF_TICK:
        return f"price {float(cols.price[r])!r} is not a multiple of tick_size {float(tick[cols.asset[r]])!r}"
    return f"ts_local {int(cols.ts_local[r])} is before an earlier row's {last_ts}"


@dataclass
class BadRows:
    """Rows left out of a run that was asked to go on past bad rows, counted by validate's check name."""

    by_check: dict[str, int] = field(default_factory=dict)
    first: str | None = None  # where the first one was, and why

    @property
    def total(self) -> int:
        """How many rows were left out."""
        return sum(self.by_check.values())


class RowGuard:
    """Checks rows as they are read for the engine; refuses the first bad one, or leaves bad rows out (``skip_bad``)."""

    def __init__(self, tick_sizes: Sequence[float], *, skip_bad: bool = False) -> None:
        self.tick = np.ascontiguousarray(tick_sizes, dtype=np.float64)
        self.kinds = kind_tables()
        self.skip_bad = skip_bad
        self.tally = BadRows()
        self.last_ts = np.iinfo(np.int64).min

    def check(self, cols: EventColumns, path: str | Path | None, offset: int) -> EventColumns:
        """``cols`` (rows ``offset``… of the file ``path``) if every row passes; else a DataError, or the good rows."""
        keep = self.keep(cols, path, offset)
        return cols if keep is None else cols.take(keep)

    def keep(self, cols: EventColumns, path: str | Path | None, offset: int) -> np.ndarray | None:
        """None when every row of ``cols`` passes; else a DataError, or (``skip_bad``) the good rows' indices."""
        n = len(cols)
        if n == 0:
            return None
        codes = np.empty(n, np.int8)
        before = self.last_ts
        self.last_ts = int(row_codes_nb(cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty,
                                        self.tick, self.kinds, np.int64(before), codes))
        bad = np.flatnonzero(codes)
        if len(bad) == 0:
            return None
        r = int(bad[0])
        code = int(codes[r])
        prior = int(np.max(cols.ts_local[:r][codes[:r] == 0], initial=before))
        what = describe(code, cols, r, self.tick, prior)
        if not self.skip_bad:
            raise DataError(f"{what} (arbkit validate lists every problem; --allow-bad-rows replays without the "
                            f"bad rows)", path=path, row=offset + r, field=PROBLEMS[code][1])
        if self.tally.first is None:
            where = f"{path}, " if path is not None else ""
            self.tally.first = f"{where}row {offset + r}, field {PROBLEMS[code][1]!r}: {what}"
        for c, count in enumerate(np.bincount(codes[bad], minlength=len(PROBLEMS) + 1)):
            if c and count:
                check = PROBLEMS[c][0]
                self.tally.by_check[check] = self.tally.by_check.get(check, 0) + int(count)
        return np.flatnonzero(codes == 0)


#: Where a chunk's rows came from: the part file, the file row of the chunk's first read row, and the read
#: rows kept (indices from that row; None: all, in order). The engine names a file row from it.
RowOrigin = tuple[str, int, "np.ndarray | None"]


def _origin(part: Path, first: int, kept: np.ndarray | None, lo: int) -> RowOrigin:
    """The origin of the rows ``lo…`` of a chunk read from file row ``first`` keeping ``kept``."""
    if kept is None:
        return str(part), first + lo, None
    return str(part), first, kept[lo:]


def checked_stream(rec: Any, rows: int, *, start: int | None = None, end: int | None = None, warmup: bool = False,
                   guard: RowGuard) -> Iterator[tuple[bool, EventColumns, RowOrigin]]:
    """``(warm, chunk, origin)`` of a Recording in order, every row checked by ``guard``: with ``warmup``
    and a ``start`` the rows before ``start`` come first with ``warm`` True (books only), then the rows
    of [start, end) with ``warm`` False. ``origin`` (:data:`RowOrigin`) says which file rows they are."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    for part, info in zip(rec.part_paths, rec.manifest.parts):
        if end is not None and info.start_ns >= end:
            break
        if start is not None and not warmup and info.end_ns < start:
            continue
        pf = open_part(part)
        offset = 0
        try:
            for batch in pf.iter_batches(batch_size=rows):
                cols = EventColumns.from_arrow(batch)
                n = len(cols)
                read_from = offset
                kept = guard.keep(cols, part, offset)
                if kept is not None:
                    cols = cols.take(kept)
                offset += n
                if end is not None:
                    inside = cols.ts_local < end
                    if not inside.all():
                        kept = (np.arange(n) if kept is None else kept)[inside]
                        cols = cols.take(inside)
                first = 0
                if start is not None:
                    first = int(np.searchsorted(cols.ts_local, start, side="left"))
                    if warmup and first:
                        yield True, cols.take(slice(0, first)), _origin(part, read_from, kept, 0)
                    cols = cols.take(slice(first, None))
                if len(cols):
                    yield False, cols, _origin(part, read_from, kept, first)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"corrupt or truncated Parquet data after row {offset} ({exc})", path=part,
                            row=offset) from None


def verify_parts(rec: Any) -> None:
    """Every part's sha256 against ``manifest.json``; a DataError naming the first part that differs."""
    for part, info in zip(rec.part_paths, rec.manifest.parts):
        if not part.is_file():
            raise DataError("part listed in manifest.json is missing", path=part)
        digest = sha256_file(part)
        if digest != info.sha256:
            raise DataError(f"content hash {digest[:16]}… differs from manifest.json's {info.sha256[:16]}… "
                            f"(the file changed or is corrupt)", path=part, field="sha256")

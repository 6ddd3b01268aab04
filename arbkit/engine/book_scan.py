"""Replay only the books over an event table: final tops, crossed-book checks, per-row tops.

Used by ``arbkit info`` / ``arbkit validate`` and by tests that compare the rebuilt book
with venue top-of-book messages. A book is checked for crossing after the last row of
each update message (rows of one asset sharing ts_local, seq and a SNAPSHOT/DEPTH kind).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from arbkit.engine.book import (DEFAULT_LADDER, K_DEPTH, K_SNAPSHOT, BookState, book_apply, new_books, top)
from arbkit.io.columns import EventColumns

MAX_CROSSED_REPORTED = 1000


@njit(cache=True)
def _scan(b, ts_local, asset, kind, side, price, qty, seq, crossed, record, tops, depth_seen):
    n = ts_local.shape[0]
    ncrossed = 0
    for r in range(n):
        a = asset[r]
        k = kind[r]
        book_apply(b, a, k, side[r], price[r], qty[r])
        if k == K_DEPTH or k == K_SNAPSHOT:
            depth_seen[a] = True
            last = True
            if r + 1 < n:
                k2 = kind[r + 1]
                if (asset[r + 1] == a and ts_local[r + 1] == ts_local[r] and seq[r + 1] == seq[r]
                        and (k2 == K_DEPTH or k2 == K_SNAPSHOT)):
                    last = False
            if last and b.best_bid[a] >= b.best_ask[a]:
                if ncrossed < crossed.shape[0]:
                    crossed[ncrossed] = r
                ncrossed += 1
        if record:
            bp, bq, ap, aq = top(b, a)
            tops[r, 0] = bp
            tops[r, 1] = bq
            tops[r, 2] = ap
            tops[r, 3] = aq
    return ncrossed


@dataclass
class BookScan:
    """What a book-only replay found."""

    books: BookState
    crossed_rows: np.ndarray  # first MAX_CROSSED_REPORTED row indices where a book was crossed after an update
    n_crossed: int
    depth_seen: np.ndarray  # bool per asset
    tops: np.ndarray | None  # float64[n, 4] top after each row (asset of that row), if recorded

    def final_top(self, asset: int, tick_size: float) -> dict[str, float | None]:
        """Best bid/ask and quantities at the end; from the last BBO for assets without depth."""
        digits = _tick_digits(tick_size)
        if self.depth_seen[asset]:
            bp, bq, ap, aq = top(self.books, asset)
        else:
            bp, bq, ap, aq = self.books.bbo[asset]
        return {
            "bid": _clean(round(bp, digits) if not math.isnan(bp) else bp),
            "bid_qty": _clean(bq),
            "ask": _clean(round(ap, digits) if not math.isnan(ap) else ap),
            "ask_qty": _clean(aq),
        }


def scan_books(cols: EventColumns, tick_sizes: list[float] | np.ndarray, *, record_tops: bool = False,
               ladder: int = DEFAULT_LADDER, books: BookState | None = None) -> BookScan:
    """Apply every row of ``cols`` to per-asset books (a fresh set unless ``books`` is given)."""
    b = books if books is not None else new_books(np.asarray(tick_sizes, dtype=np.float64), ladder)
    n = len(cols)
    crossed = np.full(MAX_CROSSED_REPORTED, -1, dtype=np.int64)
    tops = np.full((n if record_tops else 1, 4), np.nan)
    depth_seen = np.zeros(len(b.base), dtype=np.bool_)
    ncrossed = _scan(b, cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq,
                     crossed, record_tops, tops, depth_seen)
    return BookScan(b, crossed[: min(ncrossed, MAX_CROSSED_REPORTED)], int(ncrossed), depth_seen,
                    tops if record_tops else None)


def _tick_digits(tick: float) -> int:
    d = 0
    while d < 15 and abs(round(tick, d) - tick) > 1e-15 * max(1.0, tick):
        d += 1
    return d


def _clean(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

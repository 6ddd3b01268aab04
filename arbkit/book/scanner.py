"""Replay only the books over an event table: final tops, crossed-book checks, per-row tops.

Used by ``arbkit info`` / ``arbkit validate`` and by tests that compare the rebuilt book
with venue top-of-book messages. A book is checked for crossing after the last row of
each update message (rows of one asset sharing ts_local, seq and a SNAPSHOT/DEPTH kind).
"""
from __future__ import annotations

import math
import numpy as np
from numba import njit

from arbkit.book.ladder import DEFAULT_LADDER, KIND_DEPTH, KIND_SNAPSHOT, book_apply_nb, new_books, top_nb
from arbkit.core.columns import EventColumns

MAX_CROSSED_REPORTED = 1000


@njit(cache=True)
def _scan_nb(b, ts_local, asset, kind, side, price, qty, seq, crossed, record, tops, depth_seen):
    n = ts_local.shape[0]
    ncrossed = 0
    for r in range(n):
        a = asset[r]
        k = kind[r]
        book_apply_nb(b, a, k, side[r], price[r], qty[r])
        if k == KIND_DEPTH or k == KIND_SNAPSHOT:
            depth_seen[a] = True
            last = True
            if r + 1 < n:
                k2 = kind[r + 1]
                if (asset[r + 1] == a and ts_local[r + 1] == ts_local[r] and seq[r + 1] == seq[r]
                        and (k2 == KIND_DEPTH or k2 == KIND_SNAPSHOT)):
                    last = False
            else:
                last = False  # the message may continue in the next chunk: the caller checks it
            if last and b.best_bid[a] >= b.best_ask[a]:
                if ncrossed < crossed.shape[0]:
                    crossed[ncrossed] = r
                ncrossed += 1
        if record:
            bp, bq, ap, aq = top_nb(b, a)
            tops[r, 0] = bp
            tops[r, 1] = bq
            tops[r, 2] = ap
            tops[r, 3] = aq
    return ncrossed


class BookScanner:
    """Feed event chunks in order; books, crossing checks and depth flags carry over between chunks."""

    def __init__(self, tick_sizes: list[float] | np.ndarray, *, ladder: int = DEFAULT_LADDER) -> None:
        self.books = new_books(np.asarray(tick_sizes, dtype=np.float64), ladder)
        self.depth_seen = np.zeros(len(self.books.base), dtype=np.bool_)
        self.crossed_rows: list[int] = []
        self.crossed_assets: list[int] = []
        self.n_crossed = 0
        self.rows = 0
        self._pending: tuple[int, int, int, int] | None = None  # (asset, ts_local, seq, global row)

    def feed(self, cols: EventColumns, *, record_tops: bool = False) -> np.ndarray | None:
        """Apply a chunk; returns the per-row tops when ``record_tops``. Crossed rows are global row numbers.

        A message split across two chunks is checked at the chunk end as well (rare, harmless:
        Binance/OKX messages never leave a half-applied crossed book at a row-group boundary
        in practice; validation reports the row so it can be looked at).
        """
        n = len(cols)
        if n == 0:
            return np.full((0, 4), np.nan) if record_tops else None
        if self._pending is not None:
            a, ts, sq, row = self._pending
            continues = (int(cols.asset[0]) == a and int(cols.ts_local[0]) == ts and int(cols.seq[0]) == sq
                         and int(cols.kind[0]) in (int(KIND_DEPTH), int(KIND_SNAPSHOT)))
            if not continues:
                self._check_pending()
            self._pending = None
        crossed = np.full(MAX_CROSSED_REPORTED, -1, dtype=np.int64)
        tops = np.full((n if record_tops else 1, 4), np.nan)
        nc = _scan_nb(self.books, cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq,
                   crossed, record_tops, tops, self.depth_seen)
        room = MAX_CROSSED_REPORTED - len(self.crossed_rows)
        for r in crossed[: min(nc, room, MAX_CROSSED_REPORTED)]:
            self.crossed_rows.append(int(r) + self.rows)
            self.crossed_assets.append(int(cols.asset[r]))
        self.n_crossed += int(nc)
        if int(cols.kind[-1]) in (int(KIND_DEPTH), int(KIND_SNAPSHOT)):
            self._pending = (int(cols.asset[-1]), int(cols.ts_local[-1]), int(cols.seq[-1]), self.rows + n - 1)
        self.rows += n
        return tops if record_tops else None

    def finish(self) -> None:
        """End of input: check the book of a message that ended the last chunk."""
        if self._pending is not None:
            self._check_pending()
            self._pending = None

    def _check_pending(self) -> None:
        a, _, _, row = self._pending
        if self.books.best_bid[a] >= self.books.best_ask[a]:
            if len(self.crossed_rows) < MAX_CROSSED_REPORTED:
                self.crossed_rows.append(row)
                self.crossed_assets.append(a)
            self.n_crossed += 1

    def final_top(self, asset: int, tick_size: float) -> dict[str, float | None]:
        """Best bid/ask and quantities now; from the last BBO for assets without depth."""
        digits = _tick_digits(tick_size)
        if self.depth_seen[asset]:
            bp, bq, ap, aq = top_nb(self.books, asset)
        else:
            bp, bq, ap, aq = self.books.bbo[asset]
        return {
            "bid": _clean(round(bp, digits) if not math.isnan(bp) else bp),
            "bid_qty": _clean(bq),
            "ask": _clean(round(ap, digits) if not math.isnan(ap) else ap),
            "ask_qty": _clean(aq),
        }


def scan_books(cols: EventColumns, tick_sizes: list[float] | np.ndarray, *, record_tops: bool = False,
               ladder: int = DEFAULT_LADDER) -> tuple[BookScanner, np.ndarray | None]:
    """Apply every row of ``cols`` to fresh per-asset books; returns the scanner and optional per-row tops."""
    scanner = BookScanner(tick_sizes, ladder=ladder)
    tops = scanner.feed(cols, record_tops=record_tops)
    scanner.finish()
    return scanner, tops


def _tick_digits(tick: float) -> int:
    d = 0
    while d < 15 and abs(round(tick, d) - tick) > 1e-15 * max(1.0, tick):
        d += 1
    return d


def _clean(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

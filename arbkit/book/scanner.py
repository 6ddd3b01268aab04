"""Replay only the books over an event table: final tops, crossed-book checks, per-row tops.

Used by ``arbkit info`` / ``arbkit validate`` and by tests that compare the rebuilt book
with venue top-of-book messages. A book is checked for crossing after the last row of
each update message (rows of one asset sharing ts_local, seq and a SNAPSHOT/DEPTH kind).
"""
from __future__ import annotations

import math
import numpy as np
from numba import njit

from arbkit.book.ladder import (DEFAULT_LADDER, KIND_BBO, KIND_CLEAR, KIND_DEPTH, KIND_SNAPSHOT, NO_ASK, NO_BID,
                                book_clear_nb, book_recenter_nb, new_books, top_nb)
from arbkit.core.columns import EventColumns

MAX_CROSSED_REPORTED = 1000


@njit(cache=True)
def _scan_nb(b, ts_local, asset, kind, side, price, qty, seq, crossed, record, tops, depth_seen):
    """Apply every row to the books; note crossed books at message ends and, with ``record``, each row's top.

    The book arrays are taken from ``b`` once and the ladder update is written out on them
    (the same text as ``ladder.book_set_nb`` and the engine's loops, ``# --- copy:`` markers):
    a call per row passing the book struct cost 25-30 times the update itself."""
    bid_qty = b.bid_qty
    ask_qty = b.ask_qty
    base = b.base
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    centred = b.centred
    dropped = b.dropped
    inv_tick = b.inv_tick
    tick_size = b.tick
    bbo = b.bbo
    L = bid_qty.shape[1]
    n = ts_local.shape[0]
    ncrossed = 0
    for r in range(n):
        a = asset[r]
        k = kind[r]
        if k == KIND_DEPTH or k == KIND_SNAPSHOT:
            sd = side[r]
            q = qty[r]
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            # --- copy: ladder-update (begin)
            if not centred[a]:
                base[a] = tick - L // 2
                centred[a] = True
            i = tick - base[a]
            if (i < 0 or i >= L) and n_bid[a] + n_ask[a] == 0 and q > 0.0:
                base[a] = tick - L // 2
                i = L // 2
            old = -1.0
            moved = False  # a best price moved: only then can the window need recentring
            if i < 0 or i >= L:
                dropped[a] += 1
            else:
                if sd > 0:
                    old = bid_qty[a, i]
                    bid_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_bid[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick > best_bid[a]):
                        best_bid[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_bid[a]):
                        nb = NO_BID
                        if n_bid[a] > 0:
                            j = i - 1
                            while j >= 0:
                                if bid_qty[a, j] > 0.0:
                                    nb = base[a] + j
                                    break
                                j -= 1
                        best_bid[a] = nb
                        moved = True
                else:
                    old = ask_qty[a, i]
                    ask_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_ask[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick < best_ask[a]):
                        best_ask[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_ask[a]):
                        na = NO_ASK
                        if n_ask[a] > 0:
                            j = i + 1
                            while j < L:
                                if ask_qty[a, j] > 0.0:
                                    na = base[a] + j
                                    break
                                j += 1
                        best_ask[a] = na
                        moved = True
                if moved and (best_bid[a] != NO_BID or best_ask[a] != NO_ASK):
                    if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:
                        off = (best_bid[a] + best_ask[a]) // 2 - base[a]
                    elif best_bid[a] != NO_BID:
                        off = best_bid[a] - base[a]
                    else:
                        off = best_ask[a] - base[a]
                    if off < L // 4 or off > L - L // 4:
                        book_recenter_nb(b, a, off + base[a])
            # --- copy: ladder-update (end)
            depth_seen[a] = True
            last = True
            if r + 1 < n:
                k2 = kind[r + 1]
                if (asset[r + 1] == a and ts_local[r + 1] == ts_local[r] and seq[r + 1] == seq[r]
                        and (k2 == KIND_DEPTH or k2 == KIND_SNAPSHOT)):
                    last = False
            else:
                last = False  # the message may continue in the next chunk: the caller checks it
            if last and best_bid[a] >= best_ask[a]:
                if ncrossed < crossed.shape[0]:
                    crossed[ncrossed] = r
                ncrossed += 1
        elif k == KIND_CLEAR:
            book_clear_nb(b, a)
        elif k == KIND_BBO:
            col = 0 if side[r] > 0 else 2
            bbo[a, col] = price[r]
            bbo[a, col + 1] = qty[r]
        if record:
            bp = np.nan
            bq = np.nan
            ap = np.nan
            aq = np.nan
            if best_bid[a] != NO_BID:
                bp = best_bid[a] * tick_size[a]
                bq = bid_qty[a, best_bid[a] - base[a]]
            if best_ask[a] != NO_ASK:
                ap = best_ask[a] * tick_size[a]
                aq = ask_qty[a, best_ask[a] - base[a]]
            tops[r, 0] = bp
            tops[r, 1] = bq
            tops[r, 2] = ap
            tops[r, 3] = aq
    return ncrossed


class BookScanner:
    """Feed event chunks in order; books, crossing checks and depth flags carry over between chunks."""

    #: the jitted per-chunk pass (a class attribute so that the tests' and benchmark's old version can stand in)
    kernel = staticmethod(_scan_nb)

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
        nc = self.kernel(self.books, cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq,
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

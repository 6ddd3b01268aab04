"""The book scanner as it was before its arrays were hoisted: one ``book_apply_nb`` / ``top_nb`` call per row.

The oracle the scanner's property test compares with (same books, crossings, tops and flags), and
the "before" of ``benchmarks/bench_scanner.py``. It goes through ``ladder.book_apply_nb`` (the
ladder update of ``book_set_nb``), not the scanner's written-out copy.
"""
from __future__ import annotations

from numba import njit

from arbkit.book.ladder import KIND_DEPTH, KIND_SNAPSHOT, book_apply_nb, top_nb
from arbkit.book.scanner import BookScanner


@njit(cache=True)
def scan_per_row_calls_nb(b, ts_local, asset, kind, side, price, qty, seq, crossed, record, tops, depth_seen):
    """The old per-chunk kernel, verbatim: the book struct passed to a call for every row."""
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
                last = False
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


class PerRowCallScanner(BookScanner):
    """:class:`BookScanner` with the old per-row-call kernel (chunk carry-over and reporting unchanged)."""

    kernel = staticmethod(scan_per_row_calls_nb)

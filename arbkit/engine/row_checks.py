"""The driver's input checks of one chunk in one compiled pass: the first offending row of each rule.

:meth:`arbkit.engine.replayer.Replayer._check` raises on the first rule that has one, in the
same order as the rules are listed here; a numpy expression per rule read every column
several times (about as long as the replay loop itself on idle rows). A chunk is first checked by one
branch-free pass (:func:`funding_rows_if_all_good_nb`); only a chunk with a bad row is looked at row by row.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.book.ladder import KIND_BBO, KIND_DEPTH, KIND_SNAPSHOT, KIND_TRADE
from arbkit.core.schema import FUNDING_KINDS, KIND_NAMES

#: slots of :func:`first_bad_rows_nb`'s answer (-1: no such row)
BAD_ORDER, BAD_ASSET, BAD_KIND, BAD_PRICE_VALUE, BAD_QTY_VALUE, BAD_PRICE_SIGN, N_FUNDING = range(7)
N_SLOTS = 7


def kind_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables by kind code: known kinds, and kinds the engine leaves out (FUNDING / MARK)."""
    known = np.zeros(256, np.bool_)
    known[sorted(KIND_NAMES)] = True
    funding = np.zeros(256, np.bool_)
    funding[[int(k) for k in FUNDING_KINDS]] = True
    return known, funding


@njit(cache=True, nogil=True)
def funding_rows_if_all_good_nb(ts, asset, kind, price, qty, n_assets, known, funding):
    """The count of FUNDING / MARK rows when no row breaks a rule of :func:`first_bad_rows_nb`, else -1.

    The same rules without a branch per row or rule (flags or-ed over the chunk): about half the
    time of finding each rule's first row, which only a chunk with a bad row needs."""
    n = ts.shape[0]
    bad = False
    nf = 0
    prev = ts[0] if n > 0 else 0
    for r in range(n):
        t = ts[r]
        a = asset[r]
        k = kind[r]
        p = price[r]
        q = qty[r]
        kn = known[k]
        fu = funding[k]
        priced = kn & ((k == KIND_DEPTH) | (k == KIND_SNAPSHOT) | (k == KIND_TRADE) | (k == KIND_BBO))
        bad |= (t < prev) | (a < 0) | (a >= n_assets) | (not kn)
        bad |= priced & ((not (p >= 0.0)) | (not (p < np.inf)) | (not (q >= 0.0)) | (not (q < np.inf))
                         | ((k != KIND_BBO) & (p <= 0.0)))
        nf += np.int64(kn & fu)
        prev = t
    return -1 if bad else nf


@njit(cache=True, nogil=True)
def first_bad_rows_nb(ts, asset, kind, price, qty, n_assets, known, funding, out):
    """Fill ``out`` with the first row breaking each rule (ts_local sorted, asset index, kind,
    price/qty finite >= 0 on priced rows, price > 0 on priced non-BBO rows) and the count of
    FUNDING / MARK rows."""
    for j in range(N_SLOTS - 1):
        out[j] = -1
    nf = funding_rows_if_all_good_nb(ts, asset, kind, price, qty, n_assets, known, funding)
    if nf >= 0:
        out[N_FUNDING] = nf
        return
    nf = 0
    n = ts.shape[0]
    for r in range(n):
        if r > 0 and out[BAD_ORDER] < 0 and ts[r] < ts[r - 1]:
            out[BAD_ORDER] = r
        a = asset[r]
        if out[BAD_ASSET] < 0 and (a < 0 or a >= n_assets):
            out[BAD_ASSET] = r
        k = kind[r]
        if not known[k]:
            if out[BAD_KIND] < 0:
                out[BAD_KIND] = r
            continue
        if funding[k]:
            nf += 1
            continue
        if k == KIND_DEPTH or k == KIND_SNAPSHOT or k == KIND_TRADE or k == KIND_BBO:
            p = price[r]
            q = qty[r]
            # written so that NaN fails (every comparison with NaN is False)
            if out[BAD_PRICE_VALUE] < 0 and not (p >= 0.0 and p < np.inf):
                out[BAD_PRICE_VALUE] = r
            if out[BAD_QTY_VALUE] < 0 and not (q >= 0.0 and q < np.inf):
                out[BAD_QTY_VALUE] = r
            if out[BAD_PRICE_SIGN] < 0 and k != KIND_BBO and p <= 0.0:
                out[BAD_PRICE_SIGN] = r
    out[N_FUNDING] = nf

"""Perpetual funding and mark prices: FUNDING / MARK rows in, payments at each funding time out.

A FUNDING row announces the rate for one funding time ``T`` (its ``seq``); the venue may
revise it until ``T``. Per asset a state keeps the earliest announced time still to come
with its latest rate, and one later time (a venue announcing the next period before this
one is paid). A row whose funding time is not after its own ``ts_local`` is ignored (the
payment was already due when it arrived). MARK rows set the asset's last mark price.

FUNDING and MARK rows move no clock (a run's fills do not depend on them). At ``T`` — a due
time in ``CLK_FUND_DUE`` and so in ``CLK_NEXT_DUE``, handled by
:func:`arbkit.engine.timers.advance_nb` before any book / trade row at or after ``T`` (or the
clock moving past it) and before requests and responses due at ``T`` — each asset held pays or
receives, on its position just before ``T``, at the rate of the last FUNDING row for ``T`` and
the last MARK row (both with ``ts_local < T``: a MARK row at or after ``T`` that comes before
the payment leaves the earlier mark to it; with no MARK row yet, the mid, and the ledger row
says so):

* linear: ``amount = -position · contract_size · mark · rate`` in the quote currency;
* inverse: ``amount = -position · contract_size / mark · rate`` in the coin.

Long pays when the rate is positive. The amount goes into cash and ``A_FUNDING`` and one
row into the funding ledger (``FUNDING_DTYPE``, drained like fills). A flat asset pays
nothing and gets no row.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.marks import mark_equity_nb

I64_MAX = np.iinfo(np.int64).max
#: per-asset funding columns: int64 fund_i [n, 4] (times), float64 fund_f [n, 4] (rates): the pending one, a
#: later one, the last funding time passed (held or not: what a strategy's carry estimate reads), and whether
#: (FI_KEPT) the pending one's mark was kept (FF_MARK) because a MARK row came after its time before it was paid
FI_T, FI_NEXT, FI_LAST, FI_KEPT = 0, 1, 2, 3
FF_RATE, FF_NEXT, FF_LAST, FF_MARK = 0, 1, 2, 3


@njit(cache=True)
def funding_row_nb(st, a, t, rate, when, started):
    """A FUNDING row of asset ``a`` at ``t``: rate ``rate`` for funding time ``when``.

    ``started``: a message has ended (before that nothing is due between rows); the row then
    lowers ``CLK_NEXT_DUE`` to the funding time at once.
    """
    if when <= t:
        return
    fi = st.fund_i
    ff = st.fund_f
    cur = fi[a, FI_T]
    if cur == I64_MAX or cur == when:
        fi[a, FI_T] = when
        ff[a, FF_RATE] = rate
    elif when > cur:
        fi[a, FI_NEXT] = when
        ff[a, FF_NEXT] = rate
    else:  # an earlier time than the one pending: that one becomes the next
        fi[a, FI_NEXT] = cur
        ff[a, FF_NEXT] = ff[a, FF_RATE]
        fi[a, FI_T] = when
        ff[a, FF_RATE] = rate
    clock = st.clock
    if when < clock[c.CLK_FUND_DUE]:
        clock[c.CLK_FUND_DUE] = when
        if started and when < clock[c.CLK_NEXT_DUE]:
            clock[c.CLK_NEXT_DUE] = when


@njit(cache=True)
def keep_funding_mark_nb(st, a, t):
    """A MARK row at ``t`` at or after asset ``a``'s pending funding time (not paid yet: no row since): that
    payment keeps the mark before this row."""
    fi = st.fund_i
    if fi[a, FI_T] <= t and fi[a, FI_KEPT] == 0:
        fi[a, FI_KEPT] = 1
        st.fund_f[a, FF_MARK] = st.mark_px[a]


@njit(cache=True)
def mark_row_nb(st, a, t, price):
    """A MARK row of asset ``a`` at ``t`` in a state of its own (the batched kernel writes the shared ``mark_px``
    once)."""
    keep_funding_mark_nb(st, a, t)
    st.mark_px[a] = price
    mark_price_nb(st, a, price)


@njit(cache=True)
def mark_price_nb(st, a, price):
    """In ``mark: mark_price`` mode, equity marks asset ``a`` at ``price`` from now on (the drawdown mark when held)."""
    if st.cfg_i[c.G_MARK] == c.MARK_PRICE:
        acct = st.acct
        if acct[a, c.A_MARK] != price:
            acct[a, c.A_MARK] = price
            if acct[a, c.A_POS_U] != 0.0 or (st.inst[a, c.I_INVERSE] > 0.0 and acct[a, c.A_CASH] != 0.0):
                mark_equity_nb(acct, st.inst, st.marks, a)


@njit(cache=True)
def pay_funding_nb(st, a, when, rate, mark):
    """Asset ``a``'s payment at funding time ``when`` at ``mark`` (NaN: none, the mid): cash, ``A_FUNDING``, a
    ledger row (nothing when flat)."""
    acct = st.acct
    pos = acct[a, c.A_POS]
    if pos == 0.0:
        return
    src = 1
    if not (mark > 0.0):
        mark = acct[a, c.A_MID]
        src = 0
        if not (mark > 0.0):
            return  # no price at all (cannot happen with a position: fills need a book)
    cs = st.inst[a, c.I_CSIZE]
    if st.inst[a, c.I_INVERSE] > 0.0:
        amount = -pos * cs / mark * rate
    else:
        amount = -pos * cs * mark * rate
    acct[a, c.A_CASH] += amount
    acct[a, c.A_FUNDING] += amount
    k = st.clock[c.CLK_NFUND]
    row = st.fund_log[k]
    row.ts = when
    row.asset = a
    row.position = pos
    row.mark = mark
    row.mark_source = src
    row.rate = rate
    row.amount = amount
    st.clock[c.CLK_NFUND] = k + 1
    mark_equity_nb(acct, st.inst, st.marks, a)


@njit(cache=True)
def funding_due_nb(st, t):
    """Every funding time at or before ``t``, in time order per asset; then the next ``CLK_FUND_DUE``."""
    fi = st.fund_i
    ff = st.fund_f
    n = fi.shape[0]
    due = I64_MAX
    for a in range(n):
        while fi[a, FI_T] <= t:
            pay_funding_nb(st, a, fi[a, FI_T], ff[a, FF_RATE], ff[a, FF_MARK] if fi[a, FI_KEPT] != 0 else st.mark_px[a])
            fi[a, FI_KEPT] = 0
            fi[a, FI_LAST] = fi[a, FI_T]
            ff[a, FF_LAST] = ff[a, FF_RATE]
            fi[a, FI_T] = fi[a, FI_NEXT]
            ff[a, FF_RATE] = ff[a, FF_NEXT]
            fi[a, FI_NEXT] = I64_MAX
            ff[a, FF_NEXT] = 0.0
        if fi[a, FI_T] < due:
            due = fi[a, FI_T]
    st.clock[c.CLK_FUND_DUE] = due


def new_funding(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-asset funding state with nothing announced."""
    fi = np.full((n, 4), I64_MAX, np.int64)
    fi[:, FI_LAST] = np.iinfo(np.int64).min
    fi[:, FI_KEPT] = 0
    return fi, np.zeros((n, 4))

"""Exact max drawdown and time in market, kept as the run goes (equity samples are for plots).

Equity (cash plus positions at the last mid) only changes at a fill or when the mid of an
instrument held moves, so evaluating it there — per asset and in total — gives the exact
running peak (from the starting equity, 0) and the largest fall from it. Time in market is
the exact time with a non-zero position: a holding period opens at the fill that leaves
flat and closes at the fill that returns to flat (the total: any instrument held).
"""
from __future__ import annotations

from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb, total_equity_nb


@njit(cache=True)
def _mark_row_nb(marks, r, e):
    if e > marks[r, c.MK_PEAK]:
        marks[r, c.MK_PEAK] = e
    dd = marks[r, c.MK_PEAK] - e
    if dd > marks[r, c.MK_MAXDD]:
        marks[r, c.MK_MAXDD] = dd


@njit(cache=True)
def mark_equity_nb(acct, inst, marks, a):
    """Asset ``a``'s equity or a mid it is marked at changed: update its row and the total's."""
    e = asset_equity_nb(acct, inst, a)
    if e == e:
        _mark_row_nb(marks, a, e)
    _mark_row_nb(marks, acct.shape[0], total_equity_nb(acct, inst))


@njit(cache=True)
def holds_nb(acct, inst, a):
    """True when asset ``a``'s equity moves with its mid (a position, or inverse coin cash)."""
    return acct[a, c.A_POS_U] != 0.0 or (inst[a, c.I_INVERSE] > 0.0 and acct[a, c.A_CASH] != 0.0)


@njit(cache=True)
def hold_update_nb(hold, acct, t, a):
    """After a fill of asset ``a`` at ``t``: open or close its holding period, and the total's."""
    n = acct.shape[0]
    _hold_row_nb(hold, a, acct[a, c.A_POS_U] != 0.0, t)
    held = False
    for b in range(n):
        if acct[b, c.A_POS_U] != 0.0:
            held = True
            break
    _hold_row_nb(hold, n, held, t)


@njit(cache=True)
def _hold_row_nb(hold, r, held, t):
    since = hold[r, c.HD_SINCE]
    if held and since < 0:
        hold[r, c.HD_SINCE] = t
    elif not held and since >= 0:
        hold[r, c.HD_TIM] += t - since
        hold[r, c.HD_SINCE] = -1


@njit(cache=True)
def time_in_market_nb(hold, r, t):
    """Row ``r``'s time in market up to ``t`` (the open holding period counted to ``t``)."""
    since = hold[r, c.HD_SINCE]
    return hold[r, c.HD_TIM] + (t - since if since >= 0 else 0)

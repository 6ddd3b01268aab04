"""Position, cash, average entry, realised PnL and fees per asset; equity marked to mid.

Linear contracts (spot, linear perps/futures, binary outcomes) settle in the quote
currency: a buy of ``q`` at ``p`` costs ``q·p·contract_size``. Inverse contracts settle in
the base coin: one contract is ``contract_size`` quote units, a buy of ``q`` at ``p`` credits
``q·contract_size/p`` coin to cash and the position is worth ``-pos·contract_size/mark``
coin. Fees are ``bps·notional/1e4`` in the settlement currency (negative bps = rebate).
Equity is reported in the quote currency (inverse equity converted at the mark). The mark
is the last mid, or with ``mark: mark_price`` the last MARK row's price once one came
(``A_MARK``). Perpetual funding (:mod:`arbkit.engine.funding`) is paid into cash too.

Positions are counted in the instrument's quantity unit (``I_UNIT``, its lot) in ``A_POS_U``
(a float holding a whole number, exact), and ``A_POS`` is ``A_POS_U · unit``: a position is always
on the lot grid and sums of fills never drift off it. With no lot (unit 1.0) quantities are plain floats.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine.codes import (A_AVG, A_CASH, A_FEES, A_MARK, A_MID, A_NOTIONAL, A_POS, A_POS_U, A_REAL, A_VOL, I_CSIZE,
                                 I_INVERSE, I_UNIT)


@njit(cache=True)
def fill_notional_nb(inst, a, price, qty):
    """Notional of a fill in the settlement currency (quote for linear, coin for inverse)."""
    if inst[a, I_INVERSE] > 0.0:
        return qty * inst[a, I_CSIZE] / price
    return qty * price * inst[a, I_CSIZE]


@njit(cache=True)
def book_fill_nb(acct, inst, a, side, price, units, fee):
    """Apply one fill of ``units`` quantity units (``side`` +1 buy / -1 sell) to asset ``a``'s account at once."""
    cs = inst[a, I_CSIZE]
    inverse = inst[a, I_INVERSE] > 0.0
    unit = inst[a, I_UNIT]
    qty = units * unit
    notional = fill_notional_nb(inst, a, price, qty)
    if inverse:
        acct[a, A_CASH] += side * notional
    else:
        acct[a, A_CASH] -= side * notional
    acct[a, A_CASH] -= fee
    acct[a, A_FEES] += fee
    acct[a, A_VOL] += qty
    acct[a, A_NOTIONAL] += notional
    pos = acct[a, A_POS]
    pos_u = acct[a, A_POS_U]
    avg = acct[a, A_AVG]
    new_u = pos_u + side * units
    acct[a, A_POS_U] = new_u
    acct[a, A_POS] = new_u * unit
    if pos_u == 0.0 or (pos_u > 0.0) == (side > 0):
        size = abs(pos)
        if inverse:
            acct[a, A_AVG] = (size + qty) / (size / avg + qty / price) if size > 0.0 else price
        else:
            acct[a, A_AVG] = (size * avg + qty * price) / (size + qty)
        return
    closed_u = min(units, abs(pos_u))
    closed = closed_u * unit
    sign = 1.0 if pos_u > 0.0 else -1.0
    if inverse:
        acct[a, A_REAL] += closed * cs * (1.0 / avg - 1.0 / price) * sign
    else:
        acct[a, A_REAL] += closed * cs * (price - avg) * sign
    if units > closed_u:
        acct[a, A_AVG] = price
    elif new_u == 0.0:
        acct[a, A_AVG] = 0.0


@njit(cache=True)
def mark_of_nb(acct, a):
    """The price asset ``a``'s position is marked at: its mark price in ``mark: mark_price`` mode once a MARK row
    came (``A_MARK``, 0 before), else the last mid."""
    mk = acct[a, A_MARK]
    return mk if mk > 0.0 else acct[a, A_MID]


@njit(cache=True)
def asset_equity_nb(acct, inst, a):
    """Cash plus the position marked to the last mid (or mark price), in the quote currency (NaN before any mid)."""
    mid = mark_of_nb(acct, a)
    pos = acct[a, A_POS]
    cs = inst[a, I_CSIZE]
    if inst[a, I_INVERSE] > 0.0:
        if pos == 0.0:
            return acct[a, A_CASH] * mid if acct[a, A_CASH] != 0.0 else 0.0
        return (acct[a, A_CASH] - pos * cs / mid) * mid
    if pos == 0.0:
        return acct[a, A_CASH]
    return acct[a, A_CASH] + pos * cs * mid


@njit(cache=True)
def unrealised_nb(acct, inst, a):
    """Open position's PnL at the last mid (or mark price) in the settlement currency."""
    pos = acct[a, A_POS]
    if pos == 0.0:
        return 0.0
    mid = mark_of_nb(acct, a)
    cs = inst[a, I_CSIZE]
    if inst[a, I_INVERSE] > 0.0:
        return pos * cs * (1.0 / acct[a, A_AVG] - 1.0 / mid)
    return pos * cs * (mid - acct[a, A_AVG])


@njit(cache=True)
def total_equity_nb(acct, inst):
    """Cash plus every position at its last mid, quote currency, all assets."""
    tot = 0.0
    for a in range(acct.shape[0]):
        e = asset_equity_nb(acct, inst, a)
        if not np.isnan(e):
            tot += e
    return tot

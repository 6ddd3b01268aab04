"""Binary-outcome markets: payout at resolution, merging a complementary pair, the no-short rule.

A resolved market pays each token its payoff (1 won, 0 lost) into cash at the resolution
time: a timer like the kill-switch deadlines (``CLK_NEXT_SETTLE``, never paused), run by
:func:`arbkit.engine.timers.timers_at_nb` before the equity sample and the strategy call,
so both see the settled account. Resting orders of the market are cancelled by the
exchange then (``market_resolved``) and new ones refused. A market whose resolution time
lies after the data settles when the run finishes, at its resolution time. Payouts and
merges are rows of the fill log with their own ``kind`` (not trades: no fee, no volume).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.book.ladder import NO_ASK, NO_BID
from arbkit.engine.marks import hold_update_nb, mark_equity_nb
from arbkit.engine.matching import refresh_resting_nb
from arbkit.engine.orders import log_order_nb, push_response_nb

I64_MAX = np.iinfo(np.int64).max


def first_resolution_ns(inst: np.ndarray) -> int:
    """The earliest resolution time of an instrument whose payoff is known (max int: none); the timer's start."""
    best = I64_MAX
    for a in range(inst.shape[0]):
        if inst[a, c.I_PAYOFF] == inst[a, c.I_PAYOFF] and inst[a, c.I_RES_S] >= 0.0:
            best = min(best, int(inst[a, c.I_RES_S]) * 1_000_000_000 + int(inst[a, c.I_RES_NS]))
    return best


@njit(cache=True)
def resolution_ns_nb(inst, a):
    """Asset ``a``'s resolution time (ns), or max int when not known."""
    if inst[a, c.I_RES_S] < 0.0:
        return I64_MAX
    return np.int64(inst[a, c.I_RES_S]) * 1_000_000_000 + np.int64(inst[a, c.I_RES_NS])


@njit(cache=True)
def next_settlement_nb(st):
    """The earliest resolution time of a market with a known payoff not settled yet (max int: none)."""
    d = I64_MAX
    for a in range(st.inst.shape[0]):
        if st.acct[a, c.A_SETTLED] == 0.0 and st.inst[a, c.I_PAYOFF] == st.inst[a, c.I_PAYOFF]:
            r = resolution_ns_nb(st.inst, a)
            if r < d:
                d = r
    return d


@njit(cache=True)
def payout_row_nb(st, t, a, side, price, units, kind):
    """Close ``units`` of asset ``a``'s position (``side`` opposite to it) at ``price`` with no fee: a payout or a merge.

    Cash, realised PnL, position (the strategy knows at once: it is no order), marks, holding
    time, and a fill-log row of ``kind``. Not a trade: volume and fill counters stay.
    """
    acct = st.acct
    unit = st.inst[a, c.I_UNIT]
    cs = st.inst[a, c.I_CSIZE]
    qty = units * unit
    sign = 1.0 if acct[a, c.A_POS_U] > 0.0 else -1.0
    acct[a, c.A_CASH] -= side * qty * price * cs
    acct[a, c.A_REAL] += qty * cs * (price - acct[a, c.A_AVG]) * sign
    acct[a, c.A_POS_U] += side * units
    acct[a, c.A_POS] = acct[a, c.A_POS_U] * unit
    acct[a, c.A_LPOS_U] += side * units
    acct[a, c.A_LPOS] = acct[a, c.A_LPOS_U] * unit
    if acct[a, c.A_POS_U] == 0.0:
        acct[a, c.A_AVG] = 0.0
    mark_equity_nb(acct, st.inst, st.marks, a)
    hold_update_nb(st.hold, acct, t, a)
    k = st.clock[c.CLK_NFILL]
    if k >= st.fills.shape[0]:
        st.clock[c.CLK_ERROR] = c.E_FILL_BUFFER
        return
    f = st.fills[k]
    f.ts = t
    f.ts_seen = t
    f.asset = a
    f.order_id = 0
    f.side = np.int8(side)
    f.maker = 0
    f.level = -1
    f.price = price
    f.qty = qty
    f.fee = 0.0
    f.slip_touch_bps = 0.0
    f.slip_mid_bps = 0.0
    f.best_bid = st.best_bid[a] * st.tick[a] if st.best_bid[a] != NO_BID else np.nan
    f.best_ask = st.best_ask[a] * st.tick[a] if st.best_ask[a] != NO_ASK else np.nan
    f.kind = kind
    st.clock[c.CLK_NFILL] = k + 1


@njit(cache=True)
def settle_asset_nb(st, a, t):
    """Asset ``a``'s market resolved at ``t``: cancel its resting orders, pay its position out at the payoff."""
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] != a:
            continue
        status = st.oi[s, c.O_STATUS]
        if status != c.ST_OPEN and status != c.ST_PARTIAL:
            continue
        st.oi[s, c.O_STATUS] = c.ST_CANCELLED
        st.n_resting[a] -= 1
        st.counters[c.C_EXCH_CANCELS] += 1
        log_order_nb(st, t, s, c.EV_CANCEL, c.R_MARKET_RESOLVED, st.oi[s, c.O_TICK] * st.tick[a],
                     st.of[s, c.F_LEAVES] * st.inst[a, c.I_UNIT])
        push_response_nb(st, t, s, c.RS_CANCELLED, 0, 0.0, 0.0)
    refresh_resting_nb(st, a)
    st.acct[a, c.A_SETTLED] = 1.0
    pos_u = st.acct[a, c.A_POS_U]
    if pos_u == 0.0:
        return
    payoff = st.inst[a, c.I_PAYOFF]
    st.acct[a, c.A_SETTLE_ADJ] += st.acct[a, c.A_POS] * st.inst[a, c.I_CSIZE] * (payoff - st.acct[a, c.A_MID])
    side = -1 if pos_u > 0.0 else 1
    payout_row_nb(st, t, a, side, payoff, abs(pos_u), c.FK_SETTLE)
    st.counters[c.C_SETTLES] += 1


@njit(cache=True)
def settle_due_nb(st, t):
    """Settle every market with a known payoff whose resolution time is at or before ``t``; move the timer on."""
    for a in range(st.inst.shape[0]):
        if st.acct[a, c.A_SETTLED] == 0.0 and st.inst[a, c.I_PAYOFF] == st.inst[a, c.I_PAYOFF] \
                and resolution_ns_nb(st.inst, a) <= t:
            settle_asset_nb(st, a, t)
    st.clock[c.CLK_NEXT_SETTLE] = next_settlement_nb(st)


@njit(cache=True)
def settle_at_end_nb(st, t):
    """The run ends at ``t``: markets with a known payoff not settled yet settle at their resolution time (or ``t``)."""
    for a in range(st.inst.shape[0]):
        if st.acct[a, c.A_SETTLED] == 0.0 and st.inst[a, c.I_PAYOFF] == st.inst[a, c.I_PAYOFF]:
            r = resolution_ns_nb(st.inst, a)
            settle_asset_nb(st, a, r if r != I64_MAX and r > t else t)
    st.clock[c.CLK_NEXT_SETTLE] = I64_MAX


@njit(cache=True)
def sell_room_nb(st, a):
    """Units of asset ``a`` the strategy may still sell: its position as known less every live sell's leaves as known."""
    room = st.acct[a, c.A_LPOS_U]
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] != a or st.oi[s, c.O_SIDE] > 0:
            continue
        ls = st.oi[s, c.O_LSTATUS]
        if ls == c.ST_NEW or ls == c.ST_OPEN or ls == c.ST_PARTIAL:
            room -= st.of[s, c.F_LLEAVES]
    return room


@njit(cache=True)
def merge_pair_nb(st, a, units):
    """Merge ``units`` of asset ``a`` and as many of its complement into cash (1 per pair), now. Returns the units or -reason."""
    b = np.int64(st.inst[a, c.I_COMPLEMENT])
    if b < 0 or st.inst[a, c.I_BINARY] == 0.0:
        return -float(c.R_INVALID_QTY)
    if st.acct[a, c.A_SETTLED] != 0.0 or st.acct[b, c.A_SETTLED] != 0.0:
        return -float(c.R_MARKET_RESOLVED)
    if units > sell_room_nb(st, a) or units * st.inst[a, c.I_UNIT] > sell_room_nb(st, b) * st.inst[b, c.I_UNIT] + 1e-9:
        st.counters[c.C_POS_REJECTS] += 1
        return -float(c.R_INSUFFICIENT_POSITION)
    t = st.clock[c.CLK_NOW]
    ma = st.acct[a, c.A_MID]
    mb = st.acct[b, c.A_MID]
    pa = ma / (ma + mb) if ma == ma and mb == mb and ma + mb > 0.0 else 0.5  # how the 1.0 splits between the legs
    units_b = units * st.inst[a, c.I_UNIT] / st.inst[b, c.I_UNIT]
    payout_row_nb(st, t, a, -1, pa, units, c.FK_MERGE)
    payout_row_nb(st, t, b, -1, 1.0 - pa, units_b, c.FK_MERGE)
    st.counters[c.C_MERGES] += 1
    return units

"""Liquidity rewards of binary-outcome markets: resting size near the mid scored and credited into cash.

Polymarket's rule, per sample: an order on a book within ``v`` (max spread) of that book's mid
and of at least ``min_size`` scores ``S = ((v - s) / v)^2 * size`` (``s`` its distance from the
mid). A market's side one is the bids of its first outcome plus the asks of the complement,
side two the asks of the first plus the bids of the complement; the market scores
``Qmin = max(min(Q1, Q2), max(Q1, Q2) / c)`` while the first outcome's mid lies in
[0.10, 0.90] (a one-sided quote counts at 1/c) and ``min(Q1, Q2)`` outside it (one-sided: 0).
The pool shared with the other makers is not in the data, so the user gives the rate: cash per
unit of score per day, credited pro rata at each sample (``rate * Qmin * interval / 1 day``).
Sampling is a timer (``CLK_NEXT_REWARD``, never paused, max int when off) run by
:func:`arbkit.engine.timers.timers_at_nb` after the payouts; a resolved market earns nothing.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.book.ladder import NO_ASK, NO_BID
from arbkit.engine import codes as c
from arbkit.engine.marks import mark_equity_nb
from arbkit.engine.outcomes import resolution_ns_nb

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min
DAY_NS = 86_400_000_000_000
#: a one-sided quote scores (at 1/c) only while the market's mid lies in this range
ONE_SIDED_LO, ONE_SIDED_HI = 0.10, 0.90


def first_reward_ns(inst: np.ndarray) -> int:
    """The reward timer's start: min int (the first message end samples and sets the grid) when any instrument
    has a reward rate, else max int (off: never due)."""
    on = inst.shape[0] > 0 and bool(np.any(inst[:, c.I_RW_RATE] > 0.0))
    return I64_MIN if on else I64_MAX


@njit(cache=True)
def order_score_nb(price, mid, size, max_spread, min_size):
    """One resting order's score: ``((v - s) / v)^2 * size`` within ``v`` of the mid and at least ``min_size``, else 0."""
    if size < min_size:
        return 0.0
    s = abs(price - mid)
    if s >= max_spread:
        return 0.0
    r = (max_spread - s) / max_spread
    return r * r * size


@njit(cache=True)
def book_mid_nb(st, a):
    """Asset ``a``'s plain mid from its book now (NaN: a side empty or the book not usable)."""
    if not st.usable[a] or st.best_bid[a] == NO_BID or st.best_ask[a] == NO_ASK:
        return np.nan
    return (st.best_bid[a] + st.best_ask[a]) * 0.5 * st.tick[a]


@njit(cache=True)
def side_scores_nb(st, a, mid, q):
    """Add asset ``a``'s resting orders' scores to ``q[0]`` (bids) and ``q[1]`` (asks)."""
    if mid != mid:
        return
    v = st.inst[a, c.I_RW_SPREAD]
    mn = st.inst[a, c.I_RW_MIN]
    unit = st.inst[a, c.I_UNIT]
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] != a:
            continue
        status = st.oi[s, c.O_STATUS]
        if status != c.ST_OPEN and status != c.ST_PARTIAL:
            continue
        sc = order_score_nb(st.oi[s, c.O_TICK] * st.tick[a], mid, st.of[s, c.F_LEAVES] * unit, v, mn)
        if st.oi[s, c.O_SIDE] > 0:
            q[0] += sc
        else:
            q[1] += sc


@njit(cache=True)
def market_score_nb(q_one, q_two, mid, scale):
    """Qmin: the weaker side, or the stronger one divided by ``scale`` when that is more and the mid is in range."""
    lo = min(q_one, q_two)
    if mid >= ONE_SIDED_LO and mid <= ONE_SIDED_HI:
        hi = max(q_one, q_two) / scale
        if hi > lo:
            return hi
    return lo


@njit(cache=True)
def reward_row_nb(st, t, a, amount):
    """Credit ``amount`` to asset ``a``'s cash and write a reward row (side 0, qty 0, price = amount)."""
    st.acct[a, c.A_CASH] += amount
    st.acct[a, c.A_REWARD] += amount
    mark_equity_nb(st.acct, st.inst, st.marks, a)
    k = st.clock[c.CLK_NFILL]
    if k >= st.fills.shape[0]:
        st.clock[c.CLK_ERROR] = c.E_FILL_BUFFER
        return
    f = st.fills[k]
    f.ts = t
    f.ts_seen = t
    f.asset = a
    f.order_id = 0
    f.side = 0
    f.maker = 1
    f.level = -1
    f.price = amount
    f.qty = 0.0
    f.fee = 0.0
    f.slip_touch_bps = 0.0
    f.slip_mid_bps = 0.0
    f.best_bid = st.best_bid[a] * st.tick[a] if st.best_bid[a] != NO_BID else np.nan
    f.best_ask = st.best_ask[a] * st.tick[a] if st.best_ask[a] != NO_ASK else np.nan
    f.kind = c.FK_REWARD
    st.clock[c.CLK_NFILL] = k + 1
    st.counters[c.C_REWARDS] += 1


@njit(cache=True)
def reward_sample_nb(st, t):
    """Score every rewarded market not resolved by ``t`` and credit its reward (on its first asset); next sample."""
    iv = st.cfg_i[c.G_RW_INTERVAL]
    q = np.zeros(2)
    for a in range(st.inst.shape[0]):
        if st.inst[a, c.I_RW_RATE] <= 0.0 or st.inst[a, c.I_BINARY] == 0.0:
            continue
        b = np.int64(st.inst[a, c.I_COMPLEMENT])
        if b >= 0 and b < a:
            continue  # the pair is scored once, from its first asset
        if resolution_ns_nb(st.inst, a) <= t or (b >= 0 and resolution_ns_nb(st.inst, b) <= t):
            continue
        ma = book_mid_nb(st, a)
        q[0] = 0.0
        q[1] = 0.0
        side_scores_nb(st, a, ma, q)
        q_one = q[0]  # first outcome's bids ...
        q_two = q[1]  # ... and asks
        mid = ma
        if b >= 0:
            mb = book_mid_nb(st, b)
            q[0] = 0.0
            q[1] = 0.0
            side_scores_nb(st, b, mb, q)
            q_one += q[1]  # + the complement's asks (both buy the first outcome)
            q_two += q[0]  # + the complement's bids
            if mid != mid:
                mid = 1.0 - mb
        if mid != mid:
            continue
        score = market_score_nb(q_one, q_two, mid, st.inst[a, c.I_RW_SCALE])
        if score > 0.0:
            reward_row_nb(st, t, a, st.inst[a, c.I_RW_RATE] * score * (iv / DAY_NS))
    st.clock[c.CLK_NEXT_REWARD] = (t // iv + 1) * iv

"""The clock between messages: timers, and the work due before a row (used by both loops).

Timers are the schedule's interval calls, equity samples, the strategy's wake-up
(``api.wake_at``) and the kill switch's data-gap / stale-book deadlines. Together with
requests reaching the exchange and responses reaching the strategy, they are the work
:func:`advance_nb` does at its own times between two messages (see the kernel contract in
:mod:`arbkit.engine.loop`). ``CLK_NEXT_DUE`` is a lower bound of the earliest of all of it:
adding a request, a response or a wake-up lowers it at once, and it is recomputed exactly
whenever some of that work is used up, so the loops need one comparison per row. A bound
that is too early only costs a look; it is never late.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb
from arbkit.engine.funding import funding_due_nb
from arbkit.engine.guards import guard_deadline_nb, guard_deadlines_due_nb, guard_on_call_nb
from arbkit.engine.marks import time_in_market_nb
from arbkit.engine.matching import process_requests_nb
from arbkit.engine.orders import deliver_responses_nb
from arbkit.engine.outcomes import settle_due_nb
from arbkit.engine.rewards import reward_sample_nb

#: Free room the loops keep in the fill and log buffers; when less is left they return so
#: the driver can drain them (a strategy call plus one event stays below this).
BUFFER_MARGIN = 8192
I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


@njit(cache=True)
def sample_equity_nb(st, t):
    """Record every asset's equity and position at ``t``, and the exact running drawdown and time in market."""
    k = st.clock[c.CLK_NEQ]
    n = st.acct.shape[0]
    tot = 0.0
    for a in range(n):
        e = asset_equity_nb(st.acct, st.inst, a)
        st.eq_val[k, a] = e
        st.eq_pos[k, a] = st.acct[a, c.A_POS]
        if e == e:
            tot += e
    st.eq_val[k, n] = tot
    for r in range(n + 1):
        st.eq_marks[k, r] = st.marks[r, c.MK_MAXDD]
        st.eq_marks[k, n + 1 + r] = time_in_market_nb(st.hold, r, t)
    st.eq_ts[k] = t
    st.clock[c.CLK_NEQ] = k + 1
    st.counters[c.C_EQ] += 1


@njit(cache=True)
def buffers_full_nb(st):
    """True when an output buffer needs draining (or the engine failed): the loops return before more work."""
    clock = st.clock
    return (clock[c.CLK_NFILL] > st.fills.shape[0] - BUFFER_MARGIN or clock[c.CLK_NLOG] > st.log.shape[0] - BUFFER_MARGIN
            or clock[c.CLK_NEQ] >= st.eq_ts.shape[0] - 1 or clock[c.CLK_NNOTE] > st.notes.shape[0] - BUFFER_MARGIN
            or clock[c.CLK_NFUND] > st.fund_log.shape[0] - 2 * st.fund_i.shape[0] or clock[c.CLK_ERROR] != 0)


@njit(cache=True)
def timer_due_nb(st):
    """The earliest timer, exactly: interval call, equity sample, wake-up, kill-switch deadline (max int: none)."""
    clock = st.clock
    d = clock[c.CLK_WAKE]
    if st.cfg_i[c.G_SCHEDULE] & c.CALL_INTERVAL and clock[c.CLK_NEXT_CALL] < d:
        d = clock[c.CLK_NEXT_CALL]
    if st.cfg_i[c.G_EQ_INTERVAL] > 0 and clock[c.CLK_NEXT_EQ] < d:
        d = clock[c.CLK_NEXT_EQ]
    if st.guard_cfg[c.RG_ON] != 0.0:
        g = guard_deadline_nb(st)
        if g < d:
            d = g
    if clock[c.CLK_NEXT_SETTLE] < d:  # a market's resolution (payout)
        d = clock[c.CLK_NEXT_SETTLE]
    if clock[c.CLK_NEXT_REWARD] < d:  # a liquidity-reward sample
        d = clock[c.CLK_NEXT_REWARD]
    return d


@njit(cache=True)
def recompute_due_nb(st):
    """Set ``CLK_NEXT_TIMER`` and ``CLK_NEXT_DUE`` exactly (after some due work was used up)."""
    clock = st.clock
    d = timer_due_nb(st)
    clock[c.CLK_NEXT_TIMER] = d
    if clock[c.CLK_FUND_DUE] < d:
        d = clock[c.CLK_FUND_DUE]
    if clock[c.CLK_RQ_N] > 0 and st.rq_i[clock[c.CLK_RQ_HEAD], c.Q_T] < d:
        d = st.rq_i[clock[c.CLK_RQ_HEAD], c.Q_T]
    if clock[c.CLK_RS_N] > 0 and st.rs_i[clock[c.CLK_RS_HEAD], c.P_T] < d:
        d = st.rs_i[clock[c.CLK_RS_HEAD], c.P_T]
    clock[c.CLK_NEXT_DUE] = d


@njit(cache=True)
def timers_at_nb(st, t, scheduled=True):
    """Timer work due at or before ``t``: the equity sample, the kill-switch deadlines, then the call bits.

    Returns ``CALL_INTERVAL`` / ``CALL_WAKE`` when due (and moves the interval to its next
    grid time, clears the wake-up); the caller makes the call. ``scheduled`` False (the feed
    has been silent longer than ``max_silence_s``): only the payouts, the reward samples and the kill-switch
    deadlines.
    """
    clock = st.clock
    if clock[c.CLK_FUND_DUE] <= t:  # only before the first message end: later each is paid before its time passes
        funding_due_nb(st, t)
    if t >= clock[c.CLK_NEXT_SETTLE]:  # payouts first: the sample and the call see the settled account
        settle_due_nb(st, t)
    if t >= clock[c.CLK_NEXT_REWARD]:  # after the payouts: a resolved market earns nothing
        reward_sample_nb(st, t)
    if st.guard_cfg[c.RG_ON] != 0.0:
        guard_deadlines_due_nb(st, t)
    if not scheduled:
        return 0
    eq_iv = st.cfg_i[c.G_EQ_INTERVAL]
    if eq_iv > 0 and t >= clock[c.CLK_NEXT_EQ] and clock[c.CLK_NEQ] < st.eq_ts.shape[0]:
        sample_equity_nb(st, t)
        clock[c.CLK_NEXT_EQ] = (t // eq_iv + 1) * eq_iv
    bits = 0
    if st.cfg_i[c.G_SCHEDULE] & c.CALL_INTERVAL and t >= clock[c.CLK_NEXT_CALL]:
        bits |= c.CALL_INTERVAL
        civ = st.cfg_i[c.G_INTERVAL]
        clock[c.CLK_NEXT_CALL] = (t // civ + 1) * civ
    if t >= clock[c.CLK_WAKE]:
        bits |= c.CALL_WAKE
        clock[c.CLK_WAKE] = I64_MAX
    return bits


@njit(cache=True)
def advance_nb(st, strategy, params, user, t, row):
    """The work due before a row at ``t`` (``row``), or before the clock reaches ``t``, each piece at its own time.

    At each instant ``d`` in time order: requests reaching the exchange by ``d``, responses
    due by ``d``, then — only for ``d < t`` — timer work due by ``d`` (equity sample, kill-switch
    deadlines, one strategy call for ``CALL_INTERVAL`` / ``CALL_WAKE`` / ``CALL_RESPONSE``), with
    ``now = d``. Timer work due exactly at ``t`` waits for the end of the message at ``t``;
    requests and responses due exactly at ``t`` go before a row at ``t`` but, when only the
    clock moves (``row`` False), wait too — for the next row or the next move — so moving the
    clock in steps gives what one move (or a replay) gives.
    Responses arriving at the instant of the strategy's last call (zero latency: no time has
    passed since the call that caused them) do not call it again at once: it sees them at its
    next call, so a strategy can never loop at one instant.
    Returns False when it stopped early (an output buffer to drain, or an error); calling
    again with the same ``t`` continues exactly.
    """
    # the state's arrays once (each field read of the struct costs a reference count)
    clock = st.clock
    rq_i = st.rq_i
    rs_i = st.rs_i
    counters = st.counters
    sched = st.cfg_i[c.G_SCHEDULE]
    interval_on = sched & c.CALL_INTERVAL != 0
    eq_on = st.cfg_i[c.G_EQ_INTERVAL] > 0
    guards_on = st.guard_cfg[c.RG_ON] != 0.0
    silence = st.cfg_i[c.G_MAX_SILENCE]
    if buffers_full_nb(st):
        return False
    while True:
        ts_ = clock[c.CLK_WAKE]  # the earliest scheduled timer, exactly (as timer_due_nb)
        if interval_on and clock[c.CLK_NEXT_CALL] < ts_:
            ts_ = clock[c.CLK_NEXT_CALL]
        if eq_on and clock[c.CLK_NEXT_EQ] < ts_:
            ts_ = clock[c.CLK_NEXT_EQ]
        g = guard_deadline_nb(st) if guards_on else I64_MAX
        if clock[c.CLK_NEXT_SETTLE] < g:  # resolutions are never paused, like the kill-switch deadlines
            g = clock[c.CLK_NEXT_SETTLE]
        if clock[c.CLK_NEXT_REWARD] < g:  # reward samples are never paused either
            g = clock[c.CLK_NEXT_REWARD]
        tm = min(ts_, g)
        # scheduled timers pause once the feed has been silent for max_silence (they fire at the next event)
        awake = silence <= 0 or ts_ <= clock[c.CLK_LAST_T] + silence
        due = min(ts_, g) if awake else g
        q = rq_i[clock[c.CLK_RQ_HEAD], c.Q_T] if clock[c.CLK_RQ_N] > 0 else I64_MAX
        p = rs_i[clock[c.CLK_RS_HEAD], c.P_T] if clock[c.CLK_RS_N] > 0 else I64_MAX
        f = clock[c.CLK_FUND_DUE]
        d = due if due < t else I64_MAX
        if f < d:
            d = f
        if q < d:
            d = q
        if p < d:
            d = p
        if d > t or (d == t and not row):
            clock[c.CLK_NEXT_TIMER] = tm  # nothing more before t: the bounds are exact now
            clock[c.CLK_NEXT_DUE] = min(tm, q, p, f)
            return True
        clock[c.CLK_NOW] = d
        if f <= d:  # funding at d is paid on the position held before d: before requests reaching the exchange at d
            funding_due_nb(st, d)
        if q <= d:
            process_requests_nb(st, d)
        if clock[c.CLK_RS_N] > 0 and rs_i[clock[c.CLK_RS_HEAD], c.P_T] <= d:
            deliver_responses_nb(st, d)
        if d < t:
            reason = timers_at_nb(st, d, awake) if tm <= d else 0
            if sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0 and d > clock[c.CLK_LAST_CALL_T]:
                reason |= c.CALL_RESPONSE
                clock[c.CLK_RESPONDED] = 0
            if reason != 0:
                clock[c.CLK_LAST_CALL_T] = d
                clock[c.CLK_NOW] = d
                if guards_on:
                    guard_on_call_nb(st, d)
                clock[c.CLK_CALL_REASON] = reason
                counters[c.C_CALLS] += 1
                counters[c.C_TIMER_CALLS] += 1
                strategy(st, params, user)
        if buffers_full_nb(st):
            recompute_due_nb(st)
            return False

"""Risk guards inside the engine, for any strategy: budget, exposure, cooldown, kill switch.

Every order a strategy submits passes :func:`guard_order_nb` first. Orders that reduce the
position the strategy knows of always pass (they lower risk). Otherwise, in order:
kill switch active -> blocked; cooldown after a fill / a realised loss -> blocked; the volume
guard (below) -> cut or blocked; the position after the order above ``max_position_notional`` (per instrument) or the gross
exposure above ``max_total_notional`` -> blocked; the gross exposure plus the order above
``budget`` -> the size is cut to what the budget allows (counted as "budget cap applied"),
blocked when nothing is left. Notional: qty · price · contract size (inverse: qty · contract
size), quote currency.

The kill switch trips on a loss since the start of the UTC day ≥ ``max_daily_loss`` or a
drawdown from the equity peak ≥ ``max_drawdown`` (both evaluated before each strategy call,
:func:`guard_on_call_nb`), and on time: an instrument silent for ``max_gap_ms`` (deadline:
its last event + ``max_gap_ms``), a GAP open for ``max_gap_ms`` (GAP start + ``max_gap_ms``),
or a book with no update for ``stale_book_ms`` (last book message + ``stale_book_ms``). The
time deadlines are engine timers (:func:`guard_deadline_nb`): the switch trips at the
deadline itself, during the silence, not at the next event. It sends a cancel for every
live order at the trip time (counted in ``cancels_sent`` and ``kill_switch_cancels``) and
then only lets reducing orders through. Each guard counts its blocks and the longest run of blocks with no entry
let through; a run longer than ``stuck_window_ms`` marks the guard stuck.

The volume guard (``max_volume_share`` > 0), after the cooldown and before the notional
guards (it needs no price, and they see the size it left): an entry may be at most that
share of its instrument's traded volume over ``volume_window_ms`` (``volume_basis: traded``)
or of the quantity displayed at the best level it would take — the best ask for a buy, the
best bid for a sell (``depth``); the size is cut to whole lots (counted in
``guard_volume_capped``), blocked when no lot is left (``guard_volume_blocks``). Traded volume
is market data, kept as rows arrive (:func:`note_trade_volume_nb`, shared by a batch's sets):
a ring of 64 buckets per instrument, each ``volume_window_ms / 64`` long (whole ns, rounded
up); the volume at time ``t`` is the sum of the bucket holding ``t`` and the 63 before it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.accounting import total_equity_nb
from arbkit.book.ladder import NO_ASK, NO_BID
from arbkit.engine.orders import log_order_nb, push_request_nb
from arbkit.engine.state import VOL_BUCKETS

G_BUDGET, G_EXPOSURE, G_COOLDOWN, G_KILL, G_VOLUME = 0, 1, 2, 3, 4
I64_MAX = np.iinfo(np.int64).max


@njit(cache=True)
def _unit_notional_nb(st, a, price):
    if st.inst[a, c.I_INVERSE] > 0.0:
        return st.inst[a, c.I_CSIZE]
    return price * st.inst[a, c.I_CSIZE]


@njit(cache=True)
def _gross_exposure_nb(st):
    tot = 0.0
    for a in range(st.acct.shape[0]):
        mid = st.acct[a, c.A_MID]
        if mid == mid:
            tot += abs(st.acct[a, c.A_LPOS]) * _unit_notional_nb(st, a, mid)
    return tot


@njit(cache=True)
def _block_nb(st, g, counter, now):
    st.counters[counter] += 1
    gs = st.guard_st
    k = c.GS_STREAK + g
    if gs[k] == 0.0:
        gs[k] = now
    run = now - gs[k]
    if run > gs[c.GS_MAX_STREAK + g]:
        gs[c.GS_MAX_STREAK + g] = run
    stuck = st.guard_cfg[c.RG_STUCK_MS] * 1e6
    if stuck > 0.0 and run >= stuck and gs[c.GS_STUCK_OPEN + g] == 0.0:  # this run just became a stuck window
        gs[c.GS_STUCK_OPEN + g] = 1.0
        gs[c.GS_STUCK_N + g] += 1.0
    return 0.0


@njit(cache=True)
def volume_bucket_ns_nb(guard_cfg):
    """Width in ns of the traded-volume ring's buckets; 0 when no guard needs traded volume (rows skip the ring)."""
    if guard_cfg[c.RG_ON] == 0.0 or guard_cfg[c.RG_VOL_SHARE] <= 0.0 or guard_cfg[c.RG_VOL_BASIS] != c.VOL_TRADED:
        return np.int64(0)
    n = np.int64(np.ceil(guard_cfg[c.RG_VOL_WINDOW_MS] * 1e6 / VOL_BUCKETS))
    return max(n, np.int64(1))


@njit(cache=True)
def note_trade_volume_nb(vol_ring, a, t, q, width):
    """A public trade of ``q`` at ``t`` on asset ``a`` goes into its bucket (a stale slot is emptied first)."""
    bk = t // width
    s = bk % VOL_BUCKETS
    if vol_ring[a, VOL_BUCKETS + s] != bk:
        vol_ring[a, VOL_BUCKETS + s] = bk
        vol_ring[a, s] = 0.0
    vol_ring[a, s] += q


@njit(cache=True)
def traded_volume_nb(vol_ring, a, t, width):
    """Quantity traded on asset ``a`` in the bucket holding ``t`` and the 63 before it."""
    now_bk = t // width
    tot = 0.0
    for s in range(VOL_BUCKETS):
        bk = vol_ring[a, VOL_BUCKETS + s]
        if now_bk - VOL_BUCKETS < bk <= now_bk:
            tot += vol_ring[a, s]
    return tot


@njit(cache=True)
def _volume_room_nb(st, a, side):
    """Quantity the volume guard's basis offers: traded over the window, or displayed at the touch taken."""
    g = st.guard_cfg
    if g[c.RG_VOL_BASIS] == c.VOL_DEPTH:
        if side > 0:
            tk = st.best_ask[a]
            return st.ask_qty[a, tk - st.base[a]] if tk != NO_ASK else 0.0
        tk = st.best_bid[a]
        return st.bid_qty[a, tk - st.base[a]] if tk != NO_BID else 0.0
    return traded_volume_nb(st.vol_ring, a, st.clock[c.CLK_NOW], volume_bucket_ns_nb(g))


@njit(cache=True)
def is_entry_nb(st, a, side, qty):
    """True when an order of ``qty`` on ``side`` would open or add to the position as the strategy knows it (any
    order but one that only reduces it): an entry attempt, which the guards judge."""
    lpos = st.acct[a, c.A_LPOS]
    return not (lpos != 0.0 and (side > 0) != (lpos > 0.0) and qty <= abs(lpos) + 1e-12)


@njit(cache=True)
def guard_order_nb(st, a, side, price, qty):
    """The quantity the guards let this order have (``qty``, less, or 0.0 = blocked)."""
    g = st.guard_cfg
    if g[c.RG_ON] == 0.0:
        return qty
    now = np.float64(st.clock[c.CLK_NOW])
    lpos = st.acct[a, c.A_LPOS]
    if not is_entry_nb(st, a, side, qty):
        return qty  # reduces the position
    if st.guard_st[c.GS_KILLED] != 0.0:
        return _block_nb(st, G_KILL, c.C_G_KILL, now)
    gs = st.guard_st
    if g[c.RG_COOLDOWN_FILL_MS] > 0.0 and gs[c.GS_LAST_FILL_TS] > 0.0 and \
            now - gs[c.GS_LAST_FILL_TS] < g[c.RG_COOLDOWN_FILL_MS] * 1e6:
        return _block_nb(st, G_COOLDOWN, c.C_G_COOLDOWN, now)
    if g[c.RG_COOLDOWN_LOSS_MS] > 0.0 and gs[c.GS_LAST_LOSS_TS] > 0.0 and \
            now - gs[c.GS_LAST_LOSS_TS] < g[c.RG_COOLDOWN_LOSS_MS] * 1e6:
        return _block_nb(st, G_COOLDOWN, c.C_G_COOLDOWN, now)
    if g[c.RG_VOL_SHARE] > 0.0:  # needs no price: before the notional guards
        lot = st.inst[a, c.I_LOT]
        room = g[c.RG_VOL_SHARE] * _volume_room_nb(st, a, side)
        capped = np.floor(room / lot + 1e-9) * lot if lot > 0.0 else room
        if capped <= 0.0:
            return _block_nb(st, G_VOLUME, c.C_G_VOL_BLOCKS, now)
        if capped < qty:
            st.counters[c.C_G_VOL_CAPPED] += 1
            qty = capped
    px = price
    if not px > 0.0:
        px = st.acct[a, c.A_MID]
    if not px > 0.0:
        return qty
    unit = _unit_notional_nb(st, a, px)
    gross = _gross_exposure_nb(st)
    if g[c.RG_MAX_POS_NOTIONAL] > 0.0 and abs(lpos + side * qty) * unit > g[c.RG_MAX_POS_NOTIONAL] + 1e-9:
        return _block_nb(st, G_EXPOSURE, c.C_G_EXPOSURE, now)
    if g[c.RG_MAX_TOTAL_NOTIONAL] > 0.0 and gross + qty * unit > g[c.RG_MAX_TOTAL_NOTIONAL] + 1e-9:
        return _block_nb(st, G_EXPOSURE, c.C_G_EXPOSURE, now)
    if g[c.RG_BUDGET] > 0.0 and gross + qty * unit > g[c.RG_BUDGET] + 1e-9:
        lot = st.inst[a, c.I_LOT]
        room = (g[c.RG_BUDGET] - gross) / unit
        capped = np.floor(room / lot + 1e-9) * lot if lot > 0.0 else room
        if capped <= 0.0:
            return _block_nb(st, G_BUDGET, c.C_G_BUDGET, now)
        st.counters[c.C_G_CAPPED] += 1
        qty = capped
    for k in range(len(c.GUARDS)):  # an entry got through: every guard's run of blocks ends
        gs[c.GS_STREAK + k] = 0.0
        gs[c.GS_STUCK_OPEN + k] = 0.0
    return qty


@njit(cache=True)
def _trip_nb(st, t, reason):
    gs = st.guard_st
    gs[c.GS_KILLED] = 1.0
    gs[c.GS_KILL_REASON] = reason
    gs[c.GS_KILL_TS] = t
    st.clock[c.CLK_KILL_TS] = t
    st.counters[c.C_KILL_TRIPS] += 1
    for k in range(st.clock[c.CLK_N_ACTIVE]):  # cancel every live order
        s = st.active[k]
        ls = st.oi[s, c.O_LSTATUS]
        if (ls == c.ST_NEW or ls == c.ST_OPEN or ls == c.ST_PARTIAL) and st.oi[s, c.O_CXL_SENT] == 0:
            if push_request_nb(st, s, c.RQ_CANCEL, 0, 0.0):
                st.oi[s, c.O_CXL_SENT] = 2  # 2: sent by the kill switch
                st.counters[c.C_CANCELS_SENT] += 1
                st.counters[c.C_KILL_CANCELS] += 1
                log_order_nb(st, t, s, c.EV_CANCEL_SENT, c.R_KILL_SWITCH, 0.0, 0.0)


@njit(cache=True)
def _ns_nb(ms):
    """A guard's millisecond setting in whole ns (0 = off)."""
    return np.int64(ms * 1e6 + 0.5)


@njit(cache=True)
def guard_deadline_nb(st):
    """The earliest time a data-gap or stale-book deadline trips the kill switch (max int: none)."""
    g = st.guard_cfg
    d = I64_MAX
    if g[c.RG_ON] == 0.0 or st.guard_st[c.GS_KILLED] != 0.0:
        return d
    gap = _ns_nb(g[c.RG_MAX_GAP_MS])
    stale = _ns_nb(g[c.RG_STALE_MS])
    if gap <= 0 and stale <= 0:
        return d
    for a in range(st.acct.shape[0]):
        last = st.asset_ts[a, 0]
        if last == 0:
            continue
        if gap > 0:
            d = min(d, last + gap)
            g0 = st.asset_ts[a, 2]
            if g0 > 0:
                d = min(d, g0 + gap)
        if stale > 0 and st.asset_ts[a, 1] > 0:
            d = min(d, st.asset_ts[a, 1] + stale)
    return d


@njit(cache=True)
def guard_deadlines_due_nb(st, t):
    """Trip the kill switch at ``t`` when a data-gap or stale-book deadline is at or before ``t``."""
    if st.guard_cfg[c.RG_ON] == 0.0 or st.guard_st[c.GS_KILLED] != 0.0:
        return
    _time_checks_nb(st, t)


@njit(cache=True)
def _time_checks_nb(st, t):
    g = st.guard_cfg
    gap = _ns_nb(g[c.RG_MAX_GAP_MS])
    stale = _ns_nb(g[c.RG_STALE_MS])
    for a in range(st.acct.shape[0]):
        last = st.asset_ts[a, 0]
        if last == 0:
            continue
        if gap > 0:
            g0 = st.asset_ts[a, 2]
            if (g0 > 0 and t - g0 >= gap) or t - last >= gap:
                _trip_nb(st, t, 3.0)
                return
        if stale > 0 and st.asset_ts[a, 1] > 0 and t - st.asset_ts[a, 1] >= stale:
            _trip_nb(st, t, 4.0)
            return


@njit(cache=True)
def guard_on_call_nb(st, t):
    """Before a strategy call at ``t``: update the equity marks and trip the kill switch when due."""
    g = st.guard_cfg
    gs = st.guard_st
    if g[c.RG_ON] == 0.0 or gs[c.GS_KILLED] != 0.0:
        return
    eq = total_equity_nb(st.acct, st.inst)
    day = np.float64(t // 86_400_000_000_000)
    if gs[c.GS_DAY] != day + 1.0:  # stored +1 so that 0 means "not started"
        gs[c.GS_DAY] = day + 1.0
        gs[c.GS_DAY_START_EQ] = eq
    if eq > gs[c.GS_PEAK_EQ]:
        gs[c.GS_PEAK_EQ] = eq
    if g[c.RG_MAX_DAILY_LOSS] > 0.0 and gs[c.GS_DAY_START_EQ] - eq >= g[c.RG_MAX_DAILY_LOSS]:
        _trip_nb(st, t, 1.0)
        return
    if g[c.RG_MAX_DRAWDOWN] > 0.0 and gs[c.GS_PEAK_EQ] - eq >= g[c.RG_MAX_DRAWDOWN]:
        _trip_nb(st, t, 2.0)
        return
    _time_checks_nb(st, t)

"""What a strategy kernel may call: market data, its own orders and position, and order entry.

A strategy is ``@strategy_kernel def my_strategy(st, params, user): ...`` (see
:mod:`arbkit.engine.strategy`). Inside it, use only these functions on ``st``: they give
the strategy's view of the world — books as recorded up to now, and its orders and
position as the exchange's responses have told it so far (never the exchange's truth).

Prices are floats in quote units; order prices must sit on the instrument's tick grid
(use :func:`round_bid` / :func:`round_ask`) and sizes on its lot grid (use :func:`round_lot`;
an order or modify off the grid is rejected ``invalid_lot``). ``side`` is +1 buy/bid, -1 sell/ask.

Time: the strategy is called at message ends and, between messages, at its own timers
(``interval_ms``, a wake-up set with :func:`wake_at`, a response arriving): :func:`now` is the
time of the call and :func:`call_reason` says why.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.codes import IOC, LIMIT, MARKET, POST_ONLY  # noqa: F401  (order types for strategies)
from arbkit.engine.codes import ST_CANCELLED, ST_FILLED, ST_NEW, ST_OPEN, ST_PARTIAL, ST_REJECTED  # noqa: F401
from arbkit.engine.codes import (CALL_EVERY_EVENT, CALL_INTERVAL, CALL_RESPONSE, CALL_TOP_CHANGE,  # noqa: F401
                                 CALL_WAKE)
from arbkit.book.ladder import NO_ASK, NO_BID, price_to_tick_nb
from arbkit.engine.guards import guard_order_nb, is_entry_nb
from arbkit.engine.orders import alloc_slot_nb, find_slot_nb, log_order_nb, maybe_release_nb, push_request_nb
from arbkit.engine.outcomes import merge_pair_nb, sell_room_nb

# -- time and schedule -------------------------------------------------------------------------

@njit(cache=True)
def now(st):
    """Current time, ns: the ts_local of the message just processed, or the due time of a timer between messages."""
    return st.clock[c.CLK_NOW]


@njit(cache=True)
def call_reason(st):
    """Bit set of why the strategy is called.

    ``CALL_EVERY_EVENT`` (a message ended), ``CALL_TOP_CHANGE`` (it changed a top of book),
    ``CALL_INTERVAL`` (the schedule's interval is due), ``CALL_WAKE`` (a :func:`wake_at` time is
    due), ``CALL_RESPONSE`` (responses arrived). Calls between messages carry only
    ``CALL_INTERVAL``, ``CALL_WAKE`` and ``CALL_RESPONSE``.
    """
    return st.clock[c.CLK_CALL_REASON]


@njit(cache=True)
def wake_at(st, t):
    """Ask to be called at time ``t`` (ns) with ``CALL_WAKE``, even if no event arrives then.

    One wake-up is pending per strategy: the earliest asked for wins, and it is cleared when it
    fires. A time at or before :func:`now` is refused (returns False). Nothing fires after the
    last event of the data.
    """
    if not t > st.clock[c.CLK_NOW]:
        return False
    if t < st.clock[c.CLK_WAKE]:
        st.clock[c.CLK_WAKE] = t
    if t < st.clock[c.CLK_NEXT_TIMER]:
        st.clock[c.CLK_NEXT_TIMER] = t
    if t < st.clock[c.CLK_NEXT_DUE]:
        st.clock[c.CLK_NEXT_DUE] = t
    return True


@njit(cache=True)
def pending_wake(st):
    """The pending wake-up time (ns), or -1 when none."""
    w = st.clock[c.CLK_WAKE]
    return w if w != np.iinfo(np.int64).max else -1


@njit(cache=True)
def n_assets(st):
    """Number of instruments in the run."""
    return st.acct.shape[0]


# -- market data -----------------------------------------------------------------------------------

@njit(cache=True)
def book_usable(st, a):
    """True when asset ``a`` has both sides and no unresolved GAP."""
    return st.usable[a]


@njit(cache=True)
def best_bid(st, a):
    """Best bid price from the depth book, NaN when empty."""
    bb = st.best_bid[a]
    return bb * st.tick[a] if bb != NO_BID else np.nan


@njit(cache=True)
def best_ask(st, a):
    """Best ask price from the depth book, NaN when empty."""
    ba = st.best_ask[a]
    return ba * st.tick[a] if ba != NO_ASK else np.nan


@njit(cache=True)
def best_bid_qty(st, a):
    """Quantity at the best bid (0 when empty)."""
    bb = st.best_bid[a]
    return st.bid_qty[a, bb - st.base[a]] if bb != NO_BID else 0.0


@njit(cache=True)
def best_ask_qty(st, a):
    """Quantity at the best ask (0 when empty)."""
    ba = st.best_ask[a]
    return st.ask_qty[a, ba - st.base[a]] if ba != NO_ASK else 0.0


@njit(cache=True)
def mid_price(st, a):
    """Mid of the depth book, NaN unless both sides exist."""
    bb = st.best_bid[a]
    ba = st.best_ask[a]
    if bb == NO_BID or ba == NO_ASK:
        return np.nan
    return 0.5 * (bb + ba) * st.tick[a]


@njit(cache=True)
def bbo(st, a):
    """Last BBO message (bid px, bid qty, ask px, ask qty); NaN before the first. On spot venues it can lead depth."""
    return st.bbo[a, 0], st.bbo[a, 1], st.bbo[a, 2], st.bbo[a, 3]


@njit(cache=True)
def depth_at(st, a, side, price):
    """Displayed quantity at ``price`` on ``side`` (0 when empty or off the ladder)."""
    b = st  # the book arrays are direct fields of the state
    i = price_to_tick_nb(price, b.inv_tick[a]) - b.base[a]
    if i < 0 or i >= b.bid_qty.shape[1]:
        return 0.0
    return b.bid_qty[a, i] if side > 0 else b.ask_qty[a, i]


@njit(cache=True)
def tick_size(st, a):
    """The instrument's tick size."""
    return st.tick[a]


@njit(cache=True)
def round_bid(st, a, price):
    """Highest tick price <= ``price`` (a passive bid never rounds towards the ask)."""
    t = st.tick[a]
    return np.floor(price / t + 1e-9) * t


@njit(cache=True)
def lot_size(st, a):
    """The instrument's lot size (0 when unknown: sizes are then not checked)."""
    return st.inst[a, c.I_LOT]


@njit(cache=True)
def contract_size(st, a):
    """The instrument's contract size (1 for spot; quote units per contract for inverse contracts)."""
    return st.inst[a, c.I_CSIZE]


@njit(cache=True)
def is_inverse(st, a):
    """True for an inverse contract (quantity in contracts of ``contract_size`` quote units, settled in coin)."""
    return st.inst[a, c.I_INVERSE] > 0.0


@njit(cache=True)
def round_lot(st, a, qty):
    """``qty`` rounded down to the lot grid (whole lots; unchanged when the lot is unknown)."""
    lot = st.inst[a, c.I_LOT]
    if lot > 0.0:
        x = qty / lot
        return np.floor(x + 1e-9 + abs(x) * 1e-12) * lot
    return qty


@njit(cache=True)
def _lots_nb(st, a, qty):
    """``qty`` contracts as whole quantity units, or -1.0 when it is off the lot grid (or below one lot)."""
    if st.inst[a, c.I_LOT] > 0.0:
        x = qty / st.inst[a, c.I_UNIT]
        k = np.floor(x + 0.5)
        if k < 1.0 or abs(x - k) > 1e-9 * max(1.0, k):
            return -1.0
        return k
    return qty


@njit(cache=True)
def round_ask(st, a, price):
    """Lowest tick price >= ``price`` (a passive ask never rounds towards the bid)."""
    t = st.tick[a]
    return np.ceil(price / t - 1e-9) * t


# -- own position -------------------------------------------------------------------------------

@njit(cache=True)
def position(st, a):
    """Position in contracts as known from fill responses received so far."""
    return st.acct[a, c.A_LPOS]


# -- perpetual funding (arbkit.engine.funding) ------------------------------------------------------

@njit(cache=True)
def next_funding(st, a):
    """The next funding time of asset ``a`` announced by FUNDING rows, ns (max int: none announced)."""
    return st.fund_i[a, 0]


@njit(cache=True)
def next_funding_rate(st, a):
    """The latest rate announced for :func:`next_funding` (0 when none)."""
    return st.fund_f[a, 0]


@njit(cache=True)
def last_funding(st, a):
    """The last funding time of asset ``a`` that passed, ns (min int: none yet), held or not."""
    return st.fund_i[a, 2]


@njit(cache=True)
def last_funding_rate(st, a):
    """The rate paid at :func:`last_funding` (a fraction; positive: longs pay shorts)."""
    return st.fund_f[a, 2]


@njit(cache=True)
def mark_price(st, a):
    """The last MARK row's price of asset ``a`` (NaN before one)."""
    return st.mark_px[a]


# -- orders ----------------------------------------------------------------------------------------

@njit(cache=True)
def submit(st, a, side, price, qty, order_type):
    """Send a new order (``order_type``: LIMIT, POST_ONLY, IOC, MARKET). Returns its id (> 0), or -reason.

    Refused before sending (no id, counted as a reject) when qty is not positive, qty is not
    a whole number of lots (-R_INVALID_LOT, also counted in ``invalid_lot_rejects``; see
    :func:`round_lot`), the price is not a positive tick-grid price (inside (0, 1) for binary
    outcomes), the market has resolved (-R_MARKET_RESOLVED), a sell of an instrument that may not
    go short exceeds the position as known less every live sell's leaves (-R_INSUFFICIENT_POSITION,
    also counted in ``insufficient_position_rejects``), or no slot is free; refused with -R_GUARD_BLOCKED (counted per guard) or sent
    smaller (whole lots) when a risk guard says so.
    """
    b = st  # the book arrays are direct fields of the state
    t = st.clock[c.CLK_NOW]
    if not (qty > 0.0) or not np.isfinite(qty):
        st.counters[c.C_REJECTS] += 1
        return -c.R_INVALID_QTY
    tick = np.int64(0)
    if order_type != c.MARKET:
        if not (price > 0.0) or not np.isfinite(price):
            st.counters[c.C_REJECTS] += 1
            return -c.R_INVALID_PRICE
        tick = price_to_tick_nb(price, b.inv_tick[a])
        if abs(tick * b.tick[a] - price) > 1e-9 * price or (st.inst[a, c.I_BINARY] > 0.0 and price >= 1.0):
            st.counters[c.C_REJECTS] += 1
            return -c.R_INVALID_PRICE
    units = _lots_nb(st, a, qty)
    if units < 0.0:
        st.counters[c.C_REJECTS] += 1
        st.counters[c.C_LOT_REJECTS] += 1
        return -c.R_INVALID_LOT
    if st.acct[a, c.A_SETTLED] != 0.0:
        st.counters[c.C_REJECTS] += 1
        return -c.R_MARKET_RESOLVED
    if side < 0 and st.inst[a, c.I_NO_SHORT] != 0.0 and units > sell_room_nb(st, a) + 1e-9 * units:
        st.counters[c.C_REJECTS] += 1
        st.counters[c.C_POS_REJECTS] += 1
        return -c.R_INSUFFICIENT_POSITION
    entry = is_entry_nb(st, a, side, qty)
    if entry:
        st.counters[c.C_ENTRY_ATTEMPTS] += 1
    if st.guard_cfg[c.RG_ON] != 0.0:
        allowed = guard_order_nb(st, a, side, price, qty)
        if allowed <= 0.0:
            return -c.R_GUARD_BLOCKED
        if allowed != qty:  # cut by the budget (to whole lots)
            qty = allowed
            units = _lots_nb(st, a, qty)
    unit = st.inst[a, c.I_UNIT]
    s = alloc_slot_nb(st)
    if s < 0:
        st.counters[c.C_REJECTS] += 1
        return -c.R_TOO_MANY_ORDERS
    st.oi[s, c.O_ASSET] = a
    st.oi[s, c.O_SIDE] = 1 if side > 0 else -1
    st.oi[s, c.O_TYPE] = order_type
    st.oi[s, c.O_STATUS] = c.ST_NEW
    st.oi[s, c.O_LSTATUS] = c.ST_NEW
    st.oi[s, c.O_TICK] = tick
    st.oi[s, c.O_LTICK] = tick
    st.oi[s, c.O_T_SUBMIT] = t
    st.of[s, c.F_QTY] = units
    st.of[s, c.F_LEAVES] = units
    st.of[s, c.F_LQTY] = units
    st.of[s, c.F_LLEAVES] = units
    st.of[s, c.F_LPRICE] = tick * b.tick[a]
    if not push_request_nb(st, s, c.RQ_NEW, tick, units):
        st.oi[s, c.O_STATUS] = c.ST_REJECTED
        st.oi[s, c.O_LSTATUS] = c.ST_REJECTED
        maybe_release_nb(st, s)
        st.counters[c.C_REJECTS] += 1
        return -c.R_TOO_MANY_ORDERS
    st.counters[c.C_ORDERS] += 1
    if entry:
        st.counters[c.C_ENTRIES] += 1
    log_order_nb(st, t, s, c.EV_SUBMIT, 0, tick * b.tick[a], units * unit)
    return st.oi[s, c.O_ID]


@njit(cache=True)
def cancel(st, oid):
    """Ask the exchange to cancel order ``oid``.

    False when the order is unknown, already done in our view, or a cancel is already on its way.
    """
    s = find_slot_nb(st, oid)
    if s < 0 or st.oi[s, c.O_CXL_SENT] != 0:
        return False
    ls = st.oi[s, c.O_LSTATUS]
    if ls == c.ST_FILLED or ls == c.ST_CANCELLED or ls == c.ST_REJECTED:
        return False
    if not push_request_nb(st, s, c.RQ_CANCEL, 0, 0.0):
        return False
    st.oi[s, c.O_CXL_SENT] = 1
    st.counters[c.C_CANCELS_SENT] += 1
    log_order_nb(st, st.clock[c.CLK_NOW], s, c.EV_CANCEL_SENT, 0, 0.0, 0.0)
    return True


@njit(cache=True)
def cancel_pending(st, oid):
    """True when a cancel for ``oid`` has been sent and its answer has not arrived yet."""
    s = find_slot_nb(st, oid)
    return s >= 0 and st.oi[s, c.O_CXL_SENT] != 0


@njit(cache=True)
def modify(st, oid, price, qty):
    """Ask to change order ``oid`` to ``price`` and total quantity ``qty``; a new price or larger size loses queue priority.

    False (nothing sent) for an unknown or finished order, a price off the tick grid, or a
    ``qty`` off the lot grid (counted in ``invalid_lot_rejects``), a larger size for a sell of an
    instrument that may not go short (counted in ``insufficient_position_rejects``), and after the kill switch.
    """
    s = find_slot_nb(st, oid)
    if s < 0:
        return False
    ls = st.oi[s, c.O_LSTATUS]
    if ls == c.ST_FILLED or ls == c.ST_CANCELLED or ls == c.ST_REJECTED:
        return False
    a = st.oi[s, c.O_ASSET]
    b = st  # the book arrays are direct fields of the state
    if not (price > 0.0) or not (qty > 0.0) or not np.isfinite(price) or not np.isfinite(qty):
        return False
    tick = price_to_tick_nb(price, b.inv_tick[a])
    if abs(tick * b.tick[a] - price) > 1e-9 * price:
        return False
    units = _lots_nb(st, a, qty)
    if units < 0.0:
        st.counters[c.C_LOT_REJECTS] += 1
        return False
    if st.oi[s, c.O_SIDE] < 0 and st.inst[a, c.I_NO_SHORT] != 0.0 and units > st.of[s, c.F_LQTY]:
        st.counters[c.C_POS_REJECTS] += 1  # a sell that may not go short only shrinks (cancel and send anew)
        return False
    if st.guard_st[c.GS_KILLED] != 0.0:
        return False  # after the kill switch only cancels and reducing orders go out
    if not push_request_nb(st, s, c.RQ_MODIFY, tick, units):
        return False
    st.counters[c.C_MODIFIES] += 1
    return True


@njit(cache=True)
def order_status(st, oid):
    """Status as last reported (ST_NEW … ST_REJECTED), or -1 once the order is done and forgotten."""
    s = find_slot_nb(st, oid)
    return st.oi[s, c.O_LSTATUS] if s >= 0 else -1


@njit(cache=True)
def order_leaves(st, oid):
    """Quantity still open as last reported (0 once forgotten)."""
    s = find_slot_nb(st, oid)
    return st.of[s, c.F_LLEAVES] * st.inst[st.oi[s, c.O_ASSET], c.I_UNIT] if s >= 0 else 0.0


@njit(cache=True)
def order_filled(st, oid):
    """Quantity filled as reported so far."""
    s = find_slot_nb(st, oid)
    return st.of[s, c.F_LFILLED] * st.inst[st.oi[s, c.O_ASSET], c.I_UNIT] if s >= 0 else 0.0


@njit(cache=True)
def order_avg_price(st, oid):
    """Average price of the fills heard of so far (NaN before the first)."""
    s = find_slot_nb(st, oid)
    if s < 0 or st.of[s, c.F_LFILLED] <= 0.0:
        return np.nan
    return st.of[s, c.F_LVALUE] / (st.of[s, c.F_LFILLED] * st.inst[st.oi[s, c.O_ASSET], c.I_UNIT])


@njit(cache=True)
def order_price(st, oid):
    """Limit price as last reported (NaN once forgotten)."""
    s = find_slot_nb(st, oid)
    return st.oi[s, c.O_LTICK] * st.tick[st.oi[s, c.O_ASSET]] if s >= 0 else np.nan


@njit(cache=True)
def is_live(st, oid):
    """True while the order is not known to be filled, cancelled or rejected."""
    s = find_slot_nb(st, oid)
    if s < 0:
        return False
    ls = st.oi[s, c.O_LSTATUS]
    return ls == c.ST_NEW or ls == c.ST_OPEN or ls == c.ST_PARTIAL


@njit(cache=True)
def open_orders(st, a, side, out):
    """Write the ids of live orders on asset ``a`` (``side`` 0 = both) into ``out``; returns how many."""
    n = 0
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] != a or (side != 0 and st.oi[s, c.O_SIDE] != side):
            continue
        ls = st.oi[s, c.O_LSTATUS]
        if (ls == c.ST_NEW or ls == c.ST_OPEN or ls == c.ST_PARTIAL) and n < out.shape[0]:
            out[n] = st.oi[s, c.O_ID]
            n += 1
    return n


@njit(cache=True)
def cancel_all(st, a):
    """Cancel every live order on asset ``a``; returns how many cancels were sent."""
    sent = 0
    k = 0
    while k < st.clock[c.CLK_N_ACTIVE]:
        s = st.active[k]
        k += 1
        if st.oi[s, c.O_ASSET] == a:
            if cancel(st, st.oi[s, c.O_ID]):
                sent += 1
    return sent


@njit(cache=True)
def taker_fee_bps(st, a):
    """The instrument's taker fee, bps of notional."""
    return st.inst[a, c.I_TAKER_BPS]


@njit(cache=True)
def maker_fee_bps(st, a):
    """The instrument's maker fee, bps of notional (negative = rebate)."""
    return st.inst[a, c.I_MAKER_BPS]


@njit(cache=True)
def annotate(st, code, v0, v1, v2, v3, v4, v5, v6, v7):
    """Record a strategy event (``code`` and 8 numbers) at the current time; returned in ``Result.notes``.

    Strategies use it for what fills alone do not say (a round trip opened or closed and why).
    """
    k = st.clock[c.CLK_NNOTE]
    if k >= st.notes.shape[0]:
        st.clock[c.CLK_ERROR] = c.E_NOTE_BUFFER
        return
    row = st.notes[k]
    row[0] = st.clock[c.CLK_NOW]
    row[1] = code
    row[2] = v0
    row[3] = v1
    row[4] = v2
    row[5] = v3
    row[6] = v4
    row[7] = v5
    row[8] = v6
    row[9] = v7
    st.clock[c.CLK_NNOTE] = k + 1


@njit(cache=True)
def is_binary(st, a):
    """True for binary-outcome books (prices inside (0, 1), payoff 1)."""
    return st.inst[a, c.I_BINARY] > 0.0


@njit(cache=True)
def complement(st, a):
    """The asset index of the other outcome of ``a``'s binary market, or -1."""
    return np.int64(st.inst[a, c.I_COMPLEMENT])


@njit(cache=True)
def net_exposure(st, a):
    """Position in ``a`` less its complement's (YES − NO), as known from fill responses; ``a``'s position when alone."""
    b = np.int64(st.inst[a, c.I_COMPLEMENT])
    if b < 0:
        return st.acct[a, c.A_LPOS]
    return st.acct[a, c.A_LPOS] - st.acct[b, c.A_LPOS]


@njit(cache=True)
def sellable(st, a):
    """Contracts of ``a`` that may still be sold: the position as known less every live sell's leaves (inf when
    the instrument may go short)."""
    if st.inst[a, c.I_NO_SHORT] == 0.0:
        return np.inf
    return sell_room_nb(st, a) * st.inst[a, c.I_UNIT]


@njit(cache=True)
def merge_pair(st, a, qty):
    """Merge ``qty`` tokens of ``a`` and as many of its complement into ``qty`` of cash, now (no latency).

    Returns ``qty`` or -reason: not a binary pair (-R_INVALID_QTY), off the lot grid
    (-R_INVALID_LOT), resolved (-R_MARKET_RESOLVED), or more than either side may sell
    (-R_INSUFFICIENT_POSITION). Two ``merge`` rows go to the fill log (the 1.0 split by the mids).
    """
    units = _lots_nb(st, a, qty)
    if not (qty > 0.0) or units < 0.0:
        return -float(c.R_INVALID_LOT)
    got = merge_pair_nb(st, a, units)
    return got * st.inst[a, c.I_UNIT] if got > 0.0 else got


@njit(cache=True)
def market_settled(st, a):
    """True once ``a``'s market has resolved and paid out."""
    return st.acct[a, c.A_SETTLED] != 0.0


@njit(cache=True)
def kill_switch_active(st):
    """True once the kill switch has tripped (see :mod:`arbkit.engine.guards`)."""
    return st.guard_st[c.GS_KILLED] != 0.0


@njit(cache=True)
def fitted_kappa(st, a, min_trades):
    """κ of λ(δ) = A·exp(−κ·δ) fitted to the recording's trades so far (δ = distance from the mid, price units).

    Least squares of ln(trades) on δ over the distance buckets (one tick wide) that hold
    trades; NaN until ``min_trades`` trades and two buckets are there, or when the slope is not negative.
    """
    h = st.trade_hist[a]
    tick = st.tick[a]
    n = 0
    tot = 0.0
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    for b in range(h.shape[0] - 1):  # the last bucket collects everything farther out
        if h[b] > 0.0:
            x = (b + 0.5) * tick
            y = np.log(h[b])
            n += 1
            tot += h[b]
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
    if n < 2 or tot < min_trades:
        return np.nan
    den = n * sxx - sx * sx
    if den <= 0.0:
        return np.nan
    slope = (n * sxy - sx * sy) / den
    return -slope if slope < 0.0 else np.nan

"""The simulated exchange: requests on arrival, taker walks, maker queue positions, fills.

Assumptions, each switchable in :class:`arbkit.engine.config.FillModel`:

* A request reaches the exchange at ``sent + entry latency`` and meets the book as
  recorded at that local time (the recording's own feed delay is already in it).
* Takers walk the visible opposite side level by level up to their limit; each level is
  one fill row (``level`` 0 = the touch). Our own takes are invisible to the recording, so
  by default a level is whole again at the next event; ``taker_consumes_book`` keeps what
  we took off that level until the level is next updated.
* A resting order joins the back of its level: queue ahead = displayed quantity there.
  Trades at our price eat the queue first, then fill us (up to the traded quantity).
  Level shrinkage not explained by trades moves us up: all of it when the level falls
  below our queue (risk-averse), or the share ``f(ahead)/(f(ahead)+f(behind))`` with
  ``f(x)=x**power`` or ``f(x)=log(1+x)``.
* A trade beyond our price (trade-through), ``trade_through``: ``volume`` (default) fills at
  most the quantity that trade row traded beyond our price, shared among our resting orders
  it passes through in price-then-time priority (our bids before our asks when the
  aggressor is unknown; each row's quantity used once); ``all`` fills everything we have
  left whatever traded (hftbacktest's and the old rule, kept for peer comparisons); ``none``
  never. The queue logic at the order's own price is the same in every mode.
* The opposite best reaching our price at the end of a book message (cross) fills
  everything we have left at our price.
* Lots: every fill is a whole number of the instrument's lots. Queue and trade-through
  fills are floored to the lot grid (what is left of the traded volume does not fill us);
  a level showing less than a lot gives a taker nothing. Quantities are counted in lots
  (``I_UNIT``), so leaves and positions stay exact. An instrument with no lot size
  (``lot_size`` 0) keeps plain float quantities.
* ``fill_probability`` < 1 keeps each maker fill with that probability (seeded); a skipped
  fill leaves the traded quantity to the next order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.accounting import book_fill_nb, fill_notional_nb
from arbkit.book.ladder import NO_ASK, NO_BID, level_qty_nb
from arbkit.engine.marks import hold_update_nb, mark_equity_nb
from arbkit.engine.orders import log_order_nb, maybe_release_nb, push_response_nb
from arbkit.engine.rng import rng_uniform_nb

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


@njit(cache=True)
def units_floor_nb(inst, a, qty):
    """``qty`` contracts in whole quantity units (lots), rounded down; unchanged when the lot is unknown."""
    if inst[a, c.I_LOT] > 0.0:
        x = qty / inst[a, c.I_UNIT]
        return np.floor(x + 1e-9 + abs(x) * 1e-12)
    return qty


@njit(cache=True)
def book_mid_nb(b, a):
    """Mid price of asset ``a`` (NaN unless both sides exist)."""
    if b.best_bid[a] != NO_BID and b.best_ask[a] != NO_ASK:
        return 0.5 * (b.best_bid[a] + b.best_ask[a]) * b.tick[a]
    return np.nan


@njit(cache=True)
def _is_resting_nb(st, s):
    status = st.oi[s, c.O_STATUS]
    return status == c.ST_OPEN or status == c.ST_PARTIAL


@njit(cache=True)
def refresh_resting_nb(st, a):
    """Recompute the tick range of our resting orders on asset ``a`` (the hot loop's cheap pre-check)."""
    lo_b = np.iinfo(np.int64).max
    hi_b = np.iinfo(np.int64).min
    lo_a = lo_b
    hi_a = hi_b
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] != a or not _is_resting_nb(st, s):
            continue
        t = st.oi[s, c.O_TICK]
        if st.oi[s, c.O_SIDE] > 0:
            lo_b = min(lo_b, t)
            hi_b = max(hi_b, t)
        else:
            lo_a = min(lo_a, t)
            hi_a = max(hi_a, t)
    st.rest[a, 0] = lo_b
    st.rest[a, 1] = hi_b
    st.rest[a, 2] = lo_a
    st.rest[a, 3] = hi_a


@njit(cache=True)
def record_fill_nb(st, t, s, price, units, maker, level, slip_touch, slip_mid):
    """Book a fill of ``units`` quantity units at ``price`` on slot ``s`` at exchange time ``t``.

    Account, order, exact drawdown and holding-time marks, order log, response to the strategy.
    """
    a = st.oi[s, c.O_ASSET]
    side = st.oi[s, c.O_SIDE]
    qty = units * st.inst[a, c.I_UNIT]
    bps = st.inst[a, c.I_MAKER_BPS] if maker else st.inst[a, c.I_TAKER_BPS]
    fee = fill_notional_nb(st.inst, a, price, qty) * bps * 1e-4
    book_fill_nb(st.acct, st.inst, a, side, price, units, fee)
    mark_equity_nb(st.acct, st.inst, st.marks, a)
    hold_update_nb(st.hold, st.acct, t, a)
    leaves = st.of[s, c.F_LEAVES] - units
    if leaves <= 1e-12 * st.of[s, c.F_QTY]:
        leaves = 0.0
    st.of[s, c.F_LEAVES] = leaves
    st.of[s, c.F_FILLED] += units
    st.oi[s, c.O_STATUS] = c.ST_FILLED if leaves == 0.0 else c.ST_PARTIAL
    if leaves == 0.0 and maker:  # maker fills only ever hit resting orders
        st.n_resting[a] -= 1
        refresh_resting_nb(st, a)
    t_seen = push_response_nb(st, t, s, c.RS_FILL, 0, units, price)
    k = st.clock[c.CLK_NFILL]
    if k >= st.fills.shape[0]:
        st.clock[c.CLK_ERROR] = c.E_FILL_BUFFER
        return
    f = st.fills[k]
    f.ts = t
    f.ts_seen = t_seen
    f.asset = a
    f.order_id = st.oi[s, c.O_ID]
    f.side = side
    f.maker = 1 if maker else 0
    f.level = level
    f.price = price
    f.qty = qty
    f.fee = fee
    f.slip_touch_bps = slip_touch
    f.slip_mid_bps = slip_mid
    b = st  # the book arrays are direct fields of the state
    f.best_bid = b.best_bid[a] * b.tick[a] if b.best_bid[a] != NO_BID else np.nan
    f.best_ask = b.best_ask[a] * b.tick[a] if b.best_ask[a] != NO_ASK else np.nan
    f.kind = c.FK_TRADE
    st.clock[c.CLK_NFILL] = k + 1
    st.counters[c.C_FILLS] += 1
    if maker:
        st.counters[c.C_MAKER] += 1
    else:
        st.counters[c.C_TAKER] += 1
    log_order_nb(st, t, s, c.EV_FILL, 0, price, qty)


@njit(cache=True)
def maker_fill_nb(st, t, s, units):
    """Fill resting slot ``s`` for ``units`` quantity units at its own price, subject to ``fill_probability``."""
    p = st.cfg_f[c.H_FILL_PROB]
    if p < 1.0 and rng_uniform_nb(st.rng) >= p:
        st.counters[c.C_PROB_SKIP] += 1
        return False
    a = st.oi[s, c.O_ASSET]
    price = st.oi[s, c.O_TICK] * st.tick[a]
    mid = book_mid_nb(st, a)
    slip_mid = st.oi[s, c.O_SIDE] * (price - mid) / mid * 1e4 if mid == mid else 0.0
    record_fill_nb(st, t, s, price, units, True, 0, 0.0, slip_mid)
    return True


# -- own takes remembered per level (taker_consumes_book) ----------------------------------------

@njit(cache=True)
def consumed_at_nb(st, a, side, tick):
    """Quantity our own takes removed from a level (``taker_consumes_book``)."""
    for i in range(st.clock[c.CLK_N_CONS]):
        if st.cons[i, 0] == a and st.cons[i, 1] == side and st.cons[i, 2] == tick:
            return st.cons[i, 3]
    return 0.0


@njit(cache=True)
def add_consumed_nb(st, a, side, tick, qty):
    """Remember ``qty`` taken from a level by our taker fill."""
    n = st.clock[c.CLK_N_CONS]
    for i in range(n):
        if st.cons[i, 0] == a and st.cons[i, 1] == side and st.cons[i, 2] == tick:
            st.cons[i, 3] += qty
            return
    if n < st.cons.shape[0]:
        st.cons[n, 0] = a
        st.cons[n, 1] = side
        st.cons[n, 2] = tick
        st.cons[n, 3] = qty
        st.clock[c.CLK_N_CONS] = n + 1


@njit(cache=True)
def reset_consumed_nb(st, a, side, tick):
    """Forget own takes on one level (``side`` 0: every level of the asset) once the feed updates it."""
    n = st.clock[c.CLK_N_CONS]
    i = 0
    while i < n:
        if st.cons[i, 0] == a and (side == 0 or (st.cons[i, 1] == side and st.cons[i, 2] == tick)):
            n -= 1
            st.cons[i, :] = st.cons[n, :]
        else:
            i += 1
    st.clock[c.CLK_N_CONS] = n


# -- takers --------------------------------------------------------------------------------------

@njit(cache=True)
def taker_walk_nb(st, t, s):
    """Fill slot ``s`` against the opposite side, best level first, up to its limit price."""
    b = st  # the book arrays are direct fields of the state
    a = st.oi[s, c.O_ASSET]
    side = st.oi[s, c.O_SIDE]
    market = st.oi[s, c.O_TYPE] == c.MARKET
    limit = st.oi[s, c.O_TICK]
    consume = st.cfg_i[c.G_CONSUME] != 0
    max_levels = st.cfg_i[c.G_MAX_LEVELS]
    L = b.bid_qty.shape[1]
    base = b.base[a]
    tick = b.tick[a]
    unit = st.inst[a, c.I_UNIT]
    mid = book_mid_nb(b, a)
    touch = (b.best_ask[a] if side > 0 else b.best_bid[a]) * tick
    level = 0
    if side > 0:
        j = b.best_ask[a] - base
        step = 1
    else:
        j = b.best_bid[a] - base
        step = -1
    while 0 <= j < L and st.of[s, c.F_LEAVES] > 0.0:
        q = b.ask_qty[a, j] if side > 0 else b.bid_qty[a, j]
        if q > 0.0:
            tk = base + j
            if not market and ((side > 0 and tk > limit) or (side < 0 and tk < limit)):
                break
            if consume:
                q -= consumed_at_nb(st, a, -side, tk)
            if q > 0.0:
                fu = min(units_floor_nb(st.inst, a, q), st.of[s, c.F_LEAVES])  # whole lots: less than one gives nothing
                if fu > 0.0:
                    px = tk * tick
                    slip_t = side * (px - touch) / touch * 1e4
                    slip_m = side * (px - mid) / mid * 1e4 if mid == mid else slip_t
                    record_fill_nb(st, t, s, px, fu, False, level, slip_t, slip_m)
                    if consume:
                        add_consumed_nb(st, a, -side, tk, fu * unit)
            level += 1
            if max_levels > 0 and level >= max_levels:
                break
        j += step


@njit(cache=True)
def _crosses_nb(b, a, side, tick, market):
    if side > 0:
        return b.best_ask[a] != NO_ASK and (market or tick >= b.best_ask[a])
    return b.best_bid[a] != NO_BID and (market or tick <= b.best_bid[a])


@njit(cache=True)
def _reject_nb(st, t, s, reason):
    a = st.oi[s, c.O_ASSET]
    st.oi[s, c.O_STATUS] = c.ST_REJECTED
    st.oi[s, c.O_REASON] = reason
    st.of[s, c.F_LEAVES] = 0.0
    st.counters[c.C_REJECTS] += 1
    log_order_nb(st, t, s, c.EV_REJECT, reason, st.oi[s, c.O_TICK] * st.tick[a], st.of[s, c.F_QTY] * st.inst[a, c.I_UNIT])
    push_response_nb(st, t, s, c.RS_REJECTED, reason, 0.0, 0.0)


@njit(cache=True)
def _request_reject_nb(st, t, s, reason):
    st.counters[c.C_REQ_REJECTS] += 1
    log_order_nb(st, t, s, c.EV_REQ_REJECT, reason, 0.0, 0.0)
    push_response_nb(st, t, s, c.RS_REQUEST_REJECTED, reason, 0.0, 0.0)


@njit(cache=True)
def exchange_new_nb(st, t, s):
    """A new order reaches the exchange: reject, take, or rest at the back of its level."""
    b = st  # the book arrays are direct fields of the state
    a = st.oi[s, c.O_ASSET]
    side = st.oi[s, c.O_SIDE]
    typ = st.oi[s, c.O_TYPE]
    tick = st.oi[s, c.O_TICK]
    if st.acct[a, c.A_SETTLED] != 0.0:  # sent before the market resolved, arrived after
        _reject_nb(st, t, s, c.R_MARKET_RESOLVED)
        return
    if not st.usable[a]:
        _reject_nb(st, t, s, c.R_BOOK_UNUSABLE)
        return
    crosses = _crosses_nb(b, a, side, tick, typ == c.MARKET)
    if typ == c.POST_ONLY and crosses:
        _reject_nb(st, t, s, c.R_POST_ONLY_WOULD_CROSS)
        return
    if typ == c.MARKET and not crosses:
        _reject_nb(st, t, s, c.R_NO_LIQUIDITY)
        return
    st.oi[s, c.O_STATUS] = c.ST_OPEN
    unit = st.inst[a, c.I_UNIT]
    log_order_nb(st, t, s, c.EV_ACCEPT, 0, tick * b.tick[a], st.of[s, c.F_QTY] * unit)
    if crosses:
        taker_walk_nb(st, t, s)
    if st.of[s, c.F_LEAVES] == 0.0:
        return
    if typ == c.IOC or typ == c.MARKET:
        st.oi[s, c.O_STATUS] = c.ST_CANCELLED
        st.counters[c.C_EXCH_CANCELS] += 1
        log_order_nb(st, t, s, c.EV_CANCEL, c.R_IOC_LEFTOVER, tick * b.tick[a], st.of[s, c.F_LEAVES] * unit)
        push_response_nb(st, t, s, c.RS_CANCELLED, 0, 0.0, 0.0)
        return
    st.of[s, c.F_QUEUE] = level_qty_nb(b, a, side, tick)
    st.of[s, c.F_TRADED] = 0.0
    st.n_resting[a] += 1
    refresh_resting_nb(st, a)
    push_response_nb(st, t, s, c.RS_ACK, 0, 0.0, 0.0)


@njit(cache=True)
def exchange_cancel_nb(st, t, s):
    """A cancel reaches the exchange: the order leaves the book if it is still there."""
    if not _is_resting_nb(st, s):
        _request_reject_nb(st, t, s, c.R_UNKNOWN_ORDER)
        return
    a = st.oi[s, c.O_ASSET]
    st.oi[s, c.O_STATUS] = c.ST_CANCELLED
    st.n_resting[a] -= 1
    refresh_resting_nb(st, a)
    reason = 0
    if st.oi[s, c.O_CXL_SENT] == 2:  # sent by the kill switch
        reason = c.R_KILL_SWITCH
        st.counters[c.C_EXCH_CANCELS] += 1
    log_order_nb(st, t, s, c.EV_CANCEL, reason, st.oi[s, c.O_TICK] * st.tick[a], st.of[s, c.F_LEAVES] * st.inst[a, c.I_UNIT])
    push_response_nb(st, t, s, c.RS_CANCELLED, 0, 0.0, 0.0)


@njit(cache=True)
def cancel_resting_at_end_nb(st, t):
    """The data ended: every order still resting is cancelled by the exchange at ``t`` (counted, logged)."""
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if not _is_resting_nb(st, s):
            continue
        a = st.oi[s, c.O_ASSET]
        st.oi[s, c.O_STATUS] = c.ST_CANCELLED
        st.n_resting[a] -= 1
        refresh_resting_nb(st, a)
        st.counters[c.C_EXCH_CANCELS] += 1
        log_order_nb(st, t, s, c.EV_CANCEL, c.R_END_OF_DATA, st.oi[s, c.O_TICK] * st.tick[a],
                     st.of[s, c.F_LEAVES] * st.inst[a, c.I_UNIT])
        push_response_nb(st, t, s, c.RS_CANCELLED, 0, 0.0, 0.0)


@njit(cache=True)
def exchange_modify_nb(st, t, s, tick, qty):
    """Change price and/or total quantity (``qty`` in units); a new price or a larger size goes to the back of the queue."""
    if not _is_resting_nb(st, s):
        _request_reject_nb(st, t, s, c.R_UNKNOWN_ORDER)
        return
    b = st  # the book arrays are direct fields of the state
    a = st.oi[s, c.O_ASSET]
    side = st.oi[s, c.O_SIDE]
    new_leaves = qty - st.of[s, c.F_FILLED]
    if not new_leaves > 1e-12 * qty:
        _request_reject_nb(st, t, s, c.R_INVALID_QTY)
        return
    if tick != st.oi[s, c.O_TICK] and _crosses_nb(b, a, side, tick, False):
        _request_reject_nb(st, t, s, c.R_MODIFY_WOULD_CROSS)
        return
    lose = tick != st.oi[s, c.O_TICK] or new_leaves > st.of[s, c.F_LEAVES]
    st.oi[s, c.O_TICK] = tick
    st.of[s, c.F_QTY] = qty
    st.of[s, c.F_LEAVES] = new_leaves
    if lose:
        st.of[s, c.F_QUEUE] = level_qty_nb(b, a, side, tick)
        st.of[s, c.F_TRADED] = 0.0
    refresh_resting_nb(st, a)
    log_order_nb(st, t, s, c.EV_MODIFY, 0, tick * b.tick[a], qty * st.inst[a, c.I_UNIT])
    push_response_nb(st, t, s, c.RS_MODIFIED, 0, qty, tick * b.tick[a])


@njit(cache=True)
def process_requests_nb(st, t):
    """Hand every request that has reached the exchange by ``t`` to the matching engine, in order."""
    R = st.rq_i.shape[0]
    while st.clock[c.CLK_RQ_N] > 0:
        j = st.clock[c.CLK_RQ_HEAD]
        ta = st.rq_i[j, c.Q_T]
        if ta > t:
            break
        s = st.rq_i[j, c.Q_SLOT]
        kind = st.rq_i[j, c.Q_KIND]
        tick = st.rq_i[j, c.Q_TICK]
        qty = st.rq_f[j, c.QF_QTY]
        st.clock[c.CLK_RQ_HEAD] = (j + 1) % R
        st.clock[c.CLK_RQ_N] -= 1
        st.oi[s, c.O_INFLIGHT] -= 1
        if kind == c.RQ_NEW:
            exchange_new_nb(st, ta, s)
        elif kind == c.RQ_CANCEL:
            exchange_cancel_nb(st, ta, s)
        else:
            exchange_modify_nb(st, ta, s, tick, qty)
        maybe_release_nb(st, s)


# -- makers --------------------------------------------------------------------------------------

@njit(cache=True)
def share_ahead_nb(model, power, ahead, behind):
    """Share of a cancelled quantity that was ahead of us: f(ahead) / (f(ahead) + f(behind))."""
    if model == c.QUEUE_POWER:
        fa = ahead ** power
        fb = behind ** power
    else:
        fa = np.log1p(ahead)
        fb = np.log1p(behind)
    if fa + fb <= 0.0:
        return 1.0
    return fa / (fa + fb)


@njit(cache=True)
def queue_on_depth_nb(oi, of, active, n_active, a, side, tick, q, old, queue_model, queue_power):
    """The level at ``tick`` on ``side`` went from ``old`` to ``q``: move up our orders resting there.

    Shrinkage beyond what trades at the level explained is cancellations, shared between
    ahead of and behind us by the queue model. Called only when one of our orders may rest there.
    """
    for kk in range(n_active):
        s = active[kk]
        if oi[s, c.O_ASSET] != a or oi[s, c.O_SIDE] != side or oi[s, c.O_TICK] != tick:
            continue
        stt = oi[s, c.O_STATUS]
        if stt != c.ST_OPEN and stt != c.ST_PARTIAL:
            continue
        qa = of[s, c.F_QUEUE]
        if q < old:
            if queue_model == c.QUEUE_RISK_AVERSE:
                qa = min(qa, q)
            else:
                traded = of[s, c.F_TRADED]
                cancelled = old - q - traded
                if cancelled > 0.0:
                    behind = old - traded - qa
                    if behind < 0.0:
                        behind = 0.0
                    qa -= cancelled * share_ahead_nb(queue_model, queue_power, qa, behind)
                    if qa < 0.0:
                        qa = 0.0
                qa = min(qa, q)
        of[s, c.F_QUEUE] = qa
        of[s, c.F_TRADED] = 0.0


@njit(cache=True)
def maker_on_trade_nb(st, t, a, aggressor, tick, qty):
    """A public trade of ``qty`` at ``tick``: advance queues at that price, fill what it reaches or trades through."""
    mode = st.cfg_i[c.G_THROUGH]
    unit = st.inst[a, c.I_UNIT]
    through_seen = False
    given = 0.0
    k = 0
    while k < st.clock[c.CLK_N_ACTIVE]:
        s = st.active[k]
        k += 1
        if st.oi[s, c.O_ASSET] != a or not _is_resting_nb(st, s):
            continue
        side = st.oi[s, c.O_SIDE]
        if aggressor == side:
            continue
        otick = st.oi[s, c.O_TICK]
        through = (tick > otick) if side < 0 else (tick < otick)
        if through:
            through_seen = True
            if mode == c.THROUGH_ALL and maker_fill_nb(st, t, s, st.of[s, c.F_LEAVES]):
                st.counters[c.C_THROUGH] += 1
            continue
        if tick != otick:
            continue
        q = st.of[s, c.F_QUEUE] - qty
        st.of[s, c.F_TRADED] += qty
        if q < 0.0:
            fu = min(units_floor_nb(st.inst, a, min(-q, qty - given)), st.of[s, c.F_LEAVES])
            st.of[s, c.F_QUEUE] = 0.0
            if fu > 0.0 and maker_fill_nb(st, t, s, fu):
                given += fu * unit
        else:
            st.of[s, c.F_QUEUE] = q
    if mode == c.THROUGH_VOLUME and through_seen:
        through_volume_nb(st, t, a, aggressor, tick, qty)


@njit(cache=True)
def through_volume_nb(st, t, a, aggressor, tick, qty):
    """``trade_through: volume``: the row's ``qty`` fills the orders it passed, best price first, then oldest first.

    Our bids above the trade price (a seller went through them), then our asks below it; each
    fill is floored to whole lots and the row's quantity is used once.
    """
    unit = st.inst[a, c.I_UNIT]
    remaining = qty
    for pass_ in range(2):
        side = 1 if pass_ == 0 else -1
        if aggressor == side:
            continue
        bound = I64_MAX if side > 0 else I64_MIN  # prices already served (exclusive)
        while True:
            best = I64_MIN if side > 0 else I64_MAX
            for k in range(st.clock[c.CLK_N_ACTIVE]):
                s = st.active[k]
                if st.oi[s, c.O_ASSET] != a or st.oi[s, c.O_SIDE] != side or not _is_resting_nb(st, s):
                    continue
                ot = st.oi[s, c.O_TICK]
                if side > 0 and tick < ot < bound and ot > best:
                    best = ot
                elif side < 0 and bound < ot < tick and ot < best:
                    best = ot
            if best == I64_MIN or best == I64_MAX:
                break
            for k in range(st.clock[c.CLK_N_ACTIVE]):
                s = st.active[k]
                if st.oi[s, c.O_ASSET] != a or st.oi[s, c.O_SIDE] != side or st.oi[s, c.O_TICK] != best \
                        or not _is_resting_nb(st, s):
                    continue
                fu = min(units_floor_nb(st.inst, a, remaining), st.of[s, c.F_LEAVES])
                if not fu > 0.0:
                    return  # less than a lot left of the row
                if maker_fill_nb(st, t, s, fu):
                    st.counters[c.C_THROUGH] += 1
                    remaining -= fu * unit
            bound = best


@njit(cache=True)
def maker_on_cross_nb(st, t, a):
    """After a book message: the opposite best at or through our price means our level was taken."""
    b = st  # the book arrays are direct fields of the state
    k = 0
    while k < st.clock[c.CLK_N_ACTIVE]:
        s = st.active[k]
        k += 1
        if st.oi[s, c.O_ASSET] != a or not _is_resting_nb(st, s):
            continue
        otick = st.oi[s, c.O_TICK]
        if st.oi[s, c.O_SIDE] < 0:
            hit = b.best_bid[a] != NO_BID and b.best_bid[a] >= otick
        else:
            hit = b.best_ask[a] != NO_ASK and b.best_ask[a] <= otick
        if hit and maker_fill_nb(st, t, s, st.of[s, c.F_LEAVES]):
            st.counters[c.C_CROSS] += 1


@njit(cache=True)
def requeue_after_image_nb(st, a):
    """After a CLEAR and a fresh image our queue cannot exceed what the level now shows."""
    b = st  # the book arrays are direct fields of the state
    for k in range(st.clock[c.CLK_N_ACTIVE]):
        s = st.active[k]
        if st.oi[s, c.O_ASSET] == a and _is_resting_nb(st, s):
            st.of[s, c.F_QUEUE] = min(st.of[s, c.F_QUEUE], level_qty_nb(b, a, st.oi[s, c.O_SIDE], st.oi[s, c.O_TICK]))
            st.of[s, c.F_TRADED] = 0.0


"""The hot loop: one pass over events in ts_local order, all assets on one clock.

Per row: requests that have reached the exchange are matched, responses that have reached
the strategy are applied to its view, then the row updates its book and our resting
orders. Work that needs a whole venue message (crossing checks, top-of-book change,
equity samples, the strategy call) happens when the message ends — a message is the run
of rows with the same asset, ts_local and seq (book rows together, other kinds by kind).
That end is found by looking at the next row, so it is carried across chunk boundaries
and the result does not depend on how the recording is chunked.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb
from arbkit.book.ladder import (KIND_BBO, KIND_CLEAR, KIND_DEPTH, KIND_GAP, KIND_SNAPSHOT, KIND_TRADE, NO_ASK, NO_BID, book_apply_nb,
                                book_clear_nb, book_recenter_nb)
from arbkit.engine.matching import (maker_on_cross_nb, maker_on_trade_nb, process_requests_nb, queue_on_depth_nb,
                                    requeue_after_image_nb, reset_consumed_nb)
from arbkit.engine.guards import guard_on_call_nb
from arbkit.engine.orders import deliver_responses_nb
from arbkit.engine.state import ENGINE_STATE_TYPE, STRATEGY_FN_TYPE

#: Free room the loop keeps in the fill and log buffers; when less is left it returns so
#: the driver can drain them (a strategy call plus one event stays below this).
BUFFER_MARGIN = 8192


@njit(cache=True)
def sample_equity_nb(st, t):
    """Record every asset's equity and position at ``t``."""
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
    st.eq_ts[k] = t
    st.clock[c.CLK_NEQ] = k + 1
    st.counters[c.C_EQ] += 1


@njit(cache=True)
def end_message_nb(st, strategy, params, user, a, t, book_message):
    """A message of asset ``a`` at ``t`` is complete: book bookkeeping, equity sample, strategy call.

    ``run_events_nb`` does the same inline (a call per message costs ~25% of the loop's time);
    this form closes the last message at the end of the data.

    After a book message: queue positions are clipped to a fresh image, resting orders the
    opposite best has reached are filled, the usable flag, mid and top-change flag are set.
    """
    st.clock[c.CLK_NOW] = t
    if book_message:
        st.asset_ts[a, 1] = t
        b = st.books
        if st.requeue[a] and (b.n_bid[a] + b.n_ask[a]) > 0:
            requeue_after_image_nb(st, a)
            st.requeue[a] = False
        bb = b.best_bid[a]
        ba = b.best_ask[a]
        # our lowest ask at or below the best bid, or our highest bid at or above the best ask
        if st.cfg_i[c.G_CROSS] != 0 and (bb >= st.rest[a, 2] or ba <= st.rest[a, 1]):
            maker_on_cross_nb(st, t, a)
        both = bb != NO_BID and ba != NO_ASK
        st.usable[a] = both and not st.gapped[a]
        if both:
            st.acct[a, c.A_MID] = 0.5 * (bb + ba) * b.tick[a]
        if bb != st.prev_top[a, 0] or ba != st.prev_top[a, 1]:
            st.prev_top[a, 0] = bb
            st.prev_top[a, 1] = ba
            st.clock[c.CLK_TOP_CHANGED] = 1
    iv = st.cfg_i[c.G_EQ_INTERVAL]
    if iv > 0 and t >= st.clock[c.CLK_NEXT_EQ] and st.clock[c.CLK_NEQ] < st.eq_ts.shape[0]:
        sample_equity_nb(st, t)
        st.clock[c.CLK_NEXT_EQ] = (t // iv + 1) * iv
    sched = st.cfg_i[c.G_SCHEDULE]
    reason = 0
    if sched & c.CALL_EVERY_EVENT:
        reason |= c.CALL_EVERY_EVENT
    if sched & c.CALL_INTERVAL and t >= st.clock[c.CLK_NEXT_CALL]:
        reason |= c.CALL_INTERVAL
        civ = st.cfg_i[c.G_INTERVAL]
        st.clock[c.CLK_NEXT_CALL] = (t // civ + 1) * civ
    if sched & c.CALL_TOP_CHANGE and st.clock[c.CLK_TOP_CHANGED] != 0:
        reason |= c.CALL_TOP_CHANGE
    if sched & c.CALL_RESPONSE and st.clock[c.CLK_RESPONDED] != 0:
        reason |= c.CALL_RESPONSE
    st.clock[c.CLK_TOP_CHANGED] = 0
    st.clock[c.CLK_RESPONDED] = 0
    if reason != 0:
        if st.guard_cfg[c.RG_ON] != 0.0:
            guard_on_call_nb(st, t)
        st.clock[c.CLK_CALL_REASON] = reason
        st.counters[c.C_CALLS] += 1
        strategy(st, params, user)


@njit(cache=True)
def _save_pending_nb(clock, counters, events, messages, pa, p_ts, p_seq, p_kind):
    """On leaving the loop: counts and the still-open message go back into the state."""
    counters[c.C_EVENTS] += events
    counters[c.C_MESSAGES] += messages
    clock[c.CLK_PEND_ASSET] = pa
    clock[c.CLK_PEND_TS] = p_ts
    clock[c.CLK_PEND_SEQ] = p_seq
    clock[c.CLK_PEND_KIND] = p_kind


def _event_array_types(readonly):
    dts = (types.int64, types.int32, types.uint8, types.int8, types.float64, types.float64, types.int64)
    return tuple(types.Array(d, 1, "C", readonly=readonly) for d in dts)


def _run_sigs():
    sigs = []
    for ro in (False, True):
        sigs.append(types.int64(ENGINE_STATE_TYPE, STRATEGY_FN_TYPE, types.float64[::1], types.float64[::1],
                                *_event_array_types(ro), types.int64))
    return sigs


@njit(_run_sigs(), cache=True, nogil=True)
def run_events_nb(st, strategy, params, user, ts, asset, kind, side, price, qty, seq, start):
    """Process rows ``start..`` of one chunk. Returns the next row to process (``len`` when done).

    Returns early, before a row, when the output buffers need draining or on an error
    (``clock[CLK_ERROR]``); calling again with the returned row continues exactly.

    The per-row path (book update, queue positions, message end) is written out here on
    arrays taken from the state once, so the compiler keeps them in registers; the book
    update mirrors ``ladder.book_set_nb`` (used by the book scanner) and the message end mirrors
    :func:`end_message_nb`. Anything rarer (fills, requests, responses) calls out with ``st``.
    """
    n = ts.shape[0]
    fill_cap = st.fills.shape[0] - BUFFER_MARGIN
    log_cap = st.log.shape[0] - BUFFER_MARGIN
    note_cap = st.notes.shape[0] - BUFFER_MARGIN
    eq_cap = st.eq_ts.shape[0] - 1
    clock = st.clock
    counters = st.counters
    cfg_i = st.cfg_i
    b = st.books
    bid_qty = b.bid_qty
    ask_qty = b.ask_qty
    base = b.base
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    inv_tick = b.inv_tick
    tick_size = b.tick
    centred = b.centred
    dropped = b.dropped
    bbo = b.bbo
    n_resting = st.n_resting
    oi = st.oi
    of = st.of
    active = st.active
    acct = st.acct
    prev_top = st.prev_top
    usable = st.usable
    gapped = st.gapped
    requeue = st.requeue
    rest = st.rest
    asset_ts = st.asset_ts
    trade_hist = st.trade_hist
    n_buckets = trade_hist.shape[1]
    guards_on = st.guard_cfg[c.RG_ON] != 0.0
    queue_model = cfg_i[c.G_QUEUE]
    queue_power = st.cfg_f[c.H_QUEUE_POWER]
    cross_on = cfg_i[c.G_CROSS] != 0
    sched = cfg_i[c.G_SCHEDULE]
    call_iv = cfg_i[c.G_INTERVAL]
    eq_iv = cfg_i[c.G_EQ_INTERVAL]
    L = bid_qty.shape[1]
    events = 0
    messages = 0
    # the pending message lives in locals (registers) and is written back on every exit
    pa = clock[c.CLK_PEND_ASSET]
    p_ts = clock[c.CLK_PEND_TS]
    p_seq = clock[c.CLK_PEND_SEQ]
    p_kind = clock[c.CLK_PEND_KIND]
    check = True  # buffers can only fill up after a call out with the state
    for r in range(start, n):
        if check:
            check = False
            if clock[c.CLK_NFILL] > fill_cap or clock[c.CLK_NLOG] > log_cap or clock[c.CLK_NEQ] >= eq_cap \
                    or clock[c.CLK_NNOTE] > note_cap or clock[c.CLK_ERROR] != 0:
                _save_pending_nb(clock, counters, events, messages, pa, p_ts, p_seq, p_kind)
                return r
        t = ts[r]
        a = asset[r]
        k = kind[r]
        mclass = 0 if (k == KIND_DEPTH or k == KIND_SNAPSHOT or k == KIND_CLEAR) else np.int64(k)
        if pa >= 0 and not (pa == a and p_ts == t and p_seq == seq[r] and p_kind == mclass):
            # ---- the previous message ended: bookkeeping, then maybe the strategy ----
            tp = p_ts
            clock[c.CLK_NOW] = tp
            messages += 1
            if p_kind == 0:
                asset_ts[pa, 1] = tp
                if requeue[pa] and (n_bid[pa] + n_ask[pa]) > 0:
                    requeue_after_image_nb(st, pa)
                    requeue[pa] = False
                bb = best_bid[pa]
                ba = best_ask[pa]
                # our lowest ask at or below the best bid, or highest bid at or above the best ask
                if cross_on and (bb >= rest[pa, 2] or ba <= rest[pa, 1]):
                    maker_on_cross_nb(st, tp, pa)
                    check = True
                both = bb != NO_BID and ba != NO_ASK
                usable[pa] = both and not gapped[pa]
                if both:
                    acct[pa, c.A_MID] = 0.5 * (bb + ba) * tick_size[pa]
                if bb != prev_top[pa, 0] or ba != prev_top[pa, 1]:
                    prev_top[pa, 0] = bb
                    prev_top[pa, 1] = ba
                    clock[c.CLK_TOP_CHANGED] = 1
            # equity sample and strategy call (written out here: one fewer call passing the whole state)
            if eq_iv > 0 and tp >= clock[c.CLK_NEXT_EQ] and clock[c.CLK_NEQ] < st.eq_ts.shape[0]:
                sample_equity_nb(st, tp)
                check = True
                clock[c.CLK_NEXT_EQ] = (tp // eq_iv + 1) * eq_iv
            reason = 0
            if sched & c.CALL_EVERY_EVENT:
                reason |= c.CALL_EVERY_EVENT
            if sched & c.CALL_INTERVAL and tp >= clock[c.CLK_NEXT_CALL]:
                reason |= c.CALL_INTERVAL
                clock[c.CLK_NEXT_CALL] = (tp // call_iv + 1) * call_iv
            if sched & c.CALL_TOP_CHANGE and clock[c.CLK_TOP_CHANGED] != 0:
                reason |= c.CALL_TOP_CHANGE
            if sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0:
                reason |= c.CALL_RESPONSE
            clock[c.CLK_TOP_CHANGED] = 0
            clock[c.CLK_RESPONDED] = 0
            if reason != 0:
                if guards_on:
                    guard_on_call_nb(st, tp)
                clock[c.CLK_CALL_REASON] = reason
                counters[c.C_CALLS] += 1
                counters[c.C_EVENTS] += events
                events = 0
                strategy(st, params, user)
                check = True
        if clock[c.CLK_RQ_N] > 0 and st.rq_i[clock[c.CLK_RQ_HEAD], c.Q_T] <= t:
            clock[c.CLK_NOW] = t
            process_requests_nb(st, t)
            check = True
        if clock[c.CLK_RS_N] > 0 and st.rs_i[clock[c.CLK_RS_HEAD], c.P_T] <= t:
            clock[c.CLK_NOW] = t
            deliver_responses_nb(st, t)
        # ---- apply the row ----
        asset_ts[a, 0] = t
        if k == KIND_DEPTH or k == KIND_SNAPSHOT:
            sd = side[r]
            q = qty[r]
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            if not centred[a]:
                base[a] = tick - L // 2
                centred[a] = True
            i = tick - base[a]
            if (i < 0 or i >= L) and n_bid[a] + n_ask[a] == 0 and q > 0.0:
                base[a] = tick - L // 2
                i = L // 2
            if i < 0 or i >= L:
                dropped[a] += 1
            else:
                if sd > 0:
                    old = bid_qty[a, i]
                    bid_qty[a, i] = q
                    if q > 0.0:
                        if old == 0.0:
                            n_bid[a] += 1
                        if tick > best_bid[a]:
                            best_bid[a] = tick
                    elif old > 0.0:
                        n_bid[a] -= 1
                        if tick == best_bid[a]:
                            nb = NO_BID
                            if n_bid[a] > 0:
                                j = i - 1
                                while j >= 0:
                                    if bid_qty[a, j] > 0.0:
                                        nb = base[a] + j
                                        break
                                    j -= 1
                            best_bid[a] = nb
                else:
                    old = ask_qty[a, i]
                    ask_qty[a, i] = q
                    if q > 0.0:
                        if old == 0.0:
                            n_ask[a] += 1
                        if tick < best_ask[a]:
                            best_ask[a] = tick
                    elif old > 0.0:
                        n_ask[a] -= 1
                        if tick == best_ask[a]:
                            na = NO_ASK
                            if n_ask[a] > 0:
                                j = i + 1
                                while j < L:
                                    if ask_qty[a, j] > 0.0:
                                        na = base[a] + j
                                        break
                                    j += 1
                            best_ask[a] = na
                if best_bid[a] != NO_BID or best_ask[a] != NO_ASK:
                    if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:
                        off = (best_bid[a] + best_ask[a]) // 2 - base[a]
                    elif best_bid[a] != NO_BID:
                        off = best_bid[a] - base[a]
                    else:
                        off = best_ask[a] - base[a]
                    if off < L // 4 or off > L - L // 4:
                        book_recenter_nb(b, a, off + base[a])
                if (sd > 0 and rest[a, 0] <= tick <= rest[a, 1]) or (sd < 0 and rest[a, 2] <= tick <= rest[a, 3]):
                    queue_on_depth_nb(oi, of, active, clock[c.CLK_N_ACTIVE], a, sd, tick, q, old, queue_model, queue_power)
            if clock[c.CLK_N_CONS] > 0:
                reset_consumed_nb(st, a, sd, tick)
        elif k == KIND_TRADE:
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:  # arrival rate by distance (for kappa fits)
                dist = abs(2 * tick - best_bid[a] - best_ask[a]) // 2
                trade_hist[a, min(dist, n_buckets - 1)] += 1.0
            if n_resting[a] > 0:
                agg = side[r]
                # a buyer reaches our asks at or below its price, a seller our bids at or above it
                if (agg >= 0 and tick >= rest[a, 2]) or (agg <= 0 and tick <= rest[a, 1]):
                    maker_on_trade_nb(st, t, a, agg, tick, qty[r])
                    check = True
        elif k == KIND_BBO:
            col = 0 if side[r] > 0 else 2
            if bbo[a, col] != price[r] or bbo[a, col + 1] != qty[r]:
                bbo[a, col] = price[r]
                bbo[a, col + 1] = qty[r]
                clock[c.CLK_TOP_CHANGED] = 1
        elif k == KIND_CLEAR:
            asset_ts[a, 2] = 0
            book_clear_nb(b, a)
            gapped[a] = False
            usable[a] = False
            if n_resting[a] > 0:
                requeue[a] = True
            if clock[c.CLK_N_CONS] > 0:
                reset_consumed_nb(st, a, 0, 0)
        elif k == KIND_GAP:
            if asset_ts[a, 2] == 0:
                asset_ts[a, 2] = t
            gapped[a] = True
            usable[a] = False
            counters[c.C_GAPS] += 1
        pa = a
        p_ts = t
        p_seq = seq[r]
        p_kind = mclass
        events += 1
    _save_pending_nb(clock, counters, events, messages, pa, p_ts, p_seq, p_kind)
    return n


@njit(types.void(ENGINE_STATE_TYPE, STRATEGY_FN_TYPE, types.float64[::1], types.float64[::1]), cache=True, nogil=True)
def finish_events_nb(st, strategy, params, user):
    """End of data: close the last message (its strategy call included)."""
    a = st.clock[c.CLK_PEND_ASSET]
    if a < 0:
        return
    st.clock[c.CLK_PEND_ASSET] = -1
    st.counters[c.C_MESSAGES] += 1
    end_message_nb(st, strategy, params, user, a, st.clock[c.CLK_PEND_TS], st.clock[c.CLK_PEND_KIND] == 0)


@njit(types.void(ENGINE_STATE_TYPE, *_event_array_types(True)[:6]), cache=True, nogil=True)
def warm_market_nb(st, ts, asset, kind, side, price, qty):
    """Apply rows before a replay window to the market only (books, flags, trade histogram).

    No strategy calls, orders, equity samples or counters: a window that starts mid-recording
    opens on the book as recorded up to its start, not on an empty one.
    """
    b = st.books
    for r in range(ts.shape[0]):
        a = asset[r]
        k = kind[r]
        t = ts[r]
        st.asset_ts[a, 0] = t
        if k == KIND_TRADE:
            if b.best_bid[a] != NO_BID and b.best_ask[a] != NO_ASK:
                tick = np.int64(np.floor(price[r] * b.inv_tick[a] + 0.5))
                dist = abs(2 * tick - b.best_bid[a] - b.best_ask[a]) // 2
                st.trade_hist[a, min(dist, st.trade_hist.shape[1] - 1)] += 1.0
        elif k == KIND_GAP:
            if st.asset_ts[a, 2] == 0:
                st.asset_ts[a, 2] = t
            st.gapped[a] = True
        else:
            book_apply_nb(b, a, k, side[r], price[r], qty[r])
            if k != KIND_BBO:
                st.asset_ts[a, 1] = t
            if k == KIND_CLEAR:
                st.gapped[a] = False
                st.asset_ts[a, 2] = 0
    for a in range(st.usable.shape[0]):
        both = b.best_bid[a] != NO_BID and b.best_ask[a] != NO_ASK
        st.usable[a] = both and not st.gapped[a]
        st.prev_top[a, 0] = b.best_bid[a]
        st.prev_top[a, 1] = b.best_ask[a]
        if both:
            st.acct[a, c.A_MID] = 0.5 * (b.best_bid[a] + b.best_ask[a]) * b.tick[a]

"""The batched hot loop: one pass over events drives K independent engine states.

Our orders never change the recorded book (own takes are remembered per state, in its
``cons`` table), so the book rebuild, the top of book, the usable flags and the trade
histogram are the same for every parameter set. Here they are done once per row on
arrays all K states share; each state keeps its own orders, latency rings, accounts,
fills, guards and random stream, and is touched only when something concerns it:

* a depth row at a tick inside one of its resting ranges, a trade or a book cross that
  can reach its orders (per asset, a union of the K ranges is checked first);
* work due before a row — a request, a response or one of its timers (``due_row``, its
  ``CLK_NEXT_DUE``; the same :func:`arbkit.engine.timers.advance_nb` as a single run) —,
  timer work or a strategy call due at a message end (``due_end``), a top-of-book change
  when its schedule asks for it;
* a mid move of an instrument it holds (the exact drawdown mark; ``sh_held``).

A set costs nothing while its next due time is ahead. Each state sees exactly the
sequence of calls :func:`arbkit.engine.loop.run_events_nb` makes for it alone (the kernel
contract in :mod:`arbkit.engine.loop`), so a batched run gives every set the fills (and
``fills_hash``) of its own replay; ``tests/engine/test_batch.py`` checks that.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types

from arbkit.book.ladder import (
    KIND_BBO,
    KIND_CLEAR,
    KIND_DEPTH,
    KIND_FUNDING,
    KIND_GAP,
    KIND_SNAPSHOT,
    KIND_TRADE,
    NO_ASK,
    NO_BID,
    book_clear_nb,
    book_recenter_nb,
)
from arbkit.engine import codes as c
from arbkit.engine.funding import FI_T, funding_row_nb, keep_funding_mark_nb, mark_price_nb
from arbkit.engine.guards import guard_on_call_nb, note_trade_volume_nb, volume_bucket_ns_nb
from arbkit.engine.loop import _event_array_types
from arbkit.engine.marks import holds_nb, mark_equity_nb
from arbkit.engine.matching import (
    cancel_resting_at_end_nb,
    maker_on_cross_nb,
    maker_on_trade_nb,
    queue_on_depth_nb,
    requeue_after_image_nb,
    reset_consumed_nb,
)
from arbkit.engine.state import ENGINE_STATE_TYPE, STRATEGY_FN_TYPE
from arbkit.engine.outcomes import settle_at_end_nb
from arbkit.engine.timers import advance_nb, buffers_full_nb, recompute_due_nb, timers_at_nb

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min

# -- the batch clock (int64 vector shared by the K states) ------------------------------------
(B_PEND_ASSET, B_PEND_TS, B_PEND_SEQ, B_PEND_KIND, B_EVENTS, B_MESSAGES, B_GAPS, B_GMIN_ROW, B_GMIN_END,
 B_N_CONS, B_N_REQUEUE, B_DRAIN, B_TOP_SETS, B_TOP_CHANGED, B_LAST_T, B_CROSSED, B_CROSS_TS, B_CROSS_ASSET,
 B_CROSS_ROW, B_ERROR, B_ALLOW_CROSSED) = range(21)
N_BCLOCK = 21

STATES_TYPE = types.ListType(ENGINE_STATE_TYPE)


@njit(cache=True)
def _settle_orders_nb(st, k, sh_rest, sh_nrest, has_cons, ubound, bclock, sh_held, n_held):
    """After the exchange side of state ``k`` ran (requests, fills): copy out its resting ranges, own takes, holdings.

    The state's arrays are read into locals once: every ``st.x`` read takes and drops an atomic
    reference count, which in a loop over assets cost more than the copying (perf, bench_sweep)."""
    rest = st.rest
    acct = st.acct
    inst = st.inst
    n_resting = st.n_resting
    n = rest.shape[0]
    for a in range(n):
        h = holds_nb(acct, inst, a)
        if h != sh_held[a, k]:
            sh_held[a, k] = h
            n_held[a] += 1 if h else -1
        sh_nrest[a, k] = n_resting[a]
        for j in range(4):
            v = rest[a, j]
            sh_rest[a, j, k] = v
            if j % 2 == 0:
                if v < ubound[a, j]:
                    ubound[a, j] = v
            elif v > ubound[a, j]:
                ubound[a, j] = v
    cons = st.clock[c.CLK_N_CONS] > 0
    if cons != has_cons[k]:
        has_cons[k] = cons
        bclock[B_N_CONS] += 1 if cons else -1


@njit(cache=True)
def _settle_times_nb(st, k, due_row, due_end, bclock):
    """After anything ran for state ``k``: when it next needs a look before a row, and at a message end."""
    clock = st.clock
    d = clock[c.CLK_NEXT_DUE]
    due_row[k] = d
    if d < bclock[B_GMIN_ROW]:
        bclock[B_GMIN_ROW] = d
    sched = st.cfg_i[c.G_SCHEDULE]
    e = clock[c.CLK_NEXT_TIMER]
    if sched & c.CALL_EVERY_EVENT or (sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0):
        e = I64_MIN
    due_end[k] = e
    if e < bclock[B_GMIN_END]:
        bclock[B_GMIN_END] = e
    if buffers_full_nb(st):
        bclock[B_DRAIN] = 1


@njit(cache=True)
def _sync_mid_nb(st, mid):
    acct = st.acct  # one reference count, not one per asset
    for a in range(mid.shape[0]):
        acct[a, c.A_MID] = mid[a]


@njit(cache=True)
def _tighten_nb(ubound, sh_rest, a):
    """Recompute asset ``a``'s union of resting ranges exactly (it only ever widens in :func:`_settle_orders_nb`)."""
    K = sh_rest.shape[2]
    for j in range(4):
        v = I64_MAX if j % 2 == 0 else I64_MIN
        for k in range(K):
            x = sh_rest[a, j, k]
            if j % 2 == 0:
                if x < v:
                    v = x
            elif x > v:
                v = x
        ubound[a, j] = v


@njit(cache=True, inline="always")
def _message_end_nb(states, strategy, params, users, mid, sh_rest, sh_nrest, sh_requeue, due_row, due_end, has_cons,
                    ubound, bclock, sh_held, n_held, best_bid, best_ask, n_bid, n_ask, tick_size, usable, gapped,
                    prev_top, asset_ts, cross_on, pa, tp, book_message):
    """A message of asset ``pa`` at ``tp`` is complete: shared book bookkeeping once, then each state that is due.

    Inlined (into the loop and the end of data) and given the shared arrays one by one: a
    call per message, or reading the book out of a state, would cost more than the work.
    """
    K = len(states)
    bclock[B_LAST_T] = tp
    if book_message:
        asset_ts[pa, 1] = tp
        if bclock[B_N_REQUEUE] > 0 and (n_bid[pa] + n_ask[pa]) > 0:
            for k in range(K):
                if sh_requeue[pa, k]:
                    sh_requeue[pa, k] = False
                    bclock[B_N_REQUEUE] -= 1
                    requeue_after_image_nb(states.getitem_unchecked(k), pa)
        bb = best_bid[pa]
        ba = best_ask[pa]
        if cross_on and (bb >= ubound[pa, 2] or ba <= ubound[pa, 1]):
            hits = 0
            for k in range(K):
                if bb >= sh_rest[pa, 2, k] or ba <= sh_rest[pa, 1, k]:
                    hits += 1
                    st = states.getitem_unchecked(k)
                    _sync_mid_nb(st, mid)
                    st.clock[c.CLK_NOW] = tp
                    maker_on_cross_nb(st, tp, pa)
                    _settle_orders_nb(st, k, sh_rest, sh_nrest, has_cons, ubound, bclock, sh_held, n_held)
                    _settle_times_nb(st, k, due_row, due_end, bclock)
            if hits == 0:
                _tighten_nb(ubound, sh_rest, pa)
        if bb >= ba:  # a crossed book (an empty side never compares so)
            bclock[B_CROSSED] += 1
            if bclock[B_CROSS_ASSET] < 0:
                bclock[B_CROSS_TS] = tp
                bclock[B_CROSS_ASSET] = pa
                bclock[B_CROSS_ROW] = bclock[B_EVENTS] - 1
            if bclock[B_ALLOW_CROSSED] == 0:
                bclock[B_ERROR] = c.E_CROSSED
                bclock[B_DRAIN] = 1
        both = bb != NO_BID and ba != NO_ASK
        usable[pa] = both and not gapped[pa]
        if both:
            m = 0.5 * (bb + ba) * tick_size[pa]
            if m != mid[pa]:
                mid[pa] = m
                if n_held[pa] > 0:  # the exact drawdown marks of the sets holding it
                    for k in range(K):
                        if sh_held[pa, k]:
                            st = states.getitem_unchecked(k)
                            _sync_mid_nb(st, mid)
                            mark_equity_nb(st.acct, st.inst, st.marks, pa)
        if bb != prev_top[pa, 0] or ba != prev_top[pa, 1]:
            prev_top[pa, 0] = bb
            prev_top[pa, 1] = ba
            bclock[B_TOP_CHANGED] = 1
    top = bclock[B_TOP_CHANGED] != 0
    bclock[B_TOP_CHANGED] = 0
    if tp >= bclock[B_GMIN_END] or (top and bclock[B_TOP_SETS] > 0):
        _ends_due_nb(states, strategy, params, users, mid, due_end, due_row, bclock, tp, top)


@njit(cache=True)
def _ends_due_nb(states, strategy, params, users, mid, due_end, due_row, bclock, tp, top):
    """The per-state half of a message end: timers (equity sample, kill-switch deadlines) and the strategy call."""
    K = len(states)
    gmin = I64_MAX
    for k in range(K):
        if tp < due_end[k] and not top:
            if due_end[k] < gmin:
                gmin = due_end[k]
            continue
        st = states.getitem_unchecked(k)
        clock = st.clock
        sched = st.cfg_i[c.G_SCHEDULE]
        reason = 0
        if sched & c.CALL_EVERY_EVENT:
            reason |= c.CALL_EVERY_EVENT
        if sched & c.CALL_TOP_CHANGE and top:
            reason |= c.CALL_TOP_CHANGE
        if sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0:
            reason |= c.CALL_RESPONSE
        clock[c.CLK_RESPONDED] = 0
        timers = tp >= clock[c.CLK_NEXT_TIMER]
        if timers or reason != 0:
            clock[c.CLK_NOW] = tp
            clock[c.CLK_LAST_T] = tp
            _sync_mid_nb(st, mid)
            if timers:
                reason |= timers_at_nb(st, tp)
                recompute_due_nb(st)
            if reason != 0:
                if st.guard_cfg[c.RG_ON] != 0.0:
                    guard_on_call_nb(st, tp)
                clock[c.CLK_CALL_REASON] = reason
                clock[c.CLK_LAST_CALL_T] = tp
                st.counters[c.C_CALLS] += 1
                strategy(st, params[k], users[k])
        _settle_times_nb(st, k, due_row, due_end, bclock)  # a strategy only sends requests; resting ranges wait
        if due_end[k] < gmin:
            gmin = due_end[k]
    bclock[B_GMIN_END] = gmin


@njit(cache=True)
def _funding_row_sets_nb(states, due_row, bclock, a, t, rate, when):
    """A FUNDING row for every set: its announced rate, and its due bound lowered to the funding time."""
    started = bclock[B_LAST_T] != I64_MIN
    for k in range(len(states)):
        st = states.getitem_unchecked(k)
        funding_row_nb(st, a, t, rate, when, started)
        if started and st.clock[c.CLK_NEXT_DUE] < due_row[k]:
            due_row[k] = st.clock[c.CLK_NEXT_DUE]
            if due_row[k] < bclock[B_GMIN_ROW]:
                bclock[B_GMIN_ROW] = due_row[k]


@njit(cache=True)
def _mark_row_sets_nb(states, mid, a, t, price):
    """A MARK row: the shared last mark once; in ``mark: mark_price`` mode every set's equity price too."""
    st0 = states.getitem_unchecked(0)
    if st0.fund_i[a, FI_T] <= t:  # a funding time passed, not paid yet (every set has it): each keeps its mark
        for k in range(len(states)):
            keep_funding_mark_nb(states.getitem_unchecked(k), a, t)
    st0.mark_px[a] = price
    if st0.cfg_i[c.G_MARK] == c.MARK_PRICE:
        for k in range(len(states)):
            st = states.getitem_unchecked(k)
            _sync_mid_nb(st, mid)  # the drawdown mark sums every asset's equity
            mark_price_nb(st, a, price)


def _batch_sigs():
    sigs = []
    for ro in (False, True):
        sigs.append(types.int64(STATES_TYPE, STRATEGY_FN_TYPE, types.float64[:, ::1], types.float64[:, ::1], types.float64[::1],
                                types.int64[:, :, ::1], types.int64[:, ::1], types.boolean[:, ::1], types.int64[::1],
                                types.int64[::1], types.boolean[::1], types.int64[:, ::1], types.int64[::1],
                                types.boolean[:, ::1], types.int64[::1], *_event_array_types(ro), types.int64))
    return sigs


@njit(_batch_sigs(), cache=True, nogil=True)
def run_batch_events_nb(states, strategy, params, users, mid, sh_rest, sh_nrest, sh_requeue, due_row, due_end, has_cons,
                        ubound, bclock, sh_held, n_held, ts, asset, kind, side, price, qty, seq, start):
    """Process rows ``start..`` of one chunk for all K states. Returns the next row (``len`` when done).

    Returns early, before a row, when some state's output buffers need draining or it hit
    an error; calling again with the returned row continues exactly.
    """
    n = ts.shape[0]
    K = len(states)
    st0 = states.getitem_unchecked(0)
    b = st0.books
    bid_qty = b.bid_qty
    ask_qty = b.ask_qty
    base = b.base
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    centred = b.centred
    dropped = b.dropped
    tick_size = b.tick
    bbo = b.bbo
    inv_tick = b.inv_tick
    L = bid_qty.shape[1]
    asset_ts = st0.asset_ts
    gapped = st0.gapped
    usable = st0.usable
    prev_top = st0.prev_top
    trade_hist = st0.trade_hist
    n_buckets = trade_hist.shape[1]
    vol_ring = st0.vol_ring  # shared market data, like the books (every set has the same guards)
    vol_width = volume_bucket_ns_nb(st0.guard_cfg)
    queue_model = st0.cfg_i[c.G_QUEUE]
    queue_power = st0.cfg_f[c.H_QUEUE_POWER]
    cross_on = st0.cfg_i[c.G_CROSS] != 0
    for r in range(start, n):
        if bclock[B_DRAIN] != 0:
            bclock[B_DRAIN] = 0
            return r
        t = ts[r]
        a = asset[r]
        k_ = kind[r]
        if k_ >= KIND_FUNDING:
            # funding hook (engine.funding), on every FUNDING / MARK row; no message, no clock step (as in
            # loop.run_events_nb): a FUNDING row goes to every set's own funding state and lowers its due time
            # (due_row, B_GMIN_ROW) to the funding time (each pays on its own position); a MARK row to the shared
            # last mark
            if k_ == KIND_FUNDING:
                _funding_row_sets_nb(states, due_row, bclock, a, t, price[r], seq[r])
            else:
                _mark_row_sets_nb(states, mid, a, t, price[r])
            continue
        mclass = 0 if (k_ == KIND_DEPTH or k_ == KIND_SNAPSHOT or k_ == KIND_CLEAR) else np.int64(k_)
        pa = bclock[B_PEND_ASSET]
        if pa >= 0 and not (pa == a and bclock[B_PEND_TS] == t and bclock[B_PEND_SEQ] == seq[r]
                            and bclock[B_PEND_KIND] == mclass):
            bclock[B_MESSAGES] += 1
            bclock[B_PEND_ASSET] = -1
            _message_end_nb(states, strategy, params, users, mid, sh_rest, sh_nrest, sh_requeue, due_row, due_end,
                            has_cons, ubound, bclock, sh_held, n_held, best_bid, best_ask, n_bid, n_ask, tick_size,
                            usable, gapped, prev_top, asset_ts, cross_on, pa, bclock[B_PEND_TS],
                            bclock[B_PEND_KIND] == 0)
        if t >= bclock[B_GMIN_ROW]:
            # work due before this row, per set, each at its own time (requests, responses, timers)
            gmin = I64_MAX
            stopped = False
            for k in range(K):
                if due_row[k] <= t:
                    st = states.getitem_unchecked(k)
                    _sync_mid_nb(st, mid)
                    st.clock[c.CLK_LAST_T] = bclock[B_LAST_T]  # the last message end (sets look only when due)
                    if not advance_nb(st, strategy, params[k], users[k], t, True):
                        stopped = True
                    _settle_orders_nb(st, k, sh_rest, sh_nrest, has_cons, ubound, bclock, sh_held, n_held)
                    _settle_times_nb(st, k, due_row, due_end, bclock)
                if due_row[k] < gmin:
                    gmin = due_row[k]
            bclock[B_GMIN_ROW] = gmin
            if stopped:
                bclock[B_DRAIN] = 0
                return r
        # ---- apply the row: the shared book once, then the states it concerns ----
        asset_ts[a, 0] = t
        if k_ == KIND_DEPTH or k_ == KIND_SNAPSHOT:
            sd = side[r]
            q = qty[r]
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            # the ladder update, written out as in loop.run_events_nb and ladder.book_set_nb (a call passing the
            # arrays per row made the loop three times slower, even with inline="always")
            # --- copy: ladder-update (begin)
            if not centred[a]:
                base[a] = tick - L // 2
                centred[a] = True
            i = tick - base[a]
            if (i < 0 or i >= L) and n_bid[a] + n_ask[a] == 0 and q > 0.0:
                base[a] = tick - L // 2
                i = L // 2
            old = -1.0
            moved = False  # a best price moved: only then can the window need recentring
            if i < 0 or i >= L:
                dropped[a] += 1
            else:
                if sd > 0:
                    old = bid_qty[a, i]
                    bid_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_bid[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick > best_bid[a]):
                        best_bid[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_bid[a]):
                        nb = NO_BID
                        if n_bid[a] > 0:
                            j = i - 1
                            while j >= 0:
                                if bid_qty[a, j] > 0.0:
                                    nb = base[a] + j
                                    break
                                j -= 1
                        best_bid[a] = nb
                        moved = True
                else:
                    old = ask_qty[a, i]
                    ask_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_ask[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick < best_ask[a]):
                        best_ask[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_ask[a]):
                        na = NO_ASK
                        if n_ask[a] > 0:
                            j = i + 1
                            while j < L:
                                if ask_qty[a, j] > 0.0:
                                    na = base[a] + j
                                    break
                                j += 1
                        best_ask[a] = na
                        moved = True
                if moved and (best_bid[a] != NO_BID or best_ask[a] != NO_ASK):
                    if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:
                        off = (best_bid[a] + best_ask[a]) // 2 - base[a]
                    elif best_bid[a] != NO_BID:
                        off = best_bid[a] - base[a]
                    else:
                        off = best_ask[a] - base[a]
                    if off < L // 4 or off > L - L // 4:
                        book_recenter_nb(b, a, off + base[a])
            # --- copy: ladder-update (end)
            j0 = 0 if sd > 0 else 2
            if old >= 0.0 and ubound[a, j0] <= tick <= ubound[a, j0 + 1]:  # some state may rest at this level
                hits = 0
                for k in range(K):
                    if sh_rest[a, j0, k] <= tick <= sh_rest[a, j0 + 1, k]:
                        hits += 1
                        st = states.getitem_unchecked(k)
                        queue_on_depth_nb(st.oi, st.of, st.active, st.clock[c.CLK_N_ACTIVE], a, sd, tick, q, old,
                                          queue_model, queue_power)
                if hits == 0:
                    _tighten_nb(ubound, sh_rest, a)
            if bclock[B_N_CONS] > 0:
                for k in range(K):
                    if has_cons[k]:
                        st = states.getitem_unchecked(k)
                        reset_consumed_nb(st, a, sd, tick)
                        if st.clock[c.CLK_N_CONS] == 0:
                            has_cons[k] = False
                            bclock[B_N_CONS] -= 1
        elif k_ == KIND_TRADE:
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:
                dist = abs(2 * tick - best_bid[a] - best_ask[a]) // 2
                trade_hist[a, min(dist, n_buckets - 1)] += 1.0
            if vol_width > 0:  # the volume guard's traded volume, as in loop.run_events_nb
                note_trade_volume_nb(vol_ring, a, t, qty[r], vol_width)
            agg = side[r]
            if (agg >= 0 and tick >= ubound[a, 2]) or (agg <= 0 and tick <= ubound[a, 1]):
                hits = 0
                for k in range(K):
                    if sh_nrest[a, k] > 0 and ((agg >= 0 and tick >= sh_rest[a, 2, k])
                                               or (agg <= 0 and tick <= sh_rest[a, 1, k])):
                        hits += 1
                        st = states.getitem_unchecked(k)
                        _sync_mid_nb(st, mid)
                        maker_on_trade_nb(st, t, a, agg, tick, qty[r])
                        _settle_orders_nb(st, k, sh_rest, sh_nrest, has_cons, ubound, bclock, sh_held, n_held)
                        _settle_times_nb(st, k, due_row, due_end, bclock)
                if hits == 0:
                    _tighten_nb(ubound, sh_rest, a)
        elif k_ == KIND_BBO:
            col = 0 if side[r] > 0 else 2
            if bbo[a, col] != price[r] or bbo[a, col + 1] != qty[r]:
                bbo[a, col] = price[r]
                bbo[a, col + 1] = qty[r]
                bclock[B_TOP_CHANGED] = 1
        elif k_ == KIND_CLEAR:
            asset_ts[a, 2] = 0
            book_clear_nb(b, a)
            gapped[a] = False
            usable[a] = False
            for k in range(K):
                if sh_nrest[a, k] > 0 and not sh_requeue[a, k]:
                    sh_requeue[a, k] = True
                    bclock[B_N_REQUEUE] += 1
            if bclock[B_N_CONS] > 0:
                for k in range(K):
                    if has_cons[k]:
                        st = states.getitem_unchecked(k)
                        reset_consumed_nb(st, a, 0, 0)
                        if st.clock[c.CLK_N_CONS] == 0:
                            has_cons[k] = False
                            bclock[B_N_CONS] -= 1
        elif k_ == KIND_GAP:
            if asset_ts[a, 2] == 0:
                asset_ts[a, 2] = t
            gapped[a] = True
            usable[a] = False
            bclock[B_GAPS] += 1
        bclock[B_PEND_ASSET] = a
        bclock[B_PEND_TS] = t
        bclock[B_PEND_SEQ] = seq[r]
        bclock[B_PEND_KIND] = mclass
        bclock[B_EVENTS] += 1
    return n


@njit(types.void(STATES_TYPE, STRATEGY_FN_TYPE, types.float64[:, ::1], types.float64[:, ::1], types.float64[::1],
                 types.int64[:, :, ::1], types.int64[:, ::1], types.boolean[:, ::1], types.int64[::1],
                 types.int64[::1], types.boolean[::1], types.int64[:, ::1], types.int64[::1], types.boolean[:, ::1],
                 types.int64[::1]), cache=True, nogil=True)
def finish_batch_events_nb(states, strategy, params, users, mid, sh_rest, sh_nrest, sh_requeue, due_row, due_end,
                           has_cons, ubound, bclock, sh_held, n_held):
    """End of data: close the last message for every state, cancel what still rests, give each its final mids."""
    pa = bclock[B_PEND_ASSET]
    if pa >= 0:
        st0 = states.getitem_unchecked(0)
        b = st0.books
        bclock[B_PEND_ASSET] = -1
        bclock[B_MESSAGES] += 1
        _message_end_nb(states, strategy, params, users, mid, sh_rest, sh_nrest, sh_requeue, due_row, due_end, has_cons,
                        ubound, bclock, sh_held, n_held, b.best_bid, b.best_ask, b.n_bid, b.n_ask, b.tick, st0.usable,
                        st0.gapped, st0.prev_top, st0.asset_ts, st0.cfg_i[c.G_CROSS] != 0, pa, bclock[B_PEND_TS],
                        bclock[B_PEND_KIND] == 0)
    t = bclock[B_LAST_T]
    for k in range(len(states)):
        st = states.getitem_unchecked(k)
        _sync_mid_nb(st, mid)
        if t != I64_MIN:
            st.clock[c.CLK_LAST_T] = t
            st.clock[c.CLK_NOW] = t
            cancel_resting_at_end_nb(st, t)
            settle_at_end_nb(st, t)

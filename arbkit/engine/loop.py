"""The hot loop: one pass over events in ts_local order, all assets on one clock.

The kernel contract (this loop, the batched kernel in :mod:`arbkit.engine.batch_loop` and
the plain-Python reference engine in the tests follow it exactly):

* Rows are grouped into messages: the run of rows with the same asset, ts_local and seq
  (book rows together, other kinds by kind). A message's end is found by looking at the
  next row, so it is carried across chunk boundaries: results do not depend on chunking.
* When a message at ``tp`` ends: book bookkeeping (re-queue after a CLEAR, crossing fills,
  the crossed-book check, usable flag, mid — and the exact drawdown mark when the mid of an
  instrument held moved —, top-change flag); then timer work due at or before ``tp``
  (equity sample, kill-switch deadlines); then at most one strategy call, whose reason bits
  are ``CALL_EVERY_EVENT`` / ``CALL_TOP_CHANGE`` / ``CALL_RESPONSE`` as scheduled, plus
  ``CALL_INTERVAL`` and ``CALL_WAKE`` when due. Timer work due exactly at a message's time
  fires at that message's end, after its rows (the strategy sees the event).
* Before a row at ``t`` (:func:`arbkit.engine.timers.advance_nb`): everything due before
  ``t`` happens at its own time ``d``, in time order, with ``now = d``: at each instant the
  requests reaching the exchange by ``d``, then the responses due by ``d``, then (``d < t``)
  timer work due by ``d`` — equity sample, kill-switch deadlines (a feed silence trips the
  switch at last event + ``max_gap_ms``, a GAP at its start + ``max_gap_ms``, a stale book
  at its last book message + ``stale_book_ms``, and the trip sends its cancels then), and
  one strategy call carrying only ``CALL_INTERVAL`` / ``CALL_WAKE`` / ``CALL_RESPONSE``.
  Requests and responses due exactly at ``t`` are handled before the row; a call for a
  response due exactly at ``t`` happens at the end of the message at ``t``. A response
  arriving at the instant of the strategy's last call (zero latency) does not call it again
  at that instant: it carries ``CALL_RESPONSE`` into the next call (so zero latency cannot
  make a strategy loop without time passing).
* Binary markets with a known winner pay out at their resolution time: a timer
  (``CLK_NEXT_SETTLE``, folded into ``CLK_NEXT_TIMER`` / ``CLK_NEXT_DUE`` by ``timer_due_nb``
  and ``advance_nb``, never paused by ``max_silence_s``) run first in ``timers_at_nb``; it needs
  no per-row work. A resolution after the data pays out in ``finish_events_nb`` (and the
  batched finish) after the end-of-data cancels. Sells beyond the tokens held and merges are
  strategy-side (``api``), shared by both loops. Liquidity-reward samples
  (:mod:`arbkit.engine.rewards`) are a timer of the same kind (``CLK_NEXT_REWARD``, max int when
  off), run right after the payouts; there are none at the end of the data.
* Then the row updates its book and our resting orders (queue positions, trade fills).
* FUNDING and MARK rows (:mod:`arbkit.engine.funding`) are no message and move no clock:
  they call no strategy, are not counted as events, do not end the open message and do no
  due work; they set the asset's announced funding rate (the funding time joins
  ``CLK_NEXT_DUE``) or its last mark price. So a run's fills never depend on them being there.
  A funding time ``T`` is due work like a request: paid before anything else at ``T`` (before
  requests and responses at ``T``, and before a row at ``T``), on the position held then,
  at the last rate and mark from rows with ``ts_local < T`` (a MARK row at or after ``T``
  arriving before ``T`` is paid leaves that mark to later funding times).
* Nothing fires before the first message ends, and nothing after the last event of the
  data (or of a window), unless the driver moves the clock on (``Replayer.advance_to``:
  paper trading's wall clock). At the very end orders still resting are cancelled by the
  exchange (``end_of_data``).

Per row the loop compares the row's time with one cached bound (``CLK_NEXT_DUE``); it is
lowered at once when a request, a response or a wake-up is added and recomputed when due
work is used up, so it may be early (a look that finds nothing) but never late.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types

from arbkit.engine import codes as c
from arbkit.book.ladder import (KIND_BBO, KIND_CLEAR, KIND_DEPTH, KIND_FUNDING, KIND_GAP, KIND_MARK, KIND_SNAPSHOT,
                                KIND_TRADE, NO_ASK, NO_BID, book_apply_nb, book_clear_nb, book_recenter_nb)
from arbkit.engine.funding import funding_row_nb, mark_row_nb
from arbkit.engine.marks import mark_equity_nb
from arbkit.engine.matching import (cancel_resting_at_end_nb, maker_on_cross_nb, maker_on_trade_nb, queue_on_depth_nb,
                                    requeue_after_image_nb, reset_consumed_nb)
from arbkit.engine.guards import guard_on_call_nb, note_trade_volume_nb, volume_bucket_ns_nb
from arbkit.engine.outcomes import settle_at_end_nb
from arbkit.engine.state import ENGINE_STATE_TYPE, STRATEGY_FN_TYPE
from arbkit.engine.timers import (BUFFER_MARGIN, advance_nb, buffers_full_nb, recompute_due_nb,  # noqa: F401
                                  sample_equity_nb, timers_at_nb)

I64_MIN = np.iinfo(np.int64).min


@njit(cache=True)
def crossed_book_nb(st, a, t, row):
    """A book message of asset ``a`` left best bid >= best ask: count it, keep the first, stop unless allowed."""
    st.counters[c.C_CROSSED] += 1
    if st.clock[c.CLK_CROSS_ASSET] < 0:
        st.clock[c.CLK_CROSS_TS] = t
        st.clock[c.CLK_CROSS_ASSET] = a
        st.clock[c.CLK_CROSS_ROW] = row
    if st.cfg_i[c.G_ALLOW_CROSSED] == 0:
        st.clock[c.CLK_ERROR] = c.E_CROSSED


@njit(cache=True)
def end_message_nb(st, strategy, params, user, pa, tp, p_kind):
    """A message of asset ``pa`` at ``tp`` is complete: book bookkeeping, timers, the strategy call.

    ``run_events_nb`` does the same written out (a call per message costs ~25% of the loop's
    time); this form closes a message outside the row loop (the end of the data, the clock
    moved on by the driver). ``tests/engine/test_copies.py`` checks the two are the same text.
    """
    clock = st.clock
    counters = st.counters
    b = st.books
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    tick_size = b.tick
    acct = st.acct
    inst = st.inst
    marks = st.marks
    prev_top = st.prev_top
    usable = st.usable
    gapped = st.gapped
    requeue = st.requeue
    rest = st.rest
    asset_ts = st.asset_ts
    guards_on = st.guard_cfg[c.RG_ON] != 0.0
    cross_on = st.cfg_i[c.G_CROSS] != 0
    sched = st.cfg_i[c.G_SCHEDULE]
    check = False
    # --- copy: message-end (begin)
    clock[c.CLK_NOW] = tp
    clock[c.CLK_LAST_T] = tp
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
        if bb >= ba:  # a crossed book (an empty side never compares so)
            crossed_book_nb(st, pa, tp, counters[c.C_EVENTS] - 1)
            check = True
        both = bb != NO_BID and ba != NO_ASK
        usable[pa] = both and not gapped[pa]
        if both:
            m = 0.5 * (bb + ba) * tick_size[pa]
            if m != acct[pa, c.A_MID]:
                acct[pa, c.A_MID] = m
                if acct[pa, c.A_POS_U] != 0.0 or (inst[pa, c.I_INVERSE] > 0.0 and acct[pa, c.A_CASH] != 0.0):
                    mark_equity_nb(acct, inst, marks, pa)
        if bb != prev_top[pa, 0] or ba != prev_top[pa, 1]:
            prev_top[pa, 0] = bb
            prev_top[pa, 1] = ba
            clock[c.CLK_TOP_CHANGED] = 1
    reason = 0
    if sched & c.CALL_EVERY_EVENT:
        reason |= c.CALL_EVERY_EVENT
    if sched & c.CALL_TOP_CHANGE and clock[c.CLK_TOP_CHANGED] != 0:
        reason |= c.CALL_TOP_CHANGE
    if sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0:
        reason |= c.CALL_RESPONSE
    clock[c.CLK_TOP_CHANGED] = 0
    clock[c.CLK_RESPONDED] = 0
    if tp >= clock[c.CLK_NEXT_TIMER]:
        reason |= timers_at_nb(st, tp)
        recompute_due_nb(st)
        check = True
    if reason != 0:
        if guards_on:
            guard_on_call_nb(st, tp)
        clock[c.CLK_CALL_REASON] = reason
        clock[c.CLK_LAST_CALL_T] = tp
        counters[c.C_CALLS] += 1
        strategy(st, params, user)
        check = True
    # --- copy: message-end (end)
    return check


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
    arrays taken from the state once, so the compiler keeps them in registers; the ladder
    update is the same text as ``ladder.book_set_nb``, the book scanner's and the
    batched kernel's, the message end as :func:`end_message_nb` (``# --- copy:`` markers;
    ``tests/engine/test_copies.py`` compares them). Anything rarer (fills, requests,
    responses, timers) calls out with ``st``.
    """
    n = ts.shape[0]
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
    inst = st.inst
    marks = st.marks
    prev_top = st.prev_top
    usable = st.usable
    gapped = st.gapped
    requeue = st.requeue
    rest = st.rest
    asset_ts = st.asset_ts
    trade_hist = st.trade_hist
    n_buckets = trade_hist.shape[1]
    vol_ring = st.vol_ring
    vol_width = volume_bucket_ns_nb(st.guard_cfg)  # 0: no guard reads traded volume, rows skip the ring
    guards_on = st.guard_cfg[c.RG_ON] != 0.0
    queue_model = cfg_i[c.G_QUEUE]
    queue_power = st.cfg_f[c.H_QUEUE_POWER]
    cross_on = cfg_i[c.G_CROSS] != 0
    sched = cfg_i[c.G_SCHEDULE]
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
            if buffers_full_nb(st):
                _save_pending_nb(clock, counters, events, messages, pa, p_ts, p_seq, p_kind)
                return r
        t = ts[r]
        a = asset[r]
        k = kind[r]
        if k >= KIND_FUNDING:
            # funding hook (engine.funding), on every FUNDING / MARK row: no message, no event, no clock step (the
            # open message goes on; nothing due is done): it sets the asset's announced rate (its funding time joins
            # CLK_FUND_DUE and CLK_NEXT_DUE, paid before the next row at or after it) or its last mark (keeping the
            # mark of a funding time already passed and not yet paid)
            if k == KIND_FUNDING:
                funding_row_nb(st, a, t, price[r], seq[r], clock[c.CLK_LAST_T] != I64_MIN)
            else:
                mark_row_nb(st, a, t, price[r])
            continue
        mclass = 0 if (k == KIND_DEPTH or k == KIND_SNAPSHOT or k == KIND_CLEAR) else np.int64(k)
        if pa >= 0 and not (pa == a and p_ts == t and p_seq == seq[r] and p_kind == mclass):
            # ---- the previous message ended: bookkeeping, timers, maybe the strategy ----
            tp = p_ts
            messages += 1
            counters[c.C_EVENTS] += events
            events = 0
            # --- copy: message-end (begin)
            clock[c.CLK_NOW] = tp
            clock[c.CLK_LAST_T] = tp
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
                if bb >= ba:  # a crossed book (an empty side never compares so)
                    crossed_book_nb(st, pa, tp, counters[c.C_EVENTS] - 1)
                    check = True
                both = bb != NO_BID and ba != NO_ASK
                usable[pa] = both and not gapped[pa]
                if both:
                    m = 0.5 * (bb + ba) * tick_size[pa]
                    if m != acct[pa, c.A_MID]:
                        acct[pa, c.A_MID] = m
                        if acct[pa, c.A_POS_U] != 0.0 or (inst[pa, c.I_INVERSE] > 0.0 and acct[pa, c.A_CASH] != 0.0):
                            mark_equity_nb(acct, inst, marks, pa)
                if bb != prev_top[pa, 0] or ba != prev_top[pa, 1]:
                    prev_top[pa, 0] = bb
                    prev_top[pa, 1] = ba
                    clock[c.CLK_TOP_CHANGED] = 1
            reason = 0
            if sched & c.CALL_EVERY_EVENT:
                reason |= c.CALL_EVERY_EVENT
            if sched & c.CALL_TOP_CHANGE and clock[c.CLK_TOP_CHANGED] != 0:
                reason |= c.CALL_TOP_CHANGE
            if sched & c.CALL_RESPONSE and clock[c.CLK_RESPONDED] != 0:
                reason |= c.CALL_RESPONSE
            clock[c.CLK_TOP_CHANGED] = 0
            clock[c.CLK_RESPONDED] = 0
            if tp >= clock[c.CLK_NEXT_TIMER]:
                reason |= timers_at_nb(st, tp)
                recompute_due_nb(st)
                check = True
            if reason != 0:
                if guards_on:
                    guard_on_call_nb(st, tp)
                clock[c.CLK_CALL_REASON] = reason
                clock[c.CLK_LAST_CALL_T] = tp
                counters[c.C_CALLS] += 1
                strategy(st, params, user)
                check = True
            # --- copy: message-end (end)
            pa = -1
        if t >= clock[c.CLK_NEXT_DUE]:
            # ---- work due before this row, each at its own time (requests, responses, timers) ----
            counters[c.C_EVENTS] += events
            events = 0
            check = True
            if not advance_nb(st, strategy, params, user, t, True):
                _save_pending_nb(clock, counters, events, messages, pa, p_ts, p_seq, p_kind)
                return r
        # ---- apply the row ----
        asset_ts[a, 0] = t
        if k == KIND_DEPTH or k == KIND_SNAPSHOT:
            sd = side[r]
            q = qty[r]
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
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
            if old >= 0.0 and ((sd > 0 and rest[a, 0] <= tick <= rest[a, 1])
                               or (sd < 0 and rest[a, 2] <= tick <= rest[a, 3])):
                queue_on_depth_nb(oi, of, active, clock[c.CLK_N_ACTIVE], a, sd, tick, q, old, queue_model, queue_power)
            if clock[c.CLK_N_CONS] > 0:
                reset_consumed_nb(st, a, sd, tick)
        elif k == KIND_TRADE:
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:  # arrival rate by distance (for kappa fits)
                dist = abs(2 * tick - best_bid[a] - best_ask[a]) // 2
                trade_hist[a, min(dist, n_buckets - 1)] += 1.0
            # the volume guard's traded volume: market data, kept per row (no due time: it is read at submit)
            if vol_width > 0:
                note_trade_volume_nb(vol_ring, a, t, qty[r], vol_width)
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


_CALL_SIG = (ENGINE_STATE_TYPE, STRATEGY_FN_TYPE, types.float64[::1], types.float64[::1])


@njit(types.boolean(*_CALL_SIG, types.int64), cache=True, nogil=True)
def advance_clock_nb(st, strategy, params, user, t):
    """Move the clock to ``t`` with no row: the driver promises every later row has ts_local >= ``t``.

    The pending message is closed first when it is before ``t`` (it cannot go on), then the
    work due before ``t`` is done (:func:`arbkit.engine.timers.advance_nb`). False when it
    stopped to drain the buffers; call again with the same ``t``.
    """
    a = st.clock[c.CLK_PEND_ASSET]
    if a >= 0 and st.clock[c.CLK_PEND_TS] < t:
        st.clock[c.CLK_PEND_ASSET] = -1
        st.counters[c.C_MESSAGES] += 1
        end_message_nb(st, strategy, params, user, a, st.clock[c.CLK_PEND_TS], st.clock[c.CLK_PEND_KIND])
        if buffers_full_nb(st):
            return False
    if t >= st.clock[c.CLK_NEXT_DUE]:
        return advance_nb(st, strategy, params, user, t, False)
    return True


@njit(types.void(*_CALL_SIG, types.int64), cache=True, nogil=True)
def finish_events_nb(st, strategy, params, user, t_end):
    """End of data: close the last message (its strategy call included), then cancel what still rests.

    The exchange cancels resting orders at the later of the last message's time and ``t_end``
    (the clock's end when the driver moved it on; min int when not); then markets with a known
    winner not settled yet pay out (at their resolution time when it is later).
    """
    a = st.clock[c.CLK_PEND_ASSET]
    if a >= 0:
        st.clock[c.CLK_PEND_ASSET] = -1
        st.counters[c.C_MESSAGES] += 1
        end_message_nb(st, strategy, params, user, a, st.clock[c.CLK_PEND_TS], st.clock[c.CLK_PEND_KIND])
    t = max(st.clock[c.CLK_LAST_T], t_end)
    if t != I64_MIN:
        st.clock[c.CLK_NOW] = t
        cancel_resting_at_end_nb(st, t)
        settle_at_end_nb(st, t)


@njit(types.void(ENGINE_STATE_TYPE, *_event_array_types(True)), cache=True, nogil=True)
def warm_market_nb(st, ts, asset, kind, side, price, qty, seq):
    """Apply rows before a replay window to the market only (books, flags, trade histogram).

    No strategy calls, orders, equity samples or counters: a window that starts mid-recording
    opens on the book as recorded up to its start, not on an empty one (and on the funding rates
    announced and the last mark before it).
    """
    b = st.books
    vol_width = volume_bucket_ns_nb(st.guard_cfg)
    for r in range(ts.shape[0]):
        a = asset[r]
        k = kind[r]
        t = ts[r]
        if k < KIND_FUNDING:
            st.asset_ts[a, 0] = t
        if k == KIND_TRADE:
            if vol_width > 0:
                note_trade_volume_nb(st.vol_ring, a, t, qty[r], vol_width)
            if b.best_bid[a] != NO_BID and b.best_ask[a] != NO_ASK:
                tick = np.int64(np.floor(price[r] * b.inv_tick[a] + 0.5))
                dist = abs(2 * tick - b.best_bid[a] - b.best_ask[a]) // 2
                st.trade_hist[a, min(dist, st.trade_hist.shape[1] - 1)] += 1.0
        elif k == KIND_GAP:
            if st.asset_ts[a, 2] == 0:
                st.asset_ts[a, 2] = t
            st.gapped[a] = True
        elif k == KIND_FUNDING:
            funding_row_nb(st, a, t, price[r], seq[r], False)
        elif k == KIND_MARK:
            mark_row_nb(st, a, t, price[r])
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

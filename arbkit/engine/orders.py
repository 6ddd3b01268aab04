"""Order slots, the order log, and the two latency rings (requests out, responses back).

Both rings are FIFO with non-decreasing times (a later message never overtakes an earlier
one on the same connection), so the engine only ever looks at their heads. Adding to a
ring lowers the engine's next-due time (``CLK_NEXT_DUE``), so the loop looks at it in time.

Order quantities (``F_QTY``, ``F_LEAVES``, ``F_FILLED`` and the strategy's copies) are kept in
the instrument's quantity unit (``I_UNIT``: its lot, so they are whole numbers and sums never
drift off the lot grid); the order log, fills and the strategy API speak contracts (units × unit).
"""
from __future__ import annotations

from numba import njit

from arbkit.engine import codes as c
from arbkit.engine.latency import draw_latency_nb


@njit(cache=True)
def find_slot_nb(st, oid):
    """Slot of order ``oid`` (live, or finished and not yet reused), or -1."""
    if oid <= 0:  # ids start at 1; 0 is what strategies keep for "no order"
        return -1
    n = st.clock[c.CLK_N_ACTIVE]
    lo = 0
    hi = n
    while lo < hi:  # active slots are kept in order-id order
        mid = (lo + hi) // 2
        if st.oi[st.active[mid], c.O_ID] < oid:
            lo = mid + 1
        else:
            hi = mid
    if lo < n and st.oi[st.active[lo], c.O_ID] == oid:
        return st.active[lo]
    R = st.done.shape[0]
    head = st.clock[c.CLK_DONE_HEAD]
    for k in range(st.clock[c.CLK_DONE_N] - 1, -1, -1):  # newest first
        s = st.done[(head + k) % R]
        if st.oi[s, c.O_ID] == oid:
            return s
    return -1


@njit(cache=True)
def alloc_slot_nb(st):
    """A free order slot (or the slot of the order finished longest ago); -1 when none."""
    nf = st.clock[c.CLK_N_FREE]
    if nf > 0:
        s = st.free[nf - 1]
        st.clock[c.CLK_N_FREE] = nf - 1
    elif st.clock[c.CLK_DONE_N] > 0:  # reuse the slot of the order that finished longest ago
        head = st.clock[c.CLK_DONE_HEAD]
        s = st.done[head]
        st.clock[c.CLK_DONE_HEAD] = (head + 1) % st.done.shape[0]
        st.clock[c.CLK_DONE_N] -= 1
    else:
        return -1
    oid = st.clock[c.CLK_NEXT_ID]
    st.clock[c.CLK_NEXT_ID] = oid + 1
    st.oi[s, :] = 0
    st.of[s, :] = 0.0
    st.oi[s, c.O_ID] = oid
    na = st.clock[c.CLK_N_ACTIVE]
    st.active[na] = s
    st.clock[c.CLK_N_ACTIVE] = na + 1
    return s


@njit(cache=True)
def maybe_release_nb(st, s):
    """Retire slot ``s`` once the order is done at the exchange, the strategy knows, and nothing is in flight.

    It leaves the active list; its record stays readable (``find_slot_nb``) until the slot is reused.
    """
    if st.oi[s, c.O_INFLIGHT] > 0:
        return
    ls = st.oi[s, c.O_LSTATUS]
    if ls != c.ST_FILLED and ls != c.ST_CANCELLED and ls != c.ST_REJECTED:
        return
    n = st.clock[c.CLK_N_ACTIVE]
    k = 0
    while k < n and st.active[k] != s:
        k += 1
    if k == n:
        return  # already retired
    while k < n - 1:
        st.active[k] = st.active[k + 1]
        k += 1
    st.clock[c.CLK_N_ACTIVE] = n - 1
    R = st.done.shape[0]
    st.done[(st.clock[c.CLK_DONE_HEAD] + st.clock[c.CLK_DONE_N]) % R] = s
    st.clock[c.CLK_DONE_N] += 1


@njit(cache=True)
def log_order_nb(st, t, s, event, reason, price, qty):
    """Append one order event to the order log (``qty`` in contracts)."""
    k = st.clock[c.CLK_NLOG]
    if k >= st.log.shape[0]:
        st.clock[c.CLK_ERROR] = c.E_LOG_BUFFER
        return
    rec = st.log[k]
    rec.ts = t
    rec.order_id = st.oi[s, c.O_ID]
    rec.asset = st.oi[s, c.O_ASSET]
    rec.event = event
    rec.status = st.oi[s, c.O_STATUS]
    rec.reason = reason
    rec.side = st.oi[s, c.O_SIDE]
    rec.type = st.oi[s, c.O_TYPE]
    rec.price = price
    rec.qty = qty
    rec.leaves = st.of[s, c.F_LEAVES] * st.inst[rec.asset, c.I_UNIT]
    st.clock[c.CLK_NLOG] = k + 1


@njit(cache=True)
def _fifo_time_nb(clock, t, k_last):
    """Arrival time ``t``, held back so that no message overtakes the one sent before it on its connection."""
    if t < clock[k_last]:
        t = clock[k_last]
    clock[k_last] = t
    return t


@njit(cache=True)
def push_request_nb(st, s, kind, tick, qty):
    """Send a request for slot ``s`` now (``qty`` in units); it reaches the exchange after the entry latency.

    False if the ring is full.
    """
    R = st.rq_i.shape[0]
    n = st.clock[c.CLK_RQ_N]
    if n >= R:
        return False
    now = st.clock[c.CLK_NOW]
    a = st.oi[s, c.O_ASSET]
    t = _fifo_time_nb(st.clock, now + draw_latency_nb(st.entry_lat, a, now, st.rng), c.CLK_LAST_RQ_T)
    j = (st.clock[c.CLK_RQ_HEAD] + n) % R
    st.rq_i[j, c.Q_T] = t
    st.rq_i[j, c.Q_SLOT] = s
    st.rq_i[j, c.Q_KIND] = kind
    st.rq_i[j, c.Q_TICK] = tick
    st.rq_f[j, c.QF_QTY] = qty
    st.clock[c.CLK_RQ_N] = n + 1
    st.oi[s, c.O_INFLIGHT] += 1
    if t < st.clock[c.CLK_NEXT_DUE]:
        st.clock[c.CLK_NEXT_DUE] = t
    return True


@njit(cache=True)
def push_response_nb(st, t_exch, s, kind, reason, qty, price):
    """Tell the strategy about slot ``s`` after the response latency (status and leaves as of now; ``qty`` in units)."""
    R = st.rs_i.shape[0]
    n = st.clock[c.CLK_RS_N]
    if n >= R:
        st.clock[c.CLK_ERROR] = c.E_LOG_BUFFER
        return
    a = st.oi[s, c.O_ASSET]
    t = _fifo_time_nb(st.clock, t_exch + draw_latency_nb(st.resp_lat, a, t_exch, st.rng), c.CLK_LAST_RS_T)
    j = (st.clock[c.CLK_RS_HEAD] + n) % R
    st.rs_i[j, c.P_T] = t
    st.rs_i[j, c.P_SLOT] = s
    st.rs_i[j, c.P_KIND] = kind
    st.rs_i[j, c.P_REASON] = reason
    st.rs_i[j, c.P_STATUS] = st.oi[s, c.O_STATUS]
    st.rs_i[j, c.P_TICK] = st.oi[s, c.O_TICK]
    st.rs_f[j, c.PF_QTY] = qty
    st.rs_f[j, c.PF_PRICE] = price
    st.rs_f[j, c.PF_LEAVES] = st.of[s, c.F_LEAVES]
    st.clock[c.CLK_RS_N] = n + 1
    st.oi[s, c.O_INFLIGHT] += 1
    if t < st.clock[c.CLK_NEXT_DUE]:
        st.clock[c.CLK_NEXT_DUE] = t
    return t


@njit(cache=True)
def note_fill_for_guards_nb(st, t):
    """The strategy learned of a fill: start the fill cooldown, and the loss cooldown if realised PnL fell."""
    gs = st.guard_st
    gs[c.GS_LAST_FILL_TS] = t
    real = 0.0
    for a in range(st.acct.shape[0]):
        real += st.acct[a, c.A_REAL] - st.acct[a, c.A_FEES]
    if real < gs[c.GS_LAST_REAL] - 1e-12:
        gs[c.GS_LAST_LOSS_TS] = t
    gs[c.GS_LAST_REAL] = real


@njit(cache=True)
def deliver_responses_nb(st, t):
    """Apply every response due by ``t`` to the strategy's view (order status, leaves, position)."""
    R = st.rs_i.shape[0]
    delivered = 0
    while st.clock[c.CLK_RS_N] > 0:
        j = st.clock[c.CLK_RS_HEAD]
        if st.rs_i[j, c.P_T] > t:
            break
        s = st.rs_i[j, c.P_SLOT]
        kind = st.rs_i[j, c.P_KIND]
        st.oi[s, c.O_LSTATUS] = st.rs_i[j, c.P_STATUS]
        st.of[s, c.F_LLEAVES] = st.rs_f[j, c.PF_LEAVES]
        if kind == c.RS_FILL:
            q = st.rs_f[j, c.PF_QTY]
            a = st.oi[s, c.O_ASSET]
            unit = st.inst[a, c.I_UNIT]
            st.of[s, c.F_LFILLED] += q
            st.of[s, c.F_LVALUE] += q * unit * st.rs_f[j, c.PF_PRICE]
            st.acct[a, c.A_LPOS_U] += st.oi[s, c.O_SIDE] * q
            st.acct[a, c.A_LPOS] = st.acct[a, c.A_LPOS_U] * unit
            if st.guard_cfg[c.RG_ON] != 0.0:
                note_fill_for_guards_nb(st, t)
        elif kind == c.RS_REQUEST_REJECTED or kind == c.RS_CANCELLED:
            st.oi[s, c.O_CXL_SENT] = 0
        elif kind == c.RS_MODIFIED:
            st.oi[s, c.O_LTICK] = st.rs_i[j, c.P_TICK]
            st.of[s, c.F_LQTY] = st.rs_f[j, c.PF_QTY]
            st.of[s, c.F_LPRICE] = st.rs_f[j, c.PF_PRICE]
        st.oi[s, c.O_INFLIGHT] -= 1
        st.clock[c.CLK_RS_HEAD] = (j + 1) % R
        st.clock[c.CLK_RS_N] -= 1
        delivered += 1
        maybe_release_nb(st, s)
    if delivered > 0:
        st.clock[c.CLK_RESPONDED] = 1
        st.counters[c.C_RESP] += delivered
    return delivered

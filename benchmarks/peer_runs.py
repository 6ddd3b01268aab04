"""The two sides of the peer benchmark: arbkit's touch_mm and the same rule written against hftbacktest.

Both are driven at the same call times and record what they did:

* arbkit: ``touch_mm_kernel`` unchanged, wrapped by :func:`logged_touch_mm`, which logs
  each call's time and the requests that call put on the wire (read from the engine's
  request ring right after the call).
* hftbacktest: :func:`hbt_touch_mm_nb` makes the decisions ``touch_mm_kernel`` makes, from
  hftbacktest's view of the book and orders, at the call times arbkit used, and logs the
  requests it attempted (with a flag when hftbacktest refused one because a request on
  that order was still in flight). hftbacktest 2.4's local state ignores partial fills
  (its issue #299: ``position()`` moves only on ``Filled`` responses), so the driver keeps
  position and per-order filled quantity itself from the order updates it receives, as
  arbkit's strategy view does. With ``step`` it stops at every feed event and order
  response to log each fill at its exchange time (the comparison run); without it, it only
  elapses from call to call (the timed run).
"""
from __future__ import annotations

import dataclasses
import inspect

import numpy as np
from numba import njit

from arbkit import FillModel, Strategy, replay, strategy_kernel
from arbkit.engine import codes as c
from arbkit.strategies.touch_mm import touch_mm, touch_mm_kernel
from peer_match import FILL_DTYPE, REQUEST_DTYPE

#: request kinds in both logs (arbkit's RQ_* codes; a strategy call is -1)
CALL, NEW, CANCEL, MODIFY = -1, c.RQ_NEW, c.RQ_CANCEL, c.RQ_MODIFY
LOG_COLS = 6  # t (int64 bits), kind, order id, side, price tick, qty


@strategy_kernel
def logged_touch_mm(st, params, user):
    """``touch_mm_kernel`` plus a log of this call and the requests it sent (in ``user[2:]``)."""
    ring = st.rq_i.shape[0]
    head = st.clock[c.CLK_RQ_HEAD]
    n0 = st.clock[c.CLK_RQ_N]
    touch_mm_kernel(st, params, user)
    n1 = st.clock[c.CLK_RQ_N]
    log = user[2:]
    ints = log.view(np.int64)
    cap = (log.shape[0] - 1) // LOG_COLS
    k = ints[0]
    if k < 0 or k + 1 + (n1 - n0) > cap:
        ints[0] = -1  # overflow: the driver says so
        return
    b = 1 + k * LOG_COLS
    ints[b] = st.clock[c.CLK_NOW]
    log[b + 1] = CALL
    for f in range(2, LOG_COLS):
        log[b + f] = 0.0
    k += 1
    for i in range(n0, n1):
        j = (head + i) % ring
        s = st.rq_i[j, c.Q_SLOT]
        b = 1 + k * LOG_COLS
        ints[b] = st.clock[c.CLK_NOW]
        log[b + 1] = st.rq_i[j, c.Q_KIND]
        log[b + 2] = st.oi[s, c.O_ID]
        log[b + 3] = st.oi[s, c.O_SIDE]
        log[b + 4] = st.rq_i[j, c.Q_TICK]
        log[b + 5] = st.rq_f[j, c.QF_QTY] * st.inst[st.oi[s, c.O_ASSET], c.I_UNIT]  # the ring holds lots
        k += 1
    ints[0] = k


def logged_strategy(interval_ms: float, capacity: int) -> tuple[Strategy, np.ndarray]:
    """The logging touch_mm (touch_mm's parameters and schedule) and the array its log lands in (``capacity`` rows)."""
    base = touch_mm(interval_ms)
    user = np.zeros(2 + 1 + capacity * LOG_COLS)
    strat = Strategy("touch_mm_logged", logged_touch_mm, params=dict(base.params), schedule=base.schedule,
                     init_state=lambda params, n: user)
    return strat, user


def read_arbkit_log(user: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(call times, requests) from a logged run; requests as a structured array."""
    log = user[2:]
    n = int(log.view(np.int64)[0])
    if n < 0:
        raise RuntimeError("the request log overflowed: raise its capacity")
    rows = log[1:1 + n * LOG_COLS].reshape(n, LOG_COLS)
    ts = rows[:, 0].copy().view(np.int64)
    kind = rows[:, 1].astype(np.int64)
    calls = ts[kind == CALL]
    keep = kind != CALL
    req = np.zeros(int(keep.sum()), REQUEST_DTYPE)
    req["ts"] = ts[keep]
    req["kind"] = kind[keep]
    req["order_id"] = rows[keep, 2].astype(np.int64)
    req["side"] = rows[keep, 3].astype(np.int64)
    req["tick"] = rows[keep, 4].astype(np.int64)
    req["qty"] = rows[keep, 5]
    return calls, req


# hftbacktest's order status / request codes (hftbacktest.order) and its empty-book ticks
_NONE, _NEW, _EXPIRED, _FILLED, _CANCELED, _PARTIAL, _REJECTED, _REPLACED = 0, 1, 2, 3, 4, 5, 6, 7
_INVALID_MIN = np.iinfo(np.int64).min
_INVALID_MAX = np.iinfo(np.int64).max
_GTX, _LIMIT = 1, 0


@njit
def _observe_nb(hbt, side_of, leaves, filled, modified, expired_at, pos, fill_i, fill_q, nfill, lot):
    """Fold the order updates received so far into position and per-order filled quantity.

    hftbacktest resets an order's leaves only on a fill (a price-changing modify keeps the
    leaves the strategy knew), so a drop in leaves is a fill of that much at the order's
    exchange time. Returns the new number of logged fills (-1 when the log is full).
    """
    values = hbt.orders(0).values()
    while values.has_next():
        o = values.get()
        oid = o.order_id
        lv = o.leaves_qty
        d = np.round((leaves[oid] - lv) / lot, 6) * lot  # snapped: orders go out ``nudge`` below size
        if d > 0.0 and (o.status == _FILLED or o.status == _PARTIAL):
            filled[oid] += d
            pos[0] += side_of[oid] * d
            if d != np.round(o.exec_qty / lot, 6) * lot:
                pos[1] += 1  # more than one fill in this update (two responses at one ns): logged as one
            if nfill >= 0 and nfill < fill_q.shape[0]:
                fill_i[nfill, 0] = o.exch_timestamp
                fill_i[nfill, 1] = oid
                fill_i[nfill, 2] = side_of[oid]
                fill_i[nfill, 3] = o.exec_price_tick
                fill_q[nfill] = d
                nfill += 1
            elif nfill >= 0:
                nfill = -1
        if o.status == _EXPIRED and modified[oid] and expired_at[oid] == 0:
            expired_at[oid] = o.exch_timestamp  # a modify that would cross: hftbacktest expired the order
        leaves[oid] = lv
    return nfill


@njit
def _log_request_nb(req_i, req_q, n, t, kind, oid, side, tick, qty, refused):
    if n < 0 or n >= req_q.shape[0]:
        return -1
    req_i[n, 0] = t
    req_i[n, 1] = kind
    req_i[n, 2] = oid
    req_i[n, 3] = side
    req_i[n, 4] = tick
    req_i[n, 5] = refused
    req_q[n] = qty
    return n + 1


@njit
def hbt_touch_mm_nb(hbt, call_ts, half_spread_bps, size, max_pos, nudge, step, req_i, req_q, fill_i, fill_q,
                 expired_at, out):
    """Run the touch_mm rule in hftbacktest at ``call_ts``; logs requests (and, with ``step``, fills).

    Each order goes to hftbacktest ``nudge`` below its size (and fills are snapped back to
    the lot grid): hftbacktest 2.4's partial-fill exchange keeps an order that a queue fill
    exhausts exactly and stops with InvalidOrderStatus at its next fill (its issue #312);
    an order a hair below a whole number of lots is never exhausted exactly.

    ``expired_at[id]`` gets the time hftbacktest expired a modified order (a modify that
    would cross). ``out`` receives [status (0 ran to the end, -2 missed a call time, else
    hftbacktest's error code), requests logged, fills logged, calls made, time of the last
    stop, order updates that folded more than one fill]; the return value is the position
    the driver kept.
    """
    n_ids = expired_at.shape[0]
    side_of = np.zeros(n_ids, np.float64)
    modified = np.zeros(n_ids, np.bool_)
    leaves = np.zeros(n_ids, np.float64)
    filled = np.zeros(n_ids, np.float64)
    rep_tick = np.zeros(2, np.int64)  # the price of each side's order as last reported (arbkit's view)
    ids = np.zeros(2, np.int64)
    pos = np.zeros(2)  # position, updates that folded several fills
    next_id = 1
    nreq = 0
    nfill = 0
    status = 0
    calls = 0
    hs = half_spread_bps * 1e-4
    lot = hbt.depth(0).lot_size
    ended = False
    hbt.elapse(0)  # start the clock at the first event
    for ci in range(call_ts.shape[0]):
        t = call_ts[ci]
        # run the simulation to t; with step, stop at every event to fold order updates in as they come
        while hbt.current_timestamp < t:
            wait = t - hbt.current_timestamp
            r = hbt.wait_next_feed(True, wait) if step else hbt.elapse(wait)
            if step:
                nfill = _observe_nb(hbt, side_of, leaves, filled, modified, expired_at, pos, fill_i, fill_q, nfill, lot)
            if r == 1 and ci == call_ts.shape[0] - 1:
                ended = True  # the last call is at the last event: hftbacktest ends the data there
                break
            if r != 0 and r != 2 and r != 3:
                status = r
                break
        if status != 0:
            break
        if hbt.current_timestamp != t and not ended:
            status = -2  # could not land on the call time
            break
        nfill = _observe_nb(hbt, side_of, leaves, filled, modified, expired_at, pos, fill_i, fill_q, nfill, lot)
        calls += 1
        depth = hbt.depth(0)
        bbt = depth.best_bid_tick
        bat = depth.best_ask_tick
        if bbt == _INVALID_MIN or bat == _INVALID_MAX:
            hbt.clear_inactive_orders(0)
            continue
        tick = depth.tick_size
        mid = 0.5 * (bbt + bat) * tick
        orders = hbt.orders(0)
        for k in range(2):
            side = 1 if k == 0 else -1
            oid = ids[k]
            want = (pos[0] < max_pos) if side > 0 else (pos[0] > -max_pos)
            if side > 0:
                px = np.floor(mid * (1.0 - hs) / tick + 1e-9) * tick
            else:
                px = np.ceil(mid * (1.0 + hs) / tick - 1e-9) * tick
            ptick = np.int64(np.floor(px / tick + 0.5))
            live = False
            req = _NONE
            otick = np.int64(0)
            if oid > 0 and orders.__contains__(np.uint64(oid)):
                o = orders.get(np.uint64(oid))
                st_ = o.status
                live = st_ == _NONE or st_ == _NEW or st_ == _PARTIAL
                req = o.req
                otick = o.price_tick
            if live and req == _NONE:
                rep_tick[k] = otick  # no modify in flight: hftbacktest's price is the reported one
            if not want:
                if live and req != _CANCELED:  # arbkit sends no second cancel
                    refused = 0 if req == _NONE else 1  # hftbacktest takes one request in flight per order
                    if refused == 0:
                        hbt.cancel(0, np.uint64(oid), False)
                    nreq = _log_request_nb(req_i, req_q, nreq, t, CANCEL, oid, side, 0, 0.0, refused)
                continue
            if live:
                if req == _CANCELED or req == _NEW:
                    continue  # arbkit: cancel pending, or not yet acknowledged
                if rep_tick[k] != ptick:
                    q = filled[oid] + size
                    refused = 0 if req == _NONE else 1
                    if refused == 0:
                        hbt.modify(0, np.uint64(oid), px, q - nudge, False)
                        modified[oid] = True
                    nreq = _log_request_nb(req_i, req_q, nreq, t, MODIFY, oid, side, ptick, q, refused)
            else:
                oid = next_id
                next_id += 1
                if oid >= n_ids:
                    status = -3
                    break
                side_of[oid] = side
                leaves[oid] = size - nudge
                rep_tick[k] = ptick
                ids[k] = oid
                if side > 0:
                    hbt.submit_buy_order(0, np.uint64(oid), px, size - nudge, _GTX, _LIMIT, False)
                else:
                    hbt.submit_sell_order(0, np.uint64(oid), px, size - nudge, _GTX, _LIMIT, False)
                nreq = _log_request_nb(req_i, req_q, nreq, t, NEW, oid, side, ptick, size, 0)
        hbt.clear_inactive_orders(0)
        if status != 0:
            break
    if status == 0 and not ended:
        # run out the data so the responses to the last fills land (arbkit reports fills at the exchange)
        while True:
            r = hbt.wait_next_feed(True, 1_000_000_000) if step else hbt.elapse(1_000_000_000)
            nfill = _observe_nb(hbt, side_of, leaves, filled, modified, expired_at, pos, fill_i, fill_q, nfill, lot)
            if r != 0 and r != 2 and r != 3:
                status = 0 if r == 1 else r
                break
    out[0] = status
    out[1] = nreq
    out[2] = nfill
    out[3] = calls
    out[4] = hbt.current_timestamp
    out[5] = np.int64(pos[1])
    return pos[0]


# -- the two runs, from Python ------------------------------------------------------------------

def arbkit_fill_model(queue: str, queue_power: float) -> dict:
    """arbkit's fill settings for a peer comparison: trade-throughs and crossings fill everything left.

    ``fill.trade_through`` is ``"all"`` where the engine knows the volume-capped mode, else ``True``.
    """
    default = {f.name: f.default for f in dataclasses.fields(FillModel)}["trade_through"]
    return {"queue": queue, "queue_power": queue_power, "cross_fill": True,
            "trade_through": True if isinstance(default, bool) else "all"}


def run_arbkit(cols, instrument, params: dict, fill: dict, latency_ns: int, interval_ms: float,
               log_capacity: int) -> dict:
    """arbkit's logged touch_mm: the result, its call times and its requests."""
    strat, user = logged_strategy(interval_ms, log_capacity)
    res = replay(cols, strat, params, instruments=[instrument], fill=fill,
                 latency={"entry": latency_ns, "response": latency_ns}, **_crossed_ok())
    calls, requests = read_arbkit_log(user)
    return {"result": res, "calls": calls, "requests": requests}


def run_arbkit_plain(cols, instrument, params: dict, fill: dict, latency_ns: int, interval_ms: float):
    """arbkit's touch_mm as a user runs it (the timed run)."""
    return replay(cols, touch_mm(interval_ms), params, instruments=[instrument], fill=fill,
                  latency={"entry": latency_ns, "response": latency_ns}, **_crossed_ok())


def _crossed_ok() -> dict:
    """hftbacktest replays crossed books as they come; so must arbkit here (where it has the switch)."""
    return {"allow_crossed": True} if "allow_crossed" in inspect.signature(replay).parameters else {}


def hftbacktest_backtest(data: np.ndarray, instrument, queue: str, queue_power: float, latency_ns: int):
    """hftbacktest 2.4 on ``data``: partial-fill exchange, the queue model, constant latencies, the fees."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest  # the optional peer, HashMapMarketDepthBacktest
    asset = (BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(latency_ns, latency_ns)
             .partial_fill_exchange()
             .trading_value_fee_model(instrument.maker_fee_bps * 1e-4, instrument.taker_fee_bps * 1e-4)
             .tick_size(instrument.tick_size).lot_size(instrument.lot_size).last_trades_capacity(0))
    asset = asset.power_prob_queue_model(queue_power) if queue == "power" else asset.risk_adverse_queue_model()
    return HashMapMarketDepthBacktest([asset])


def run_hftbacktest(data: np.ndarray, instrument, call_ts: np.ndarray, params: dict, queue: str,
                    queue_power: float, latency_ns: int, *, step: bool, nudge: float) -> dict:
    """The touch_mm rule in hftbacktest at ``call_ts``: requests, fills (with ``step``), positions, status."""
    n = len(call_ts)
    req_i = np.zeros((2 * n + 16, 6), np.int64)
    req_q = np.zeros(2 * n + 16)
    fill_i = np.zeros((16 * n + 64, 4), np.int64)
    fill_q = np.zeros(16 * n + 64)
    expired_at = np.zeros(2 * n + 2, np.int64)
    out = np.zeros(6, np.int64)
    hbt = hftbacktest_backtest(data, instrument, queue, queue_power, latency_ns)
    pos = hbt_touch_mm_nb(hbt, np.ascontiguousarray(call_ts, np.int64), float(params["half_spread_bps"]),
                       float(params["order_size"]), float(params["max_position"]), nudge, step,
                       req_i, req_q, fill_i, fill_q, expired_at, out)
    depth = hbt.depth(0)
    own = hbt.state_values(0)
    own_state = {"position": float(hbt.position(0)), "balance": float(own.balance), "fee": float(own.fee),
                 "num_trades": int(own.num_trades)}
    mid = 0.5 * (depth.best_bid_tick + depth.best_ask_tick) * depth.tick_size
    hbt.close()
    if out[1] < 0 or out[2] < 0:
        raise RuntimeError("hftbacktest run: a log overflowed")
    requests = np.zeros(int(out[1]), REQUEST_DTYPE)
    for f, col in (("ts", 0), ("kind", 1), ("order_id", 2), ("side", 3), ("tick", 4), ("refused", 5)):
        requests[f] = req_i[:out[1], col]
    requests["qty"] = req_q[:out[1]]
    fills = np.zeros(int(out[2]), FILL_DTYPE)
    for f, col in (("ts", 0), ("order_id", 1), ("side", 2), ("tick", 3)):
        fills[f] = fill_i[:out[2], col]
    fills["qty"] = fill_q[:out[2]]
    fills = fills[np.argsort(fills["ts"], kind="stable")]
    return {"status": int(out[0]), "calls": int(out[3]), "last_ts": int(out[4]), "folded_updates": int(out[5]),
            "requests": requests,
            "fills": fills, "position": float(pos), "own_state": own_state, "final_mid": float(mid),
            "expired_after_modify": {int(i): int(expired_at[i]) for i in np.flatnonzero(expired_at)}}

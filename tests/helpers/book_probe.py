"""Strategy kernels used by tests to look at the engine's books from inside a replay."""
import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.strategy import Strategy, strategy_kernel


@strategy_kernel
def bbo_check_kernel(st, params, user):
    """At each call, for every asset whose BBO message changed, compare it with the depth top.

    user: [checks, price mismatches, qty mismatches, then per asset last (bid px, ask px, bid qty, ask qty)]
    """
    for a in range(api.n_assets(st)):
        bp, bq, ap, aq = api.bbo(st, a)
        o = 3 + 4 * a
        if bp != bp or ap != ap:
            continue
        if bp == user[o] and ap == user[o + 1] and bq == user[o + 2] and aq == user[o + 3]:
            continue
        user[o] = bp
        user[o + 1] = ap
        user[o + 2] = bq
        user[o + 3] = aq
        user[0] += 1.0
        t = api.tick_size(st, a)
        if np.round(api.best_bid(st, a) / t) != np.round(bp / t) or np.round(api.best_ask(st, a) / t) != np.round(ap / t):
            user[1] += 1.0
        elif api.best_bid_qty(st, a) != bq or api.best_ask_qty(st, a) != aq:
            user[2] += 1.0


def bbo_checker(n_assets: int) -> Strategy:
    return Strategy("bbo_check", bbo_check_kernel, params={"unused": 0.0}, schedule=Schedule(every_event=True),
                    state_size=3 + 4 * n_assets)


@strategy_kernel
def top_recorder_kernel(st, params, user):
    """Append every asset's (best bid, best ask, bid qty, ask qty) at each message end; user[0] is the count."""
    n = api.n_assets(st)
    k = np.int64(user[0])
    o = 1 + k * 4 * n
    if o + 4 * n > user.shape[0]:
        return
    for a in range(n):
        user[o + 4 * a] = api.best_bid(st, a)
        user[o + 4 * a + 1] = api.best_ask(st, a)
        user[o + 4 * a + 2] = api.best_bid_qty(st, a)
        user[o + 4 * a + 3] = api.best_ask_qty(st, a)
    user[0] = k + 1


def top_recorder(n_assets: int, n_messages: int) -> Strategy:
    return Strategy("top_recorder", top_recorder_kernel, params={"unused": 0.0}, schedule=Schedule(every_event=True),
                    state_size=1 + 4 * n_assets * n_messages)


@strategy_kernel
def leg_tops_kernel(st, params, user):
    """Annotate (bid A, ask A, bid B, ask B) at each market-driven call (the calls the arbitrage's paper trader
    steps on); assets A and B are params[0] and params[1]."""
    if api.call_reason(st) & (api.CALL_EVERY_EVENT | api.CALL_INTERVAL | api.CALL_TOP_CHANGE):
        a = np.int64(params[0])
        b = np.int64(params[1])
        api.annotate(st, 1, api.best_bid(st, a), api.best_ask(st, a), api.best_bid(st, b), api.best_ask(st, b),
                     0.0, 0.0, 0.0, 0.0)


def leg_tops(interval_ms: float = 100.0) -> Strategy:
    """The legs' tops at the calls of the arbitrage's schedule (``Result.notes``: ts, code, the four tops)."""
    return Strategy("leg_tops", leg_tops_kernel, params={"asset_a": 0, "asset_b": 1},
                    schedule=Schedule(on_top_change=True, interval_ms=interval_ms, on_response=True), state_size=1)

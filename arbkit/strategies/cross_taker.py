"""A cross-venue taker: buy the cheap venue and sell the dear one when the gap is wide, unwind when it closes.

Spread in bps = (bid on B − ask on A) / mid_A (and the mirror). Above ``entry_bps`` it
sends two IOC orders of ``order_size`` (rounded down to each instrument's lot) at the touches; once the same-direction spread is
back below ``exit_bps`` it sends the two closing IOCs. Called on every top-of-book change.
The benchmark arbitrage taker; the full strategy (take profit, stop, time limit, leg
handling) builds on it. Both legs get the same ``order_size`` in their own quantity units, so
the legs hold equal base exposure only when both are spot or linear contracts of size 1; the
``arb`` strategy sizes B to A's base exposure (inverse and other contract sizes too).
"""
from __future__ import annotations

import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.params import asset, bps, order_size
from arbkit.engine.strategy import Strategy, strategy_kernel

DIRECTION = 0  # +1 long A / short B, -1 the mirror, 0 flat
ENTRIES = 1


@strategy_kernel
def cross_taker_kernel(st, params, user):
    """Take both legs when the cross spread passes ``entry_bps``; flatten below ``exit_bps``."""
    a = np.int64(params[0])
    b = np.int64(params[1])
    if not (api.book_usable(st, a) and api.book_usable(st, b)):
        return
    entry = params[2]
    exit_ = params[3]
    size_a = api.round_lot(st, a, params[4])
    size_b = api.round_lot(st, b, params[4])
    ask_a = api.best_ask(st, a)
    bid_a = api.best_bid(st, a)
    ask_b = api.best_ask(st, b)
    bid_b = api.best_bid(st, b)
    mid = 0.5 * (ask_a + bid_a)
    up = (bid_b - ask_a) / mid * 1e4  # buy A, sell B
    down = (bid_a - ask_b) / mid * 1e4  # buy B, sell A
    d = user[DIRECTION]
    if d == 0.0:
        if size_a <= 0.0 or size_b <= 0.0:
            return  # order_size is below a lot of one of the instruments
        if up >= entry:
            api.submit(st, a, 1, ask_a, size_a, api.IOC)
            api.submit(st, b, -1, bid_b, size_b, api.IOC)
            user[DIRECTION] = 1.0
            user[ENTRIES] += 1.0
        elif down >= entry:
            api.submit(st, b, 1, ask_b, size_b, api.IOC)
            api.submit(st, a, -1, bid_a, size_a, api.IOC)
            user[DIRECTION] = -1.0
            user[ENTRIES] += 1.0
    elif d > 0.0 and (bid_a - ask_b) / mid * 1e4 >= -exit_:
        pa = api.position(st, a)
        pb = api.position(st, b)
        if pa > 0.0:
            api.submit(st, a, -1, bid_a, pa, api.IOC)
        if pb < 0.0:
            api.submit(st, b, 1, ask_b, -pb, api.IOC)
        user[DIRECTION] = 0.0
    elif d < 0.0 and (bid_b - ask_a) / mid * 1e4 >= -exit_:
        pa = api.position(st, a)
        pb = api.position(st, b)
        if pa < 0.0:
            api.submit(st, a, 1, ask_a, -pa, api.IOC)
        if pb > 0.0:
            api.submit(st, b, -1, bid_b, pb, api.IOC)
        user[DIRECTION] = 0.0


def cross_taker() -> Strategy:
    """The cross-venue taker used by the benchmarks."""
    return Strategy("cross_taker", cross_taker_kernel,
                    params={"asset_a": 0, "asset_b": 1, "entry_bps": 5.0, "exit_bps": 1.0, "order_size": 0.01},
                    schedule=Schedule(on_top_change=True), state_size=2,
                    specs={"asset_a": asset(), "asset_b": asset(distinct_from="asset_a"), "entry_bps": bps(),
                           "exit_bps": bps(), "order_size": order_size("asset_a", "asset_b")})

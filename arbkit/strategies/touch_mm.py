"""A fixed-spread market maker: one bid and one ask around the mid, re-quoted on a timer.

Quotes ``half_spread_bps`` either side of the depth-book mid (rounded away from the mid
onto the tick grid), ``order_size`` (rounded down to the lot grid) each, post-only. The
quotes are refreshed on the engine's timer, every ``interval_ms`` whether or not an event
arrives. A quote whose price moved is
modified (losing its queue place); a side is pulled while the position is at
``max_position`` in that direction. The benchmark market maker and the base the
Avellaneda–Stoikov maker builds on.
"""
from __future__ import annotations

import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.params import asset, bps, non_negative, order_size
from arbkit.engine.strategy import Strategy, strategy_kernel

BID_ID = 0
ASK_ID = 1


@strategy_kernel
def touch_mm_kernel(st, params, user):
    """Re-quote one bid and one ask around the mid."""
    a = np.int64(params[0])
    if not api.book_usable(st, a):
        return
    mid = api.mid_price(st, a)
    hs = params[1] * 1e-4
    size = api.round_lot(st, a, params[2])
    max_pos = params[3]
    pos = api.position(st, a)
    for k in range(2):
        side = 1 if k == 0 else -1
        oid = np.int64(user[k])
        want = (pos < max_pos) if side > 0 else (pos > -max_pos)
        px = api.round_bid(st, a, mid * (1.0 - hs)) if side > 0 else api.round_ask(st, a, mid * (1.0 + hs))
        live = oid > 0 and api.is_live(st, oid)
        if not want:
            if live:
                api.cancel(st, oid)
            continue
        if live:
            if api.cancel_pending(st, oid) or api.order_status(st, oid) == api.ST_NEW:
                continue
            if api.order_price(st, oid) != px:
                api.modify(st, oid, px, api.order_filled(st, oid) + size)
        else:
            new_id = api.submit(st, a, side, px, size, api.POST_ONLY)
            user[k] = new_id if new_id > 0 else 0.0


def touch_mm(interval_ms: float = 100.0) -> Strategy:
    """The fixed-spread maker, called every ``interval_ms`` of recording time."""
    return Strategy("touch_mm", touch_mm_kernel,
                    params={"asset": 0, "half_spread_bps": 1.0, "order_size": 0.01, "max_position": 0.1},
                    schedule=Schedule(interval_ms=interval_ms), state_size=2,
                    specs={"asset": asset(), "half_spread_bps": bps(0.0), "order_size": order_size("asset"),
                           "max_position": non_negative()})

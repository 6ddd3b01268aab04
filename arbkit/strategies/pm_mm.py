"""Prediction-market maker: quotes both tokens of up to 8 binary markets around one fair value per market.

Per market (``market_<i>`` = the asset index of its YES token; the NO token is its complement):

* fair value of YES from both books: bid ``max(YES bid, 1 − NO ask)``, ask ``min(YES ask, 1 − NO bid)``,
  fair = their middle (one book alone when the other is not usable);
* skewed on the net exposure n = YES − NO held (as known): r = fair − ``skew`` · n;
* bid: buy YES at r − ``half_spread``; ask: sell YES at r + ``half_spread`` when the YES held (less
  live sells) covers the size, else buy NO at 1 − (r + ``half_spread``) — the same position change
  without selling what is not held (the engine refuses such sells: ``insufficient_position``);
* the side that would take |n| beyond ``max_net_exposure`` (per market ``max_net_<i>`` when > 0) is
  not quoted; sizes are ``order_size`` (per market ``size_<i>`` when > 0) on the lot grid;
* ``auto_merge`` 1: equal YES and NO held (beyond live sells) are merged into cash at each call.

Shared limit: ``budget`` (quote currency, 0 = none) on the capital committed across markets: tokens
held at their mid plus live buy orders at their price. Markets are served in order (0 first); a new
or repriced buy is sent only while the committed total plus its cost stays within the budget, so
when the budget binds the later markets quote less (or not at all) and the earlier ones as they
would alone. Quotes are post-only and follow the timer (``interval_ms``), not the events: the maker
acts only at multiples of ``quote_grid_ms`` since the epoch (the factory sets it to the interval;
0 = at every call), so a market's quotes — and, when the budget does not bind, its fills — are the
same whether it runs alone or beside other markets.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from numba import njit

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.params import flag, integer, non_negative, positive
from arbkit.engine.strategy import Strategy, strategy_kernel
from arbkit.core.schema import market_key, markets_of

MAX_MARKETS = 8
(P_N, P_HALF, P_SKEW, P_SIZE, P_MAX_NET, P_BUDGET, P_MERGE, P_GRID) = range(8)
P_MARKETS = 8  # then MAX_MARKETS YES asset indices, then per-market sizes, then per-market max net exposures
P_SIZES = P_MARKETS + MAX_MARKETS
P_NETS = P_SIZES + MAX_MARKETS
PARAMS: dict[str, float] = {"n_markets": 1, "half_spread": 0.01, "skew": 0.001, "order_size": 5.0,
                            "max_net_exposure": 50.0, "budget": 0.0, "auto_merge": 0,
                            "quote_grid_ms": 1000.0}
PARAMS.update({f"market_{i}": 0 for i in range(MAX_MARKETS)})
PARAMS.update({f"size_{i}": 0.0 for i in range(MAX_MARKETS)})
PARAMS.update({f"max_net_{i}": 0.0 for i in range(MAX_MARKETS)})
SPECS = {"n_markets": integer(1, MAX_MARKETS), "half_spread": positive(0.5), "skew": non_negative(),
         "order_size": positive(), "max_net_exposure": non_negative(), "budget": non_negative(), "auto_merge": flag(),
         "quote_grid_ms": non_negative(unit="ms")}
SPECS.update({f"market_{i}": integer(0, 1_000_000) for i in range(MAX_MARKETS)})
SPECS.update({f"size_{i}": non_negative() for i in range(MAX_MARKETS)})
SPECS.update({f"max_net_{i}": non_negative() for i in range(MAX_MARKETS)})
# user state per market: bid order id, ask order id, ask kind (1 sell YES, 2 buy NO), quotes sent
U_BID, U_ASK, U_ASK_KIND, U_QUOTES = range(4)
U_WIDTH = 4
STATE_SIZE = U_WIDTH * MAX_MARKETS
ASK_SELL_YES, ASK_BUY_NO = 1.0, 2.0


@njit(cache=True)
def _market_param_nb(params, base, m, default):
    v = params[base + m]
    return v if v > 0.0 else default


@njit(cache=True)
def _live_buy_cost_nb(st, oid):
    """What a live buy order still commits (leaves x price), 0 for none."""
    if oid <= 0 or not api.is_live(st, oid):
        return 0.0
    return api.order_leaves(st, oid) * api.order_price(st, oid)


@njit(cache=True)
def _committed_nb(st, params, user, n_markets):
    """Capital committed across the markets: tokens held at their mid plus live buy orders at their price."""
    tot = 0.0
    for m in range(n_markets):
        y = np.int64(params[P_MARKETS + m])
        no = api.complement(st, y)
        for a in (y, no):
            mid = api.mid_price(st, a)
            if mid == mid:
                tot += max(api.position(st, a), 0.0) * mid
        tot += _live_buy_cost_nb(st, np.int64(user[U_WIDTH * m + U_BID]))
        if user[U_WIDTH * m + U_ASK_KIND] == ASK_BUY_NO:
            tot += _live_buy_cost_nb(st, np.int64(user[U_WIDTH * m + U_ASK]))
    return tot


@njit(cache=True)
def _fair_yes_nb(st, y, no):
    """The YES fair value from both books (YES bid = 1 − NO ask); NaN when neither book is usable."""
    uy = api.book_usable(st, y)
    un = api.book_usable(st, no)
    if not uy and not un:
        return np.nan
    bid = 0.0
    ask = 1.0
    if uy:
        bid = api.best_bid(st, y)
        ask = api.best_ask(st, y)
    if un:
        bid = max(bid, 1.0 - api.best_ask(st, no))
        ask = min(ask, 1.0 - api.best_bid(st, no))
    return 0.5 * (bid + ask)


@njit(cache=True)
def _place_nb(st, user, slot, a, side, px, qty, kind_slot, kind, committed, budget):
    """Keep, reprice or send the quote of ``slot`` (``px`` <= 0: none wanted). Returns the committed capital after."""
    oid = np.int64(user[slot])
    live = oid > 0 and api.is_live(st, oid)
    wrong_kind = kind_slot >= 0 and user[kind_slot] != kind
    if live and (px <= 0.0 or wrong_kind):
        api.cancel(st, oid)  # the slot frees once the cancel is confirmed
        return committed
    if px <= 0.0:
        return committed
    if live:
        if api.cancel_pending(st, oid) or api.order_status(st, oid) == api.ST_NEW:
            return committed
        if abs(api.order_price(st, oid) - px) <= 1e-12 and abs(api.order_leaves(st, oid) - qty) <= 1e-12:
            return committed
        old = api.order_leaves(st, oid) * api.order_price(st, oid) if side > 0 else 0.0
        extra = qty * px - old if side > 0 else 0.0
        if budget > 0.0 and side > 0 and committed + extra > budget + 1e-9:
            api.cancel(st, oid)  # cannot afford the new price: leave the market on this side
            return committed
        if api.modify(st, oid, px, api.order_filled(st, oid) + qty):
            user[slot + (U_QUOTES - (slot % U_WIDTH))] += 1.0
            return committed + extra
        api.cancel(st, oid)
        return committed
    if budget > 0.0 and side > 0 and committed + qty * px > budget + 1e-9:
        return committed
    new_id = api.submit(st, a, side, px, qty, api.POST_ONLY)
    user[slot] = new_id if new_id > 0 else 0.0
    if new_id > 0:
        if kind_slot >= 0:
            user[kind_slot] = kind
        user[slot + (U_QUOTES - (slot % U_WIDTH))] += 1.0
        if side > 0:
            return committed + qty * px
    return committed


@njit(cache=True)
def _bid_price_nb(st, a, px):
    """``px`` on the tick grid (down), inside (0, 1), below the best ask (post-only); 0 when none fits."""
    tick = api.tick_size(st, a)
    p = api.round_bid(st, a, px)
    if api.book_usable(st, a):
        p = min(p, api.best_ask(st, a) - tick)
    p = min(p, 1.0 - tick)
    return p if p >= tick - 1e-12 else 0.0


@njit(cache=True)
def _ask_price_nb(st, a, px):
    """``px`` on the tick grid (up), inside (0, 1), above the best bid (post-only); 0 when none fits."""
    tick = api.tick_size(st, a)
    p = api.round_ask(st, a, px)
    if api.book_usable(st, a):
        p = max(p, api.best_bid(st, a) + tick)
    p = max(p, tick)
    return p if p <= 1.0 - tick + 1e-12 else 0.0


@njit(cache=True)
def _quote_market_nb(st, params, user, m, committed, budget):
    """Market ``m``'s two quotes (and an automatic merge); returns the committed capital after."""
    y = np.int64(params[P_MARKETS + m])
    no = api.complement(st, y)
    base = U_WIDTH * m
    if no < 0 or api.market_settled(st, y) or api.kill_switch_active(st):
        for slot in (base + U_BID, base + U_ASK):
            oid = np.int64(user[slot])
            if oid > 0 and api.is_live(st, oid):
                api.cancel(st, oid)
        return committed
    lot = api.lot_size(st, y)
    if params[P_MERGE] != 0.0:
        pairs = api.round_lot(st, y, min(api.sellable(st, y), api.sellable(st, no)))
        if pairs >= lot and pairs > 0.0:
            api.merge_pair(st, y, pairs)
    fair = _fair_yes_nb(st, y, no)
    size = api.round_lot(st, y, _market_param_nb(params, P_SIZES, m, params[P_SIZE]))
    max_net = _market_param_nb(params, P_NETS, m, params[P_MAX_NET])
    net = api.net_exposure(st, y)
    if not fair == fair or size <= 0.0:
        bid_px = 0.0
        ask_px = 0.0
    else:
        r = fair - params[P_SKEW] * net
        h = params[P_HALF]
        bid_px = _bid_price_nb(st, y, r - h) if net + size <= max_net + 1e-9 else 0.0
        ask_px = r + h if net - size >= -max_net - 1e-9 else 0.0
    committed = _place_nb(st, user, base + U_BID, y, 1, bid_px, size, -1, 0.0, committed, budget)
    if ask_px > 0.0 and api.sellable(st, y) >= size - 1e-9:
        committed = _place_nb(st, user, base + U_ASK, y, -1, _ask_price_nb(st, y, ask_px), size, base + U_ASK_KIND,
                              ASK_SELL_YES, committed, budget)
    elif ask_px > 0.0:
        committed = _place_nb(st, user, base + U_ASK, no, 1, _bid_price_nb(st, no, 1.0 - ask_px), size,
                              base + U_ASK_KIND, ASK_BUY_NO, committed, budget)
    else:
        committed = _place_nb(st, user, base + U_ASK, y, -1, 0.0, size, base + U_ASK_KIND, 0.0, committed, budget)
    return committed


@strategy_kernel
def pm_mm_kernel(st, params, user):
    """Quote every market in order within the shared budget."""
    grid = np.int64(params[P_GRID] * 1e6)
    if grid > 0 and api.now(st) % grid != 0:
        return  # off the grid (the run's first message end): quotes must not depend on which event opened the run
    n_markets = min(np.int64(params[P_N]), MAX_MARKETS)
    committed = _committed_nb(st, params, user, n_markets)
    for m in range(n_markets):
        committed = _quote_market_nb(st, params, user, m, committed, params[P_BUDGET])


def market_limits(result: Any) -> dict[str, float]:
    """Max net exposure per market id of a pm_mm run (the market KPIs' time within limit)."""
    p = result.params
    out: dict[str, float] = {}
    for m in range(int(p.get("n_markets", 0))):
        a = int(p[f"market_{m}"])
        if 0 <= a < len(result.instruments):
            inst = result.instruments[a]
            out[market_key(inst)] = float(p[f"max_net_{m}"] or p["max_net_exposure"])
    return out


def single_market_params(params: Mapping[str, float], instruments: Any) -> dict[str, dict[str, float]]:
    """Per market a pm_mm run quotes (by market id), the same parameters restricted to it: one market, its own size
    and max net exposure, the shared budget as it is (the baseline a market has when it runs alone)."""
    out: dict[str, dict[str, float]] = {}
    for m in range(min(int(params.get("n_markets", 0)), MAX_MARKETS)):
        a = int(params[f"market_{m}"])
        if not 0 <= a < len(instruments):
            continue
        alone = dict(params)
        for i in range(MAX_MARKETS):
            alone[f"market_{i}"], alone[f"size_{i}"], alone[f"max_net_{i}"] = 0, 0.0, 0.0
        alone.update({"n_markets": 1, "market_0": a, "size_0": float(params[f"size_{m}"]),
                      "max_net_0": float(params[f"max_net_{m}"])})
        out[market_key(instruments[a])] = alone
    return out


def pm_mm(interval_ms: float = 1000.0) -> Strategy:
    """The prediction-market maker, re-quoting every ``interval_ms`` of recording time (timer calls)."""
    return Strategy("pm_mm", pm_mm_kernel, params={**PARAMS, "quote_grid_ms": float(interval_ms)},
                    schedule=Schedule(interval_ms=interval_ms),
                    state_size=STATE_SIZE, specs=SPECS, market_limits=market_limits,
                    single_market_params=single_market_params)


def market_params(instruments: Any, **params: Any) -> dict[str, float]:
    """pm_mm parameters quoting every binary market of ``instruments`` (at most 8), then ``params`` over them."""
    seen = [assets[0] for assets in markets_of(instruments).values()
            if instruments[assets[0]].complement]  # YES: the outcome named Up / Yes, else the first listed
    out: dict[str, float] = {**PARAMS, "n_markets": len(seen)}
    for m, a in enumerate(seen[:MAX_MARKETS]):
        out[f"market_{m}"] = a
    out.update(params)
    return out

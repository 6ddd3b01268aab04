"""Market making: Avellaneda–Stoikov quotes around a reservation price, or a fixed half-spread.

Avellaneda–Stoikov (``mode`` 0), with q = position / order_size (inventory in quote units):

    reservation  r = mid − q · γ · σ² · τ
    spread       δ = γ · σ² · τ + (2/γ) · ln(1 + γ/κ)

σ² is the mid's variance rate (price² per second), estimated online as an exponentially
weighted mean of squared mid changes per second with half-life ``sigma_halflife_s``; τ is
``horizon_s``; κ is ``kappa`` (order-arrival decay per unit of price distance). The textbook
uses σ² (not σ) in both terms; so does this. ``kappa`` 0 fits κ online from the public
trades' distance from the mid (``api.fitted_kappa``; ``kappa_fallback`` until 50 trades). Fixed mode (``mode`` 1): δ/2 =
``half_spread_bps`` of the mid and r = mid − q · ``inventory_skew_bps`` of the mid.

Quotes: bid r − δ/2, ask r + δ/2, δ at least ``min_spread_bps``; ``num_levels`` per side
spaced ``level_spacing_bps`` apart; size ``order_size`` · exp(−``size_shape`` · |q|) on the
side that would add to the position, rounded down to the lot grid (a side is not quoted
when that is less than a lot); a side is not quoted at ``max_position``. Prices go
onto the tick grid away from the mid, never through the opposite touch, and inside (0, 1)
on binary-outcome books. A live quote within ``refresh_tolerance_bps`` of its target (and
the same size) is left alone; otherwise it is modified (or re-sent). Called on the
engine's timer every ``quote_interval_ms``, whether or not an event arrives. Each quote decision is annotated (r, δ, σ², q) for the trade log.
"""
from __future__ import annotations

import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.params import asset, bps, choice, integer, non_negative, order_size, positive
from arbkit.engine.strategy import Strategy, strategy_kernel

(P_ASSET, P_MODE, P_GAMMA, P_KAPPA, P_HORIZON, P_SIGMA_HL, P_HALF, P_SKEW, P_LEVELS, P_SPACING, P_SIZE, P_SHAPE,
 P_MAX_POS, P_MIN_SPREAD, P_TOL, P_KAPPA_FALLBACK) = range(16)
PARAMS = {"asset": 0, "mode": 0, "gamma": 0.1, "kappa": 1.5, "horizon_s": 60.0, "sigma_halflife_s": 30.0,
          "half_spread_bps": 1.0, "inventory_skew_bps": 0.5, "num_levels": 1, "level_spacing_bps": 1.0,
          "order_size": 0.01, "size_shape": 0.0, "max_position": 0.1, "min_spread_bps": 0.0,
          "refresh_tolerance_bps": 0.0, "kappa_fallback": 1.5}
MAX_LEVELS = 5
U_LAST_MID, U_LAST_T, U_VAR, U_QUOTES = range(4)
U_IDS = 8  # then 2 * MAX_LEVELS order ids: bids first
STATE_SIZE = U_IDS + 2 * MAX_LEVELS
N_QUOTE = 10  # annotation code: a quote decision (r, delta, sigma2, q)
# what each parameter may be (checked against the recording before a run)
SPECS = {"asset": asset(), "mode": choice(0, 1, labels=("Avellaneda-Stoikov", "fixed half-spread")),
         "gamma": positive(), "kappa": non_negative(), "horizon_s": non_negative(unit="s"),
         "sigma_halflife_s": positive(unit="s"), "half_spread_bps": bps(0.0), "inventory_skew_bps": bps(),
         "num_levels": integer(1, MAX_LEVELS), "level_spacing_bps": bps(0.0), "order_size": order_size("asset"),
         "size_shape": non_negative(), "max_position": non_negative(), "min_spread_bps": bps(0.0),
         "refresh_tolerance_bps": bps(0.0), "kappa_fallback": positive()}


@strategy_kernel
def mm_kernel(st, params, user):
    """The market-making kernel: reservation price, spread, levels, at each call."""
    a = np.int64(params[P_ASSET])
    if not api.book_usable(st, a):
        return
    now = api.now(st)
    mid = api.mid_price(st, a)
    # sigma^2: EWMA of squared mid changes per second
    if user[U_LAST_T] > 0.0:
        dt = (now - user[U_LAST_T]) * 1e-9
        if dt > 0.0:
            dm = mid - user[U_LAST_MID]
            w = 1.0 - 0.5 ** (dt / max(params[P_SIGMA_HL], 1e-9))
            user[U_VAR] += w * (dm * dm / dt - user[U_VAR])
    user[U_LAST_MID] = mid
    user[U_LAST_T] = now
    size = params[P_SIZE]
    pos = api.position(st, a)
    q = pos / size if size > 0.0 else 0.0
    k = 0.0
    if params[P_MODE] == 0.0:
        g = params[P_GAMMA]
        k = params[P_KAPPA]
        if k <= 0.0:
            k = api.fitted_kappa(st, a, 50.0)
            if not k > 0.0:
                k = params[P_KAPPA_FALLBACK]
        var_tau = user[U_VAR] * params[P_HORIZON]
        r = mid - q * g * var_tau
        delta = g * var_tau + (2.0 / g) * np.log(1.0 + g / k)
    else:
        r = mid - q * params[P_SKEW] * 1e-4 * mid
        delta = 2.0 * params[P_HALF] * 1e-4 * mid
    delta = max(delta, params[P_MIN_SPREAD] * 1e-4 * mid)
    kappa_used = k if params[P_MODE] == 0.0 else 0.0
    api.annotate(st, N_QUOTE, r, delta, user[U_VAR], q, mid, kappa_used, 0.0, 0.0)
    tick = api.tick_size(st, a)
    best_bid = api.best_bid(st, a)
    best_ask = api.best_ask(st, a)
    binary = api.is_binary(st, a)
    levels = min(np.int64(params[P_LEVELS]), MAX_LEVELS)
    spacing = params[P_SPACING] * 1e-4 * mid
    tol = params[P_TOL] * 1e-4 * mid
    max_pos = params[P_MAX_POS]
    for side_i in range(2):
        side = 1 if side_i == 0 else -1
        adds = side * q > 0.0  # this side would grow |position|
        qty = api.round_lot(st, a, size * (np.exp(-params[P_SHAPE] * abs(q)) if adds else 1.0))
        allowed = (pos + side * qty) * side <= max_pos + 1e-12
        for lv in range(MAX_LEVELS):
            slot = U_IDS + side_i * MAX_LEVELS + lv
            oid = np.int64(user[slot])
            live = oid > 0 and api.is_live(st, oid)
            if lv >= levels or not allowed or qty <= 0.0:
                if live:
                    api.cancel(st, oid)
                continue
            if side > 0:
                px = api.round_bid(st, a, r - 0.5 * delta - lv * spacing)
                if px >= best_ask:
                    px = best_ask - tick
            else:
                px = api.round_ask(st, a, r + 0.5 * delta + lv * spacing)
                if px <= best_bid:
                    px = best_bid + tick
            if binary:
                px = min(max(px, tick), 1.0 - tick)
            if px <= 0.0:
                continue
            if live:
                if api.cancel_pending(st, oid) or api.order_status(st, oid) == api.ST_NEW:
                    continue
                same_size = abs(api.order_leaves(st, oid) - qty) <= 1e-12
                if abs(api.order_price(st, oid) - px) <= tol and same_size:
                    continue
                if api.modify(st, oid, px, api.order_filled(st, oid) + qty):
                    user[U_QUOTES] += 1.0
            else:
                new_id = api.submit(st, a, side, px, qty, api.POST_ONLY)
                user[slot] = new_id if new_id > 0 else 0.0
                if new_id > 0:
                    user[U_QUOTES] += 1.0


def quote_internals(result) -> dict[str, np.ndarray]:
    """The maker's quote decisions over time (its ``N_QUOTE`` annotations): time (ns), mid, reservation price,
    spread δ and skew r − mid (price), volatility estimate σ (price/√s, the square root of σ²) and q."""
    notes = result.notes
    rows = notes[notes[:, 1] == N_QUOTE] if len(notes) else np.zeros((0, notes.shape[1] if notes.ndim == 2 else 10))
    r, delta, var, q, mid = (rows[:, 2 + k] for k in range(5))
    return {"ts": rows[:, 0].astype(np.int64), "mid": mid, "reservation": r, "spread": delta, "skew": r - mid,
            "sigma": np.sqrt(np.maximum(var, 0.0)), "q": q}


def mm(quote_interval_ms: float = 100.0) -> Strategy:
    """The market maker, re-quoting every ``quote_interval_ms`` of recording time."""
    return Strategy("mm", mm_kernel, params=dict(PARAMS), schedule=Schedule(interval_ms=quote_interval_ms),
                    state_size=STATE_SIZE, specs=SPECS, internals=quote_internals)

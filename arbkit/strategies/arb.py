"""Cross-venue spread arbitrage: take both legs when the spread is wide, close on profit, loss or time.

Two instruments A and B. The entry spread in bps, both directions, at the touches:

* ``up``   = (bid_B − ask_A) / mid_A · 1e4 — buy A, sell B  (direction +1)
* ``down`` = (bid_A − ask_B) / mid_A · 1e4 — buy B, sell A  (direction −1)

Enter when a spread ≥ ``entry_bps`` (minus both taker fees when ``net_of_fees``) with two
IOC orders of ``order_size`` at the touches (they walk the book up to that price). While
open, the round trip is marked at the prices that would close it (the touches on the
other side): ``pnl_bps`` = closing PnL / entry notional of A · 1e4 (fees of the four fills
taken off when ``net_of_fees``). Exit with two market orders when ``pnl_bps`` ≥ ``tp_bps``
(``tp``), ≤ −``stop_loss_bps`` (``stop_loss``), ``time_limit_s`` after the entry decision
(``time_limit``: a wake-up, ``api.wake_at``, so the exit goes out on time even when no event
arrives), or as soon as the engine's kill switch has tripped (``kill_switch``; no new entries
after it).

Sizes: both legs hold the same exposure in the base asset. ``order_size`` is A's quantity (rounded down to
A's lot; it must be at least one lot of A); B's is the quantity with the same base exposure at the entry
decision, at the touches the legs take: base = qty · contract_size for spot and linear legs, qty ·
contract_size / price for inverse ones (contracts of ``contract_size`` quote units), so spot BTCUSDT 0.05 at
60,000 against COIN-M BTCUSD_PERP (100 USD contracts) bid 60,050 sells floor(0.05 · 60,050 / 100) = 30
contracts. B's quantity is rounded down to B's lot; an entry where it is below one lot is skipped and counted
(:func:`skipped_entries`). Two linear legs of contract size 1 trade the same quantity (no price involved).
If the legs fill unequally, their base exposures (each leg's fills at its average price) are compared and the
difference is hedged (a market order on the short leg, ``imbalance_mode`` 0) or unwound (the long leg's excess
sold back, mode 1), sized in that leg's units at the touch it takes; both counted. The exit closes what each
leg holds, so a closed round trip is flat in both instruments.
``pnl_bps``, the paper trader (:func:`paper_step_nb`) and its funding carry are per unit of base exposure,
which both legs hold alike, so they do not depend on the sizes (an inverse leg's PnL converted at its exit
price is its base exposure times the price change, as for a linear leg).
At most ``max_open_round_trips`` at a time; one entry at a time in flight.

Round trips are written as annotations (``Result.notes``); :func:`round_trips` turns them
and the fills into the round-trip table.

Alongside its orders the kernel runs the edge model's paper trader (:func:`paper_step_nb`)
on the books it is called with, with the funding its round trips carry across perpetual
funding times (:func:`paper_funding_nb`, from the recording's FUNDING rows), and counts the legs' spreads in a fixed-bin histogram
(:func:`count_spread_nb`); :func:`paper_edge` reads both from the final user state, so the
edge needs no second pass over the recording. The strategy's hooks (``round_trips``,
``edge``, objective and rank keys) are declared in :func:`arb`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from numba import njit

from arbkit.core.errors import ConfigError
from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.params import asset, bps, choice, flag, integer, non_negative, order_size, positive
from arbkit.engine.strategy import Strategy, strategy_kernel
from arbkit.strategies.hooks import PaperEdge, SpreadHistogram

# params
P_A, P_B, P_ENTRY, P_TP, P_SL, P_TIME, P_SIZE, P_MAX_OPEN, P_NET, P_IMB_MODE = range(10)
PARAMS = {"asset_a": 0, "asset_b": 1, "entry_bps": 10.0, "tp_bps": 14.0, "stop_loss_bps": 50.0,
          "time_limit_s": 300.0, "order_size": 0.01, "max_open_round_trips": 1, "net_of_fees": 1,
          "imbalance_mode": 0}

# user state: header then slots
H_NEXT_RT, H_HEDGES, H_UNWINDS, H_ABORTED, H_SKIPPED = range(5)
HEADER = 8
MAX_SLOTS = 16
# S_T0 / S_T0NS: the entry decision's time as whole seconds and ns within the second (a float64 holds
# neither an epoch-ns time nor a deadline exactly); S_QA / S_QB: the entry orders' fills, S_HELD_A / S_HELD_B:
# what the round trip holds of each leg once balanced (what the exit closes), each in its own quantity unit
(S_STATUS, S_DIR, S_RT, S_T0, S_SPREAD, S_OA, S_OB, S_XA, S_XB, S_QA, S_QB, S_PA, S_PB, S_REASON, S_FIX,
 S_HELD_A, S_T0NS, S_HELD_B) = range(18)
SLOT_W = 18
FREE, ENTERING, BALANCING, OPEN, EXITING = 0, 1, 2, 3, 4

# the edge model's paper trader, after the slots: closed round trips, their gross bps sum, the open one
PAPER = HEADER + MAX_SLOTS * SLOT_W
PP_N, PP_SUM, PP_DIR, PP_LONG, PP_SHORT, PP_REF, PP_T0, PP_LAST = range(PAPER, PAPER + 8)
# its funding carry: closed round trips' bps sum, the open one's so far, the legs' last funding times seen (s)
PP_CARRY, PP_OPEN_CARRY, PP_SEEN_A, PP_SEEN_B = range(PAPER + 8, PAPER + 12)
# the spread histogram: its bins (set by init_state), the legs' tops last counted, then per direction
# (up, down) the count below the range, the bins, the count above it
SH_LO, SH_BIN, SH_BINS = PAPER + 12, PAPER + 13, PAPER + 14
SH_TOPS = PAPER + 15
SH_COUNTS = PAPER + 19
SPREAD_RANGE_BPS = (-50.0, 50.0)
SPREAD_BIN_BPS = 0.25
#: calls driven by the market (not by the strategy's own responses): the paper trader steps on these,
#: so it sees the same books at the same times for every parameter set
MARKET_CALLS = api.CALL_EVERY_EVENT | api.CALL_INTERVAL | api.CALL_TOP_CHANGE

# what each parameter may be (checked against the recording before a run)
SPECS = {"asset_a": asset(), "asset_b": asset(distinct_from="asset_a"), "entry_bps": bps(), "tp_bps": bps(),
         "stop_loss_bps": non_negative(unit="bps"), "time_limit_s": positive(unit="s"), "order_size": order_size("asset_a"),
         "max_open_round_trips": integer(1, MAX_SLOTS), "net_of_fees": flag(),
         "imbalance_mode": choice(0, 1, labels=("hedge", "unwind"))}

# annotation codes and exit reasons
N_OPEN, N_OPENED, N_EXIT, N_CLOSED, N_IMBALANCE, N_ABORT = 1, 2, 3, 4, 5, 6
EXIT_REASONS = {1: "tp", 2: "stop_loss", 3: "time_limit", 4: "kill_switch", 5: "end_of_data"}
R_TP, R_SL, R_TIME, R_KILL = 1, 2, 3, 4


@njit(cache=True)
def paper_step_nb(user, t, bid_a, ask_a, bid_b, ask_b, entry_bps, tp_bps, stop_bps, limit_ns):
    """One step of the edge model's paper trader at the legs' tops at time ``t`` (ns).

    No costs, latency or queue: with a round trip open, mark it at the closing touches and
    close it when it gains ``tp_bps``, loses ``stop_bps`` or has lasted ``limit_ns``; with
    none open (or one just closed: zero latency, the same book), enter when a direction's
    spread reaches ``entry_bps``, at the touches.
    """
    if not (bid_a == bid_a and ask_a == ask_a and bid_b == bid_b and ask_b == ask_b):
        return
    d = user[PP_DIR]
    if d != 0.0:
        close_long = bid_a if d > 0 else bid_b
        close_short = ask_b if d > 0 else ask_a
        pnl = ((close_long - user[PP_LONG]) + (user[PP_SHORT] - close_short)) / user[PP_REF] * 1e4
        user[PP_LAST] = pnl
        if not (pnl >= tp_bps or pnl <= -stop_bps or t - user[PP_T0] >= limit_ns):
            return
        user[PP_N] += 1.0
        user[PP_SUM] += pnl
        user[PP_CARRY] += user[PP_OPEN_CARRY]
        user[PP_DIR] = 0.0
    mid = 0.5 * (bid_a + ask_a)
    up = (bid_b - ask_a) / mid * 1e4
    down = (bid_a - ask_b) / mid * 1e4
    if up >= entry_bps and up >= down:
        user[PP_DIR] = 1.0
        user[PP_LONG] = ask_a
        user[PP_SHORT] = bid_b
        user[PP_REF] = ask_a
    elif down >= entry_bps:
        user[PP_DIR] = -1.0
        user[PP_LONG] = ask_b
        user[PP_SHORT] = bid_a
        user[PP_REF] = bid_a
    else:
        return
    user[PP_T0] = t
    user[PP_LAST] = 0.0
    user[PP_OPEN_CARRY] = 0.0


@njit(cache=True)
def paper_funding_nb(user, last_a_s, rate_a, last_b_s, rate_b):
    """The funding the paper trader's open round trip paid or received at a funding time that passed since its
    last step (each leg's last funding time, s, and rate), in bps of its entry notional.

    A perpetual leg held across a funding time at rate ``r`` adds ``-r · P_long / P_ref · 1e4`` (the long leg)
    or ``+r · P_short / P_ref · 1e4`` (the short leg), at the legs' entry prices ``P`` and the reference price
    of the spread (leg A's entry): long pays when the rate is positive. For an inverse leg the same bps of its
    notional. A leg with no FUNDING rows (spot) never has a funding time.
    """
    d = user[PP_DIR]
    for leg in range(2):
        last = last_a_s if leg == 0 else last_b_s
        slot = PP_SEEN_A + leg
        if not (last > user[slot]):
            continue
        user[slot] = last
        if d != 0.0 and last * 1e9 > user[PP_T0]:
            is_long = (leg == 0) == (d > 0)
            rate = rate_a if leg == 0 else rate_b
            if is_long:
                user[PP_OPEN_CARRY] -= rate * user[PP_LONG] / user[PP_REF] * 1e4
            else:
                user[PP_OPEN_CARRY] += rate * user[PP_SHORT] / user[PP_REF] * 1e4


@njit(cache=True)
def count_spread_nb(user, bid_a, ask_a, bid_b, ask_b):
    """Count both directions' spreads (bps of A's mid) once per change of the legs' tops."""
    if not (bid_a == bid_a and ask_a == ask_a and bid_b == bid_b and ask_b == ask_b):
        return
    if (bid_a == user[SH_TOPS] and ask_a == user[SH_TOPS + 1] and bid_b == user[SH_TOPS + 2]
            and ask_b == user[SH_TOPS + 3]):
        return
    user[SH_TOPS] = bid_a
    user[SH_TOPS + 1] = ask_a
    user[SH_TOPS + 2] = bid_b
    user[SH_TOPS + 3] = ask_b
    mid = 0.5 * (bid_a + ask_a)
    n = np.int64(user[SH_BINS])
    for k in range(2):
        spread = (bid_b - ask_a) / mid * 1e4 if k == 0 else (bid_a - ask_b) / mid * 1e4
        i = np.int64(np.floor((spread - user[SH_LO]) / user[SH_BIN]))
        i = min(max(i, np.int64(-1)), n) + 1  # 0: below the range, n + 1: above it
        user[SH_COUNTS + k * (n + 2) + i] += 1.0


@njit(cache=True)
def _deadline_nb(user, o, params):
    """The time-limit exit time of the round trip in slot offset ``o`` (exact ns)."""
    t0 = np.int64(user[o + S_T0]) * 1_000_000_000 + np.int64(user[o + S_T0NS])
    return t0 + np.int64(np.round(params[P_TIME] * 1e9))


@njit(cache=True)
def base_of_nb(st, a, qty, price):
    """Base-asset exposure of ``qty`` of asset ``a`` at ``price``: ``qty · contract_size`` for spot and linear
    contracts, ``qty · contract_size / price`` for inverse ones (contracts of ``contract_size`` quote units)."""
    cs = api.contract_size(st, a)
    return qty * cs / price if api.is_inverse(st, a) else qty * cs


@njit(cache=True)
def qty_for_base_nb(st, a, base, price):
    """The quantity of asset ``a`` that holds ``base`` of the base asset at ``price`` (inverse of
    :func:`base_of_nb`), not rounded to the lot."""
    cs = api.contract_size(st, a)
    return base * price / cs if api.is_inverse(st, a) else base / cs


@njit(cache=True)
def leg_b_size_nb(st, a, b, size_a, price_a, price_b):
    """B's entry quantity: the same base exposure as ``size_a`` of A, A at ``price_a`` and B at ``price_b`` (the
    touches the legs take), rounded down to B's lot (0 when below one lot). Two linear legs of contract size 1:
    ``size_a`` itself, no price involved."""
    return api.round_lot(st, b, qty_for_base_nb(st, b, base_of_nb(st, a, size_a, price_a), price_b))


@njit(cache=True)
def _imbalance_nb(st, a, b, d, qa, qb, pa, pb):
    """The entry's base imbalance, long leg minus short leg, each leg's fills at their average price."""
    ea = base_of_nb(st, a, qa, pa) if qa > 0.0 else 0.0
    eb = base_of_nb(st, b, qb, pb) if qb > 0.0 else 0.0
    return ea - eb if d > 0 else eb - ea


@njit(cache=True)
def _fix_leg_nb(diff, hedge, long_leg, short_leg):
    """The leg the corrective order trades: too long (``diff`` > 0) -> sell more of the short leg (hedge) or sell
    back the long leg's excess (unwind); too short -> buy more of the long leg (hedge) or buy back the short leg."""
    return short_leg if (diff > 0) == hedge else long_leg


@njit(cache=True)
def _close_legs_nb(st, user, o, a, long_leg, short_leg):
    """Market orders closing what the round trip in slot offset ``o`` holds of each leg (ids in S_XA: long leg,
    S_XB: short leg; 0 for a leg with nothing to close)."""
    held_long = user[o + S_HELD_A] if long_leg == a else user[o + S_HELD_B]
    held_short = user[o + S_HELD_A] if short_leg == a else user[o + S_HELD_B]
    q_long = api.round_lot(st, long_leg, held_long)
    q_short = api.round_lot(st, short_leg, held_short)
    user[o + S_XA] = api.submit(st, long_leg, -1, 0.0, q_long, api.MARKET) if q_long > 0.0 else 0.0
    user[o + S_XB] = api.submit(st, short_leg, 1, 0.0, q_short, api.MARKET) if q_short > 0.0 else 0.0


@njit(cache=True)
def _new_entry_nb(st, params, user, a, b, now, ok, entering, n_busy, ask_a, bid_a, ask_b, bid_b, mid, net, fee_bps):
    """Open a round trip when the spread is wide enough (two IOC legs at the touches, B sized to A's base
    exposure); an entry whose B quantity is below one lot of B is skipped and counted (``H_SKIPPED``)."""
    if not ok or entering or n_busy >= min(params[P_MAX_OPEN], MAX_SLOTS) or api.kill_switch_active(st):
        return
    size_a = api.round_lot(st, a, params[P_SIZE])
    if size_a <= 0.0:
        return
    up = (bid_b - ask_a) / mid * 1e4
    down = (bid_a - ask_b) / mid * 1e4
    need = params[P_ENTRY] + (fee_bps if net else 0.0)
    d = 0
    spread = 0.0
    if up >= need and up >= down:
        d = 1
        spread = up
    elif down >= need:
        d = -1
        spread = down
    if d == 0:
        return
    size_b = leg_b_size_nb(st, a, b, size_a, ask_a if d > 0 else bid_a, bid_b if d > 0 else ask_b)
    if not size_b > 0.0:
        user[H_SKIPPED] += 1.0
        return
    for k in range(MAX_SLOTS):
        o = HEADER + k * SLOT_W
        if user[o + S_STATUS] != FREE:
            continue
        if d > 0:
            oa = api.submit(st, a, 1, ask_a, size_a, api.IOC)
            ob = api.submit(st, b, -1, bid_b, size_b, api.IOC)
        else:
            oa = api.submit(st, a, -1, bid_a, size_a, api.IOC)
            ob = api.submit(st, b, 1, ask_b, size_b, api.IOC)
        rt = user[H_NEXT_RT] + 1.0
        user[H_NEXT_RT] = rt
        for j in range(SLOT_W):
            user[o + j] = 0.0
        user[o + S_STATUS] = ENTERING
        user[o + S_DIR] = d
        user[o + S_RT] = rt
        user[o + S_T0] = np.float64(now // 1_000_000_000)
        user[o + S_T0NS] = np.float64(now % 1_000_000_000)
        user[o + S_SPREAD] = spread
        user[o + S_OA] = oa
        user[o + S_OB] = ob
        api.annotate(st, N_OPEN, rt, d, spread, oa, ob, 0.0, 0.0, 0.0)
        return


@strategy_kernel
def arb_kernel(st, params, user):
    """The arbitrage kernel: entries, exits and leg management at each call."""
    a = np.int64(params[P_A])
    b = np.int64(params[P_B])
    now = api.now(st)
    ok = api.book_usable(st, a) and api.book_usable(st, b)
    ask_a = api.best_ask(st, a)
    bid_a = api.best_bid(st, a)
    ask_b = api.best_ask(st, b)
    bid_b = api.best_bid(st, b)
    mid = 0.5 * (ask_a + bid_a)
    net = params[P_NET] > 0.0
    fee_bps = api.taker_fee_bps(st, a) + api.taker_fee_bps(st, b)
    if api.call_reason(st) & MARKET_CALLS:
        paper_funding_nb(user, api.last_funding(st, a) / 1e9, api.last_funding_rate(st, a),
                         api.last_funding(st, b) / 1e9, api.last_funding_rate(st, b))
        paper_step_nb(user, float(now), bid_a, ask_a, bid_b, ask_b, params[P_ENTRY], params[P_TP], params[P_SL],
                      params[P_TIME] * 1e9)
        count_spread_nb(user, bid_a, ask_a, bid_b, ask_b)
    n_busy = 0
    entering = False
    for k in range(MAX_SLOTS):
        o = HEADER + k * SLOT_W
        status = user[o + S_STATUS]
        if status == FREE:
            continue
        n_busy += 1
        d = user[o + S_DIR]
        long_leg = a if d > 0 else b  # the leg bought on entry
        short_leg = b if d > 0 else a
        oa = np.int64(user[o + S_OA])
        ob = np.int64(user[o + S_OB])
        if status == ENTERING:
            entering = True
            if api.is_live(st, oa) or api.is_live(st, ob):
                continue
            qa = api.order_filled(st, oa)
            qb = api.order_filled(st, ob)
            user[o + S_QA] = qa
            user[o + S_QB] = qb
            user[o + S_PA] = api.order_avg_price(st, oa)
            user[o + S_PB] = api.order_avg_price(st, ob)
            if qa == 0.0 and qb == 0.0:
                api.annotate(st, N_ABORT, user[o + S_RT], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
                user[H_ABORTED] += 1.0
                user[o + S_STATUS] = FREE
                n_busy -= 1
                continue
            user[o + S_HELD_A] = qa
            user[o + S_HELD_B] = qb
            # the legs' base exposures compared (quantities of different contracts are not comparable), the
            # corrective order sized in its own leg's units at the touch it takes
            diff = _imbalance_nb(st, a, b, d, qa, qb, user[o + S_PA], user[o + S_PB])
            hedge = params[P_IMB_MODE] == 0.0
            leg = _fix_leg_nb(diff, hedge, long_leg, short_leg)
            fix_side = -1 if diff > 0 else 1
            fix_px = (bid_a if leg == a else bid_b) if fix_side < 0 else (ask_a if leg == a else ask_b)
            fix_qty = api.round_lot(st, leg, qty_for_base_nb(st, leg, abs(diff), fix_px))
            if abs(diff) > 1e-12 and fix_qty > 0.0:
                # diff > 0: too long -> sell (more of the short leg to hedge, the long leg back to unwind);
                # diff < 0: too short -> buy (more of the long leg to hedge, the short leg back to unwind)
                fix = api.submit(st, leg, fix_side, 0.0, fix_qty, api.MARKET)
                if hedge:
                    user[H_HEDGES] += 1.0
                else:
                    user[H_UNWINDS] += 1.0
                action = 1.0 if hedge else 2.0
                user[o + S_FIX] = fix
                api.annotate(st, N_IMBALANCE, user[o + S_RT], action, fix_qty, fix, 0.0, 0.0, 0.0, 0.0)
                user[o + S_STATUS] = BALANCING
                continue
            # equal base exposures, or apart by less than a lot of the leg to fix
            api.annotate(st, N_OPENED, user[o + S_RT], qa, qb, user[o + S_PA], user[o + S_PB], 0.0, 0.0, 0.0)
            user[o + S_STATUS] = OPEN
            status = OPEN  # and check the exits right away
        if status == BALANCING:
            entering = True
            fix = np.int64(user[o + S_FIX])
            if fix > 0 and api.is_live(st, fix):
                continue
            got = api.order_filled(st, fix) if fix > 0 else 0.0
            hedge = params[P_IMB_MODE] == 0.0
            diff = _imbalance_nb(st, a, b, d, user[o + S_QA], user[o + S_QB], user[o + S_PA], user[o + S_PB])
            leg = _fix_leg_nb(diff, hedge, long_leg, short_leg)
            # a hedge adds to the leg it trades, an unwind takes from it
            user[o + (S_HELD_A if leg == a else S_HELD_B)] += got if hedge else -got
            if user[o + S_HELD_A] <= 1e-12 or user[o + S_HELD_B] <= 1e-12:
                # one leg holds nothing: no spread to hold, close what remains
                user[o + S_REASON] = R_TIME
                _close_legs_nb(st, user, o, a, long_leg, short_leg)
                user[o + S_STATUS] = EXITING
                continue
            api.annotate(st, N_OPENED, user[o + S_RT], user[o + S_QA], user[o + S_QB], user[o + S_PA],
                         user[o + S_PB], 0.0, 0.0, 0.0)
            user[o + S_STATUS] = OPEN
            status = OPEN
        if status == OPEN:
            if not ok:
                continue
            p_long = user[o + S_PA] if d > 0 else user[o + S_PB]
            p_short = user[o + S_PB] if d > 0 else user[o + S_PA]
            close_long = bid_a if d > 0 else bid_b  # sell the long leg at its bid
            close_short = ask_b if d > 0 else ask_a  # buy the short leg back at its ask
            ref = user[o + S_PA] if user[o + S_PA] == user[o + S_PA] else mid
            # per unit of base exposure, which both legs hold alike (an inverse leg's PnL converted at its exit
            # price is its base exposure times the price change), so the bps do not depend on the sizes
            pnl_bps = ((close_long - p_long) + (p_short - close_short)) / ref * 1e4
            if net:
                pnl_bps -= 2.0 * fee_bps
            reason = 0
            if api.kill_switch_active(st):
                reason = R_KILL
            elif pnl_bps >= params[P_TP]:
                reason = R_TP
            elif pnl_bps <= -params[P_SL]:
                reason = R_SL
            elif now >= _deadline_nb(user, o, params):
                reason = R_TIME
            if reason == 0:
                continue
            user[o + S_REASON] = reason
            _close_legs_nb(st, user, o, a, long_leg, short_leg)
            api.annotate(st, N_EXIT, user[o + S_RT], reason, pnl_bps, user[o + S_XA], user[o + S_XB], 0.0, 0.0, 0.0)
            user[o + S_STATUS] = EXITING
            continue
        if status == EXITING:
            xa = np.int64(user[o + S_XA])
            xb = np.int64(user[o + S_XB])
            if (xa > 0 and api.is_live(st, xa)) or (xb > 0 and api.is_live(st, xb)):
                continue
            api.annotate(st, N_CLOSED, user[o + S_RT], user[o + S_REASON], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            user[o + S_STATUS] = FREE
            n_busy -= 1
    _new_entry_nb(st, params, user, a, b, now, ok, entering, n_busy, ask_a, bid_a, ask_b, bid_b, mid, net, fee_bps)
    # the next time-limit exit, as a wake-up (one pending per strategy: the earliest open round trip's)
    nxt = np.int64(-1)
    for k in range(MAX_SLOTS):
        o = HEADER + k * SLOT_W
        if user[o + S_STATUS] == OPEN or user[o + S_STATUS] == ENTERING or user[o + S_STATUS] == BALANCING:
            dl = _deadline_nb(user, o, params)
            if dl > now and (nxt < 0 or dl < nxt):
                nxt = dl
    if nxt > 0:
        api.wake_at(st, nxt)


def arb(interval_ms: float = 100.0, spread_range_bps: tuple[float, float] = SPREAD_RANGE_BPS,
        spread_bin_bps: float = SPREAD_BIN_BPS) -> Strategy:
    """The arbitrage strategy, called on every top-of-book change, on responses, every ``interval_ms``, and at its
    time-limit wake-ups.

    ``spread_range_bps`` / ``spread_bin_bps``: the bins of the spread histogram the report draws.
    """
    lo, hi = (float(x) for x in spread_range_bps)
    if not (hi > lo and spread_bin_bps > 0):
        raise ConfigError(f"arb: spread_range_bps {spread_range_bps} and spread_bin_bps {spread_bin_bps} give no bins")
    bins = max(1, int(round((hi - lo) / spread_bin_bps)))

    def init_state(params: np.ndarray, n_assets: int) -> np.ndarray:
        user = np.zeros(SH_COUNTS + 2 * (bins + 2))
        user[SH_LO], user[SH_BIN], user[SH_BINS] = lo, spread_bin_bps, bins
        user[SH_TOPS:SH_TOPS + 4] = np.nan  # nothing counted yet
        user[PP_SEEN_A:PP_SEEN_B + 1] = -np.inf  # no funding time seen yet
        return user

    return Strategy("arb", arb_kernel, params=dict(PARAMS),
                    schedule=Schedule(on_top_change=True, interval_ms=interval_ms, on_response=True),
                    state_size=SH_COUNTS + 2 * (bins + 2), init_state=init_state,
                    round_trips=round_trips, edge=paper_edge, objective="edge_{costs}",
                    rank_keys=(("edge_realistic", True), ("edge_conservative", True), ("total_pnl", True)),
                    run_label=run_label, specs=SPECS)


def run_label(params: Mapping[str, float]) -> str:
    """A parameter set's label in run ids: ``E<entry_bps>_TP<tp_bps>`` (e.g. ``E1.5_TP2``)."""
    return f"E{float(params['entry_bps']):g}_TP{float(params['tp_bps']):g}"


def paper_edge(result: Any, trips: list[dict[str, Any]] | None = None) -> PaperEdge:
    """The edge model's inputs from an ``arb`` replay: the paper trader's round trips, the legs' fees, the
    replay's own round trips (``trips``, else :func:`round_trips`) in bps of their entry notional, and the
    spread histogram."""
    u = result.user_state
    if len(u) <= SH_COUNTS:
        raise ConfigError("paper_edge: the result holds no arb user state (replayed by an older arbkit?)")
    n, total, carry = int(u[PP_N]), float(u[PP_SUM]), float(u[PP_CARRY])
    if u[PP_DIR] != 0.0:  # still open at the end: closed at its last mark
        n += 1
        total += float(u[PP_LAST])
        carry += float(u[PP_OPEN_CARRY])
    a, b = int(result.params["asset_a"]), int(result.params["asset_b"])
    insts = result.instruments
    done = [t for t in (round_trips(result) if trips is None else trips) if t["exit_reason"] != "end_of_data"]
    size = float(result.params.get("order_size", 0.0))
    realised = tuple(t["pnl_net"] / _entry_notional(result, t, size) * 1e4 for t in done if size > 0)
    bins = int(u[SH_BINS])
    counts = u[SH_COUNTS:SH_COUNTS + 2 * (bins + 2)].reshape(2, bins + 2)
    spreads = SpreadHistogram(float(u[SH_LO]), float(u[SH_BIN]), counts[:, 1:-1].copy(), counts[:, 0].copy(),
                              counts[:, -1].copy(), (f"buy {insts[a].key} / sell {insts[b].key}",
                                                     f"buy {insts[b].key} / sell {insts[a].key}"))
    return PaperEdge(round_trips=n, gross_bps_sum=total, fee_bps=2.0 * (insts[a].taker_fee_bps + insts[b].taker_fee_bps),
                     fills=4, realised_bps=realised, spreads=spreads, carry_bps_sum=carry)


def _entry_notional(result: Any, trip: Mapping[str, Any], size: float) -> float:
    """The quote notional of ``size`` of leg A at its first entry fill (``size · price · contract_size``, inverse:
    ``size · contract_size``): the round trip's notional, B holding the same base exposure."""
    f = result.fills[np.isin(result.fills["order_id"], trip["orders"][:1])]
    if not len(f):
        return float("nan")
    inst = result.instruments[int(f["asset"][0])]
    if inst.contract_type.startswith("inverse"):
        return size * inst.contract_size
    return size * float(f["price"][0]) * inst.contract_size


def skipped_entries(result: Any) -> int:
    """Entries an ``arb`` run skipped because B's quantity for A's base exposure was below one lot of B."""
    return int(result.user_state[H_SKIPPED])


def round_trips(result: Any) -> list[dict[str, Any]]:
    """The round trips of an ``arb`` run: times, direction, legs' fills, exit reason, gross/net PnL, fees, slippage.

    Leg PnL is in each instrument's settlement currency; inverse legs are converted to the
    quote currency at their exit fill price. Round trips still open at the end of the data
    are closed on paper at the last mid with reason ``end_of_data``.
    """
    notes = result.notes
    fills = result.fills
    insts = result.instruments
    trips: dict[int, dict[str, Any]] = {}
    for row in notes:
        code, rt = int(row[1]), int(row[2])
        if code == N_OPEN:
            trips[rt] = {"round_trip": rt, "entry_ts": int(row[0]), "direction": int(row[3]),
                         "entry_spread_bps": float(row[4]), "orders": [int(row[5]), int(row[6])],
                         "exit_reason": None, "exit_ts": None}
        elif rt in trips:
            t = trips[rt]
            if code == N_IMBALANCE:
                t["orders"].append(int(row[5]))
                t["imbalance"] = {1: "hedged", 2: "unwound"}[int(row[3])]
            elif code == N_EXIT:
                t["exit_reason"] = EXIT_REASONS[int(row[3])]
                t["exit_signal_bps"] = float(row[4])
                t["orders"] += [int(row[5]), int(row[6])]
            elif code == N_CLOSED:
                t["exit_ts"] = int(row[0])
                if t["exit_reason"] is None:
                    t["exit_reason"] = EXIT_REASONS.get(int(row[3]), "time_limit")
            elif code == N_ABORT:
                t["aborted"] = True
    out = []
    for rt, t in sorted(trips.items()):
        if t.get("aborted"):
            continue
        mine = fills[np.isin(fills["order_id"], [o for o in t["orders"] if o > 0])]
        gross = 0.0
        fees = 0.0
        for asset in np.unique(mine["asset"]):
            inst = insts[int(asset)]
            f = mine[mine["asset"] == asset]
            inverse = inst.contract_type.startswith("inverse")
            flow = f["qty"] * inst.contract_size / f["price"] if inverse else f["qty"] * f["price"] * inst.contract_size
            leg = float(np.sum(np.where(f["side"] > 0, -flow, flow))) if not inverse else float(np.sum(np.where(f["side"] > 0, flow, -flow)))
            leg_fee = float(f["fee"].sum())
            pos = float(np.sum(f["side"] * f["qty"]))
            mark = float(result.accounts[int(asset), 7])
            if abs(pos) > 1e-12:  # still open at the end: marked at the last mid, whatever exit was signalled
                leg += pos * mark * inst.contract_size if not inverse else -pos * inst.contract_size / mark
                t["exit_reason"] = "end_of_data"
            if inverse:
                conv = float(f["price"][-1])
                leg *= conv
                leg_fee *= conv
            gross += leg
            fees += leg_fee
        if t["exit_reason"] is None:
            t["exit_reason"] = "end_of_data"
        entry_fills = mine[np.isin(mine["order_id"], t["orders"][:2])]
        exit_fills = mine[np.isin(mine["order_id"], t["orders"][2:])]
        if len(entry_fills):
            t["entry_ts"] = int(entry_fills["ts"].min())  # exact (annotation times are float64)
        if len(exit_fills) and t["exit_reason"] != "end_of_data":
            t["exit_ts"] = int(exit_fills["ts"].max())
        elif t["exit_reason"] == "end_of_data":
            t["exit_ts"] = None  # it has not exited: a checkpoint never counts it as closed
        taker = mine[mine["maker"] == 0]
        t.update({
            "fills": int(len(mine)), "pnl_gross": gross, "fees": fees, "pnl_net": gross - fees,
            "slippage_avg_bps": float(np.average(taker["slip_touch_bps"], weights=taker["qty"])) if len(taker) else 0.0,
        })
        out.append(t)
    return out

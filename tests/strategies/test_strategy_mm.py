"""The market maker on hand-built books (fixed and Avellaneda–Stoikov modes, binary books) and on real data."""
import math

import numpy as np
import pytest

from arbkit.engine import codes as c
from arbkit.run.replay import replay
from arbkit.kpi import compute_kpis
from arbkit.core.schema import Instrument
from arbkit.strategies.mm import N_QUOTE, mm
from helpers.events import make_events

INST = [Instrument("sim", "X", 0.5, 0.25, contract_type="linear_perp")]
IMAGE = [(0, 0, 5, 0, 0.0, 0.0, 0), (0, 0, 1, 1, 99.5, 2.0, 0), (0, 0, 1, -1, 100.5, 2.0, 0)]
MS = 1_000_000
TICKS = [(k * 100 * MS, 0, 3, 1, 100.5, 0.01, k) for k in range(1, 6)]  # trades away from our quotes


def _quotes(res):
    sub = res.orders[res.orders["event"] == c.EV_SUBMIT]
    return [(int(o["side"]), float(o["price"]), float(o["qty"])) for o in sub]


def test_fixed_half_spread_quotes():
    res = replay(make_events(IMAGE + TICKS), mm(), {"mode": 1, "half_spread_bps": 100.0, "order_size": 1.0, "max_position": 5.0},
                 instruments=INST)
    assert _quotes(res)[:2] == [(1, 99.0, 1.0), (-1, 101.0, 1.0)]
    assert res.counters["orders"] == 2 and res.counters["modifies"] == 0  # unchanged mid: quotes left alone


def test_avellaneda_stoikov_spread_with_flat_mid():
    g, k = 0.1, 1.5
    res = replay(make_events(IMAGE + TICKS), mm(), {"mode": 0, "gamma": g, "kappa": k, "order_size": 1.0, "max_position": 5.0},
                 instruments=INST)
    half = (2 / g) * math.log(1 + g / k) / 2  # sigma^2 = 0: only the arrival term
    assert _quotes(res)[:2] == [(1, math.floor((100 - half) / 0.5) * 0.5, 1.0), (-1, math.ceil((100 + half) / 0.5) * 0.5, 1.0)]
    notes = res.notes[res.notes[:, 1] == N_QUOTE]
    assert notes[0, 2] == pytest.approx(100.0) and notes[0, 3] == pytest.approx(2 * half)


def test_inventory_skews_and_max_position_pulls_a_side():
    # our bid (99.0) is traded through at 98.5: long 1.0 = max_position -> no more bids, ask shifted down
    rows = [(100 * MS, 0, 3, -1, 98.5, 3.0, 1)] + [(k * 100 * MS, 0, 4, 1, 99.5, 2.0, k) for k in range(2, 6)]
    res = replay(make_events(IMAGE + rows), mm(),
                 {"mode": 1, "half_spread_bps": 100.0, "inventory_skew_bps": 100.0, "order_size": 1.0,
                  "max_position": 1.0}, instruments=INST)
    assert res.positions()["sim:X"] == 1.0
    notes = res.notes[res.notes[:, 1] == N_QUOTE]
    assert notes[-1, 2] == pytest.approx(100.0 - 1.0 * 100e-4 * 100.0)  # r = mid - q * skew
    bids = res.orders[(res.orders["event"] == c.EV_SUBMIT) & (res.orders["side"] > 0)]
    assert len(bids) == 1  # the bid is not re-sent at max position
    mods = res.orders[res.orders["event"] == c.EV_MODIFY]
    assert len(mods) and mods["price"][-1] == 100.0  # ask re-quoted at r + half = 99 + 1 = 100.0


def test_binary_outcome_book_prices_stay_inside_0_1():
    inst = [Instrument("pm", "UP", 0.01, 1.0, contract_type="binary_outcome")]
    img = [(0, 0, 5, 0, 0.0, 0.0, 0), (0, 0, 1, 1, 0.97, 100.0, 0), (0, 0, 1, -1, 0.99, 100.0, 0)]
    rows = [(k * 100 * MS, 0, 3, 1, 0.99, 1.0, k) for k in range(1, 4)]
    # allow_short: the ask is quoted with no tokens held (the no-short rule has its own tests)
    res = replay(make_events(img + rows), mm(), {"mode": 1, "half_spread_bps": 500.0, "order_size": 10.0, "max_position": 50.0},
                 instruments=inst, allow_short=True)
    q = _quotes(res)
    assert q[0] == (1, 0.93, 10.0) and q[1] == (-1, 0.99, 10.0)  # ask clipped to 1 - tick
    assert res.counters["rejects"] == 0


def test_real_run_keeps_inventory_bounded(bundled):
    res = replay(bundled, mm(), {"asset": 1, "mode": 0, "gamma": 0.5, "kappa": 2.0, "order_size": 0.01,
                                 "max_position": 0.03, "num_levels": 2, "level_spacing_bps": 0.5,
                                 "refresh_tolerance_bps": 0.2},
                 fill={"queue": "power"}, latency={"entry": 1_000_000, "response": 1_000_000})
    k = compute_kpis(res)["total"]
    assert k["fills"] > 10 and k["maker_fill_ratio_pct"] == 100.0
    assert k["inventory_max_abs"] <= 0.03 + 2 * 0.01 + 1e-9  # max position plus orders already in flight
    notes = res.notes[res.notes[:, 1] == N_QUOTE]
    assert np.all(notes[:, 3] > 0)  # positive spread at every decision
    assert notes[:, 4].max() > 0  # sigma^2 was estimated from the real mid


def test_trade_log_has_one_line_per_fill_with_context(bundled, tmp_path):
    import json
    res = replay(bundled, mm(), {"asset": 1, "mode": 1, "half_spread_bps": 0.5, "order_size": 0.01,
                                 "max_position": 0.05}, latency={"entry": 1_000_000, "response": 1_000_000})
    path = res.trades_jsonl(tmp_path / "trades.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(res.fills) > 10
    first = lines[0]
    assert first["instrument"] == "binance-usdm:BTCUSDT" and first["liquidity"] == "maker"
    assert first["best_bid"] < first["best_ask"] and first["spread_bps"] > 0
    assert first["context"]["code"] == N_QUOTE and first["context"]["ts"] <= first["ts"]
    assert first["params"]["half_spread_bps"] == 0.5 and first["strategy"] == "mm"
    pos = 0.0
    for x in lines:
        assert x["inventory_before"] == pytest.approx(pos)
        pos += x["qty"] if x["side"] == "buy" else -x["qty"]
        assert x["inventory_after"] == pytest.approx(pos)
    # the last line's PnL so far, marked at the last fill price, matches an independent sum
    f = res.fills
    cash = float(np.sum(-f["side"] * f["qty"] * f["price"]))
    assert lines[-1]["pnl_so_far"] == pytest.approx(cash + pos * f["price"][-1] - float(f["fee"].sum()))


def test_kappa_fitted_from_trade_distances():
    # trades at 1, 2, 3, 4 ticks from the mid (mid 100, tick 0.5) with counts 400, 200, 100, 50:
    # ln(count) falls by ln 2 per 0.5 of price -> kappa = 2 ln 2 = 1.386
    rows = []
    seq = 1
    for k, n in ((1, 400), (2, 200), (3, 100), (4, 50)):
        for i in range(n):
            rows.append((seq * MS, 0, 3, 1, 100.0 + 0.5 * k, 0.01, seq))
            seq += 1
    rows.append((seq * MS + 200 * MS, 0, 4, 1, 99.5, 2.0, seq))
    img = [(0, 0, 5, 0, 0.0, 0.0, 0), (0, 0, 1, 1, 99.5, 2.0, 0), (0, 0, 1, -1, 100.5, 2.0, 0)]
    res = replay(make_events(img + rows), mm(), {"mode": 0, "kappa": 0.0, "order_size": 1.0, "max_position": 5.0,
                                                 "half_spread_bps": 1e4}, instruments=INST)
    notes = res.notes[res.notes[:, 1] == N_QUOTE]
    # distance is measured in whole ticks from the mid: (2 * trade_tick - bid - ask) // 2 -> 1..4 -> buckets 1..4
    assert notes[-1, 7] == pytest.approx(2 * math.log(2), rel=1e-9)
    assert notes[0, 7] == pytest.approx(1.5)  # the fallback before 50 trades


def test_kappa_fit_on_real_trades(bundled):
    res = replay(bundled, mm(), {"asset": 1, "mode": 0, "kappa": 0.0, "order_size": 0.01, "max_position": 0.03})
    kap = res.notes[res.notes[:, 1] == N_QUOTE][:, 7]
    assert np.isfinite(kap).all() and kap[-1] > 0 and kap[-1] != 1.5

"""The arbitrage strategy on hand-built two-venue books, and on the bundled real recording."""
from collections import Counter

import numpy as np
import pytest

from arbkit.run.replay import replay
from arbkit.kpi import compute_kpis
from arbkit.strategies.arb import arb, round_trips
from helpers.arb_books import IMAGES, INSTS, MS, PARAMS
from helpers.events import make_events

def _run(rows, **over):
    return replay(make_events(IMAGES + rows), arb(), {**PARAMS, **over}, instruments=INSTS)


def _fills(res):
    return [(int(f["asset"]), int(f["side"]), float(f["price"]), float(f["qty"])) for f in res.fills]


def test_take_profit_round_trip():
    rows = [(200 * MS, 0, 2, 1, 100.5, 2.0, 1),  # A bid up to 100.5 (its asks move up to 101.0) ...
            (200 * MS, 0, 2, -1, 100.0, 0.0, 1), (200 * MS, 0, 2, -1, 100.5, 0.0, 1), (200 * MS, 0, 2, -1, 101.0, 5.0, 1),
            (300 * MS, 1, 2, -1, 101.0, 0.0, 2), (300 * MS, 1, 2, -1, 100.5, 0.0, 2),  # ... B ask down to 100.5
            (300 * MS, 1, 2, 1, 100.5, 0.0, 2), (300 * MS, 1, 2, -1, 100.5, 3.0, 2), (300 * MS, 1, 2, 1, 100.0, 5.0, 2),
            (400 * MS, 0, 3, 1, 100.5, 0.1, 3)]
    res = _run(rows)
    # entry: buy A 1 @ 100.0, sell B 1 @ 100.5; exit: sell A 1 @ 100.5, buy B 1 @ 100.5
    assert _fills(res) == [(0, 1, 100.0, 1.0), (1, -1, 100.5, 1.0), (0, -1, 100.5, 1.0), (1, 1, 100.5, 1.0)]
    trips = round_trips(res)
    assert len(trips) == 1
    t = trips[0]
    assert t["exit_reason"] == "tp" and t["direction"] == 1
    assert t["entry_spread_bps"] == pytest.approx(0.5 / 99.75 * 1e4)
    assert t["pnl_gross"] == pytest.approx(0.5) and t["pnl_net"] == pytest.approx(0.5)
    assert t["entry_ts"] == 100 and t["exit_ts"] == 300 * MS
    assert res.pnl == pytest.approx(0.5)
    k = compute_kpis(res)["total"]
    assert res.positions() == {"va:X": 0.0, "vb:X": 0.0}
    assert k["buy_fill_ratio_pct"] == 100.0


def test_stop_loss_and_time_limit():
    drop = [(200 * MS, 0, 2, 1, 99.5, 0.0, 1), (200 * MS, 0, 2, 1, 98.0, 5.0, 1),  # A bid falls to 98
            (300 * MS, 0, 3, 1, 100.0, 0.1, 2), (400 * MS, 0, 3, 1, 100.0, 0.1, 3)]
    res = _run(drop)
    t = round_trips(res)[0]
    assert t["exit_reason"] == "stop_loss"
    # closing: sell A at 98.0, buy B at 101.0 -> (98 - 100) + (100.5 - 101) = -2.5
    assert t["pnl_gross"] == pytest.approx(-2.5)
    # a signalled exit that the data ends before is reported as end_of_data, marked at the mids
    t = round_trips(_run(drop[:2]))[0]
    assert t["exit_reason"] == "end_of_data" and t["pnl_gross"] == pytest.approx((99.0 - 100.0) + (100.5 - 100.75))
    quiet = [(100 * MS * k, 0, 3, 1, 100.0, 0.1, k) for k in range(1, 12)]
    res = _run(quiet, time_limit_s=0.5)
    trips = round_trips(res)
    assert trips[0]["exit_reason"] == "time_limit"
    assert trips[0]["exit_ts"] - trips[0]["entry_ts"] >= 500 * MS


def test_unequal_legs_are_hedged_or_unwound_and_counted():
    thin = [r for r in IMAGES if not (r[1] == 1 and r[2] == 1 and r[4] == 100.5)] + [(100, 1, 1, 1, 100.5, 0.5, 0)]
    # B's best bid only has 0.5: the sell IOC at 100.5 fills half (our takes stay off the level)
    res = replay(make_events(thin + [(200 * MS, 0, 3, 1, 100.0, 0.1, 1), (300 * MS, 0, 3, 1, 100.0, 0.1, 2)]),
                 arb(), {**PARAMS, "imbalance_mode": 0}, instruments=INSTS, fill={"taker_consumes_book": True})
    f = _fills(res)
    assert f[:3] == [(0, 1, 100.0, 1.0), (1, -1, 100.5, 0.5), (1, -1, 100.0, 0.5)]  # hedge: market sell 0.5 on B
    t = round_trips(res)[0]
    assert t["imbalance"] == "hedged"
    res = replay(make_events(thin + [(200 * MS, 0, 3, 1, 100.0, 0.1, 1), (300 * MS, 0, 3, 1, 100.0, 0.1, 2)]),
                 arb(), {**PARAMS, "imbalance_mode": 1}, instruments=INSTS, fill={"taker_consumes_book": True})
    f = _fills(res)
    assert f[:3] == [(0, 1, 100.0, 1.0), (1, -1, 100.5, 0.5), (0, -1, 99.5, 0.5)]  # unwind: sell back 0.5 of A
    assert round_trips(res)[0]["imbalance"] == "unwound"


def test_real_spot_vs_perp_round_trips_add_up_to_the_pnl(bundled):
    p = {"asset_a": 0, "asset_b": 1, "entry_bps": -4.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30,
         "order_size": 0.01, "net_of_fees": 0}
    # the spot leg sells coin it holds (allow_short; by default spot cannot go below zero)
    res = replay(bundled, arb(), p, latency={"entry": 1_000_000, "response": 1_000_000}, allow_short=True)
    trips = round_trips(res)
    assert len(trips) > 20
    reasons = Counter(t["exit_reason"] for t in trips)
    assert reasons["tp"] > 0 and reasons["stop_loss"] > 0
    # both legs linear: the round trips' net PnL (the last one marked at the mid) is the run's PnL
    assert sum(t["pnl_net"] for t in trips) == pytest.approx(res.pnl, abs=1e-6)
    # and each trip's gross PnL is recomputed from its own fills
    t = next(t for t in trips if t["exit_reason"] == "tp")
    mine = res.fills[np.isin(res.fills["order_id"], t["orders"])]
    assert t["pnl_gross"] == pytest.approx(float(np.sum(-mine["side"] * mine["qty"] * mine["price"])))
    assert t["fees"] == pytest.approx(float(mine["fee"].sum()))


def test_kpis_use_the_strategy_round_trips(bundled):
    from arbkit.kpi.gates import Gate

    p = {"asset_a": 0, "asset_b": 1, "entry_bps": -4.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30,
         "order_size": 0.01, "net_of_fees": 0}
    res = replay(bundled, arb(), p, latency={"entry": 1_000_000, "response": 1_000_000})
    trips = round_trips(res)
    tot = compute_kpis(res, round_trips=trips)["total"]
    assert tot["round_trips"] == len(trips)
    assert tot["exit_reasons"]["tp"]["count"] == sum(t["exit_reason"] == "tp" for t in trips)
    assert tot["win_rate_pct"] == pytest.approx(100.0 * sum(t["pnl_net"] > 0 for t in trips) / len(trips))
    verdict = Gate.load("default").evaluate(tot)
    assert [r["threshold"] for r in verdict["thresholds"]][-1] == "tp_exit_pct > 0"
    assert verdict["thresholds"][-1]["passed"]

"""KPIs: hand-worked books, and on the bundled recording recomputed independently from the fills."""
import math

import numpy as np
import pytest

from arbkit.run.replay import replay
from arbkit.kpi import KPI_DEFINITIONS, checkpoints, compute_kpis, round_trips_from_fills
from arbkit.strategies.touch_mm import touch_mm
from helpers.events import make_events
from helpers.fill_books import IMAGE, INST, IOC, POST, run


def test_hand_worked_round_trip_and_ratios():
    # buy 1.0 IOC at 101.0 -> 0.25 @ 100.5 + 0.5 @ 101.0 (0.25 cancelled); later sell 0.75 IOC at 99.0 -> 99.5 x0.75
    rows = [(1_000, 0, 4, 1, 99.5, 1.0, 1), (2_000, 0, 4, 1, 99.5, 1.0, 2), (3_000, 0, 4, 1, 99.5, 1.0, 3)]
    acts = [(100, 0, 0, 1, 101.0, 1.0, IOC, 0), (1_500, 0, 0, -1, 99.0, 0.75, IOC, 0),
            (1_500, 0, 0, 1, 98.0, 0.5, POST, 0)]
    res = run(rows, acts)
    k = compute_kpis(res)
    tot = k["total"]
    fee = (0.25 * 100.5 + 0.5 * 101.0 + 0.75 * 99.5) * 5e-4
    gross = 0.75 * 99.5 - (0.25 * 100.5 + 0.5 * 101.0)
    assert tot["round_trips"] == 1 and tot["win_rate_pct"] == 0.0
    assert tot["avg_pnl_per_rt"] == pytest.approx(gross - fee)
    assert tot["total_pnl"] == pytest.approx(gross - fee)  # flat at the end: PnL = the round trip
    assert tot["fees_paid"] == pytest.approx(fee)
    assert tot["buy_fill_ratio_pct"] == pytest.approx(0.75 / 1.5 * 100)  # 1.0 IOC + 0.5 resting bid sent
    assert tot["sell_fill_ratio_pct"] == 100.0
    assert tot["maker_fill_ratio_pct"] == 0.0
    slip = (0.5 * (101.0 - 100.5) / 100.5 * 1e4) / 1.5  # qty-weighted over the three taker fills (0.25, 0.5, 0.75)
    assert tot["slippage_avg_bps"] == pytest.approx(slip)
    assert tot["orders"] == 3 and tot["quote_count"] == 1 and tot["rejects"] == 0
    assert tot["exit_reasons"] == {"flat": {"count": 1, "pct": 100.0}}
    assert set(KPI_DEFINITIONS) <= set(tot)


def test_round_trips_split_when_a_fill_crosses_zero():
    f = np.zeros(3, dtype=[("ts", "i8"), ("side", "i1"), ("price", "f8"), ("qty", "f8"), ("fee", "f8")])
    f[:] = [(1, 1, 100.0, 2.0, 0.0), (2, -1, 110.0, 3.0, 0.3), (3, 1, 105.0, 1.0, 0.0)]
    trips = round_trips_from_fills(f)
    assert [round(t["pnl_net"], 9) for t in trips] == [20.0 - 0.2, 5.0 - 0.1]
    assert [(t["entry_ts"], t["exit_ts"]) for t in trips] == [(1, 2), (2, 3)]


@pytest.fixture(scope="module")
def mm_run(bundled):
    return replay(bundled, touch_mm(), {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05},
                  fill={"queue": "power"}, latency={"entry": 1_000_000, "response": 1_000_000}, seed=3)


def test_real_run_kpis_recomputed_from_the_fills(mm_run):
    res = mm_run
    f = res.fills
    assert len(f) > 50
    usdm = res.instruments[1]
    mine = f[f["asset"] == 1]
    # independent: PnL = cash flow of the fills - fees + position marked at the last mid
    pos = float(np.sum(mine["side"] * mine["qty"]))
    cash = float(np.sum(-mine["side"] * mine["qty"] * mine["price"] * usdm.contract_size)) - float(mine["fee"].sum())
    mid = res.accounts[1, 7]  # A_MID
    k = compute_kpis(res)
    assert k["instruments"][usdm.key]["total_pnl"] == pytest.approx(cash + pos * mid * usdm.contract_size, abs=1e-9)
    assert k["total"]["total_pnl"] == pytest.approx(res.pnl)
    assert res.accounts[1, 0] == pytest.approx(pos, abs=1e-12)  # position = signed sum of fills
    # round trips by hand: the running position returns to zero or jumps across it
    running = np.where(np.isclose(np.cumsum(mine["side"] * mine["qty"]), 0.0, atol=1e-12), 0.0,
                       np.cumsum(mine["side"] * mine["qty"]))
    prev = np.concatenate(([0.0], running[:-1]))
    closes = int(np.sum((prev != 0) & ((running == 0) | (np.sign(running) != np.sign(prev)))))
    assert k["instruments"][usdm.key]["round_trips"] == closes > 0
    assert k["total"]["maker_fill_ratio_pct"] == 100.0
    assert 0 <= k["total"]["time_in_market_pct"] <= 100
    assert k["total"]["inventory_max_abs"] <= 0.05 + 0.01 + 1e-12  # max_position plus one order in flight
    assert k["counters"]["events"] == 1_128_971
    assert not math.isnan(k["total"]["sharpe"])


def test_checkpoints_only_where_the_recording_reaches(mm_run):
    cp = checkpoints(mm_run)
    assert list(cp) == ["5m"]  # the bundled recording is 346 s long
    assert cp["5m"]["fills"] <= compute_kpis(mm_run)["total"]["fills"]
    assert cp["5m"]["total_pnl"] == pytest.approx(mm_run.equity_values[mm_run.equity_ts <= mm_run.span_ns[0] + 300 * 10**9][-1, -1])


def test_kpis_of_an_empty_run():
    res = replay(make_events(IMAGE), touch_mm(), {"asset": 0, "order_size": 0.25, "max_position": 0.0}, instruments=INST)
    tot = compute_kpis(res)["total"]
    assert tot["round_trips"] == 0 and tot["fills"] == 0 and tot["total_pnl"] == 0.0
    assert math.isnan(tot["win_rate_pct"])


def test_gates_pass_fail_with_reasons(tmp_path):
    from arbkit.core.errors import ConfigError
    from arbkit.kpi.gates import Gate

    block = {"round_trips": 6, "win_rate_pct": 50.0, "total_pnl": -1.5, "fills": 30,
             "exit_reasons": {"tp": {"count": 3, "pct": 50.0}, "stop_loss": {"count": 3, "pct": 50.0}}}
    out = Gate.load("default").evaluate(block)
    assert out["verdict"] == "FAIL" and not out["passed"]
    assert [r["passed"] for r in out["thresholds"]] == [True, True, False, True]
    assert "total_pnl = -1.5 fails >= 0" in out["reason"]
    block["total_pnl"] = 0.0
    assert Gate.load("default").evaluate(block)["verdict"] == "PASS"
    assert Gate.from_dict({"thresholds": ["exit_reasons.stop_loss.count <= 2"]}).evaluate(block)["passed"] is False
    missing = Gate.from_dict({"thresholds": ["sharpe > 1"]}).evaluate(block)
    assert missing["verdict"] == "FAIL" and "not available" in missing["reason"]
    with pytest.raises(ConfigError, match="is not '<kpi> <op> <number>'"):
        Gate.from_dict({"thresholds": ["total_pnl => 0"]})
    with pytest.raises(ConfigError, match="known gates"):
        Gate.load("nope")


def test_market_maker_gate_on_a_real_run(mm_run):
    from arbkit.kpi.gates import Gate

    tot = compute_kpis(mm_run)["total"]
    out = Gate.load("market_maker").evaluate(tot)
    assert out["thresholds"][0]["value"] == tot["fills"]
    assert out["passed"] == (tot["fills"] >= 20 and tot["total_pnl"] >= 0 and tot["maker_fill_ratio_pct"] >= 90
                             and tot["max_drawdown"] <= 100)


def test_fill_ratios_count_modified_up_quantity_and_stay_at_most_100():
    # a 0.25 bid modified up to 1.0 total then filled 1.0 by a trade: quoted 0.25 + 0.75 = 1.0, filled 1.0 -> 100 %
    from helpers.script_strategy import script_strategy
    strat, params = script_strategy([(100, 0, 0, 1, 99.5, 0.25, POST, 0), (200, 2, 0, 1, 99.5, 1.0, 0, 0)])
    rows = [(200, 0, 4, 1, 99.5, 1.0, 1)] + [(300, 0, 3, -1, 99.0, 2.0, 2), (400, 0, 4, 1, 99.5, 1.0, 3)]
    res = replay(make_events(IMAGE + rows), strat, params, instruments=INST, fill={"trade_through": "all"})
    assert res.fills["qty"].sum() == 1.0 and res.counters["modifies"] == 1
    tot = compute_kpis(res)["total"]
    assert tot["buy_fill_ratio_pct"] == 100.0 and tot["fill_rate_pct"] == 100.0  # was 400 % over submits only
    # a modify down then up counts only the increase over the previous total
    from arbkit.kpi.compute import quoted_quantity
    from arbkit.engine import codes as c
    log = np.zeros(4, c.ORDER_LOG_DTYPE)
    log["order_id"] = [1, 1, 1, 2]
    log["event"] = [c.EV_SUBMIT, c.EV_MODIFY, c.EV_MODIFY, c.EV_SUBMIT]
    log["qty"] = [1.0, 0.5, 0.75, 2.0]
    assert quoted_quantity(log).tolist() == [1.0, 0.0, 0.25, 2.0]


def test_cancels_sent_and_exchange_cancels_are_apart():
    from helpers.script_strategy import script_strategy
    from arbkit.engine import codes as c
    # a resting bid cancelled by the strategy; an IOC whose leftover the exchange cancels; a bid left at the end
    acts = [(100, 0, 0, 1, 99.0, 0.25, POST, 0), (150, 1, 0, 0, 0.0, 0.0, 0, 0),
            (150, 0, 0, 1, 100.5, 1.0, IOC, 0), (150, 0, 0, 1, 98.5, 0.25, POST, 0)]
    strat, params = script_strategy(acts)
    res = replay(make_events(IMAGE + [(150, 0, 4, 1, 99.5, 1.0, 1), (200, 0, 4, 1, 99.5, 1.0, 2)]), strat, params,
                 instruments=INST)
    tot = compute_kpis(res)["total"]
    assert tot["cancels_sent"] == 1 == res.counters["cancels_sent"]
    assert tot["exchange_cancels"] == 2 == res.counters["exchange_cancels"]  # the IOC leftover, the end of data
    reasons = sorted(c.REASON_NAMES[e["reason"]] for e in res.orders if e["event"] == c.EV_CANCEL)
    assert reasons == ["", "end_of_data", "ioc_leftover"]


def test_real_market_maker_ratios_and_exact_marks(mm_run):
    tot = compute_kpis(mm_run)["total"]
    assert tot["quote_count"] > tot["orders"]  # it modifies its quotes
    assert 0 < tot["buy_fill_ratio_pct"] <= 100 and 0 < tot["sell_fill_ratio_pct"] <= 100
    assert 0 < tot["fill_rate_pct"] <= 100
    # the exact max drawdown is at least what the equity samples and the final mark show (from 0)
    path = np.concatenate(([0.0], mm_run.equity_values[:, -1], [mm_run.pnl]))
    sampled = float(np.max(np.maximum.accumulate(path) - path))
    assert tot["max_drawdown"] >= sampled - 1e-9 and tot["max_drawdown"] > 0
    # and the same whatever the equity interval
    again = replay(mm_run.config["source"], touch_mm(), mm_run.params, fill={"queue": "power"},
                   latency={"entry": 1_000_000, "response": 1_000_000}, seed=3, equity_interval_ms=60_000.0)
    assert again.fills_hash == mm_run.fills_hash
    k2 = compute_kpis(again)["total"]
    assert k2["max_drawdown"] == tot["max_drawdown"] and k2["time_in_market_pct"] == tot["time_in_market_pct"]

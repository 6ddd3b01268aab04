"""Edge model: paper round trips on hand-made tops, cost profiles, flags; on the real recording."""
import numpy as np
import pytest

from arbkit.core.errors import ConfigError
from arbkit.kpi.edge import CostProfile, edge_report, paper_round_trips_nb


def test_paper_round_trips_by_hand():
    # A 99.5/100, B 100.5/101: up = 0.5/99.75 = 50.1 bps -> enter +1 at askA 100, bidB 100.5
    bid_a = np.array([99.5, 99.5, 100.5, 99.5, 99.5, 99.5])
    ask_a = np.array([100.0, 100.0, 101.0, 100.0, 100.0, 100.0])
    bid_b = np.array([100.5, 100.5, 100.0, 99.0, 99.0, 99.0])
    ask_b = np.array([101.0, 101.0, 100.5, 99.5, 99.5, 99.5])
    ts = np.arange(6, dtype=np.float64) * 1e9
    gross, dirs = paper_round_trips_nb(bid_a, ask_a, bid_b, ask_b, ts, 40.0, 30.0, 1e9, 1e18)
    # row 2 closes: sell A at 100.5, buy B at 100.5 -> (0.5 + 0) / 100 = 50 bps >= 30
    assert dirs[0] == 1 and gross[0] == pytest.approx(50.0)
    # after the exit, row 3 has no spread >= 40 in either direction (down = (99.5 - 99.5) / mid = 0)
    assert len(gross) == 1
    g2, _ = paper_round_trips_nb(bid_a, ask_a, bid_b, ask_b, ts, 40.0, 1000.0, 1e9, 2e9)  # time limit 2 s
    assert g2[0] == pytest.approx(((99.5 - 100.0) + (100.5 - 99.5)) / 100.0 * 1e4)  # closed at row 3 (3 s > 2 s)


def test_cost_profiles_load_and_check():
    p = CostProfile.load("realistic")
    assert (p.fee_scale, p.slippage_bps) == (1.0, 0.5)
    with pytest.raises(ConfigError, match="no such file"):
        CostProfile.load("heroic")


def test_edge_report_on_the_real_recording(bundled):
    from arbkit.run.replay import replay
    from arbkit.strategies.arb import arb

    params = {"asset_a": 1, "asset_b": 2, "entry_bps": 0.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0,
              "order_size": 0.01, "net_of_fees": 0}
    res = replay(bundled, arb(), params, latency={"entry": 1_000_000, "response": 1_000_000})
    rep = edge_report(bundled, params, result=res)
    assert rep["paper_round_trips"] > 10
    e = [rep[f"edge_{n}"] for n in ("optimistic", "realistic", "conservative")]
    assert e[0] > e[1] > e[2]
    fees = bundled.instruments[1].taker_fee_bps + bundled.instruments[2].taker_fee_bps
    assert rep["profiles"]["realistic"]["cost_bps"] == pytest.approx(2 * fees + 4 * 0.5)
    assert rep["edge_realistic"] == pytest.approx(rep["gross_edge_bps"] - 2 * fees - 2.0)
    assert rep["is_structurally_safe"] == (rep["edge_conservative"] >= 0)
    assert rep["is_recommended"] == (rep["edge_realistic"] >= 0.5)
    assert rep["realised_round_trips"] > 10 and np.isfinite(rep["realised_edge_bps"])

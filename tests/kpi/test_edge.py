"""Edge model: the arbitrage's paper trader on hand-made tops and against the plain-Python oracle, cost profiles,
flags; priced on the real recording."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.core.errors import ConfigError
from arbkit.kpi.edge import CostProfile, edge_report
from arbkit.strategies.arb import PP_DIR, PP_LAST, PP_N, PP_SUM, arb, paper_step_nb
from arbkit.strategies.hooks import PaperEdge
from helpers.oracles import paper_round_trips


def _step_all(bid_a, ask_a, bid_b, ask_b, ts, entry, tp, stop, limit):
    """Run the kernel's paper trader over a series; its round trips as (count, gross sum), open one included."""
    user = arb().new_user_state(np.zeros(10), 3)
    for i in range(len(ts)):
        paper_step_nb(user, ts[i], bid_a[i], ask_a[i], bid_b[i], ask_b[i], entry, tp, stop, limit)
    n, total = int(user[PP_N]), user[PP_SUM]
    if user[PP_DIR] != 0.0:
        n, total = n + 1, total + user[PP_LAST]
    return n, total


def test_paper_trader_by_hand():
    # A 99.5/100, B 100.5/101: up = 0.5/99.75 = 50.1 bps -> enter +1 at askA 100, bidB 100.5
    bid_a = np.array([99.5, 99.5, 100.5, 99.5, 99.5, 99.5])
    ask_a = np.array([100.0, 100.0, 101.0, 100.0, 100.0, 100.0])
    bid_b = np.array([100.5, 100.5, 100.0, 99.0, 99.0, 99.0])
    ask_b = np.array([101.0, 101.0, 100.5, 99.5, 99.5, 99.5])
    ts = np.arange(6, dtype=np.float64) * 1e9
    # row 2 closes: sell A at 100.5, buy B at 100.5 -> (0.5 + 0) / 100 = 50 bps >= 30; after it no spread >= 40
    assert _step_all(bid_a, ask_a, bid_b, ask_b, ts, 40.0, 30.0, 1e9, 1e18) == (1, pytest.approx(50.0))
    # time limit 2 s: closed at row 3 (3 s > 2 s) at (99.5 - 100) + (100.5 - 99.5) over 100
    n, total = _step_all(bid_a, ask_a, bid_b, ask_b, ts, 40.0, 1000.0, 1e9, 2e9)
    assert n == 1 and total == pytest.approx(((99.5 - 100.0) + (100.5 - 99.5)) / 100.0 * 1e4)
    # entered at the last point and never marked: closes at 0 bps
    assert _step_all(bid_a[:1], ask_a[:1], bid_b[:1], ask_b[:1], ts[:1], 40.0, 30.0, 1e9, 1e18) == (1, 0.0)
    # zero latency: the point that closes a round trip can open the next, on the same book. t0: up 50.1 bps -> +1;
    # t1: closes at ((100.5 - 100) + (100.5 - 100.1)) / 100 = 90 bps and down = (100.5 - 100.1) / 100.55 = 39.8 bps
    # opens -1 (long B at 100.1, short A at 100.5); t2, the end: marked at ((100.0 - 100.1) + (100.5 - 100.6)) / 100.5
    n, total = _step_all(np.array([99.5, 100.5, 100.5]), np.array([100.0, 100.6, 100.6]), np.array([100.5, 100.0, 100.0]),
                         np.array([101.0, 100.1, 100.1]), np.array([0.0, 1e9, 2e9]), 30.0, 30.0, 1e9, 1e18)
    assert n == 2 and total == pytest.approx(90.0 + (-0.2 / 100.5 * 1e4))
    # a point with a missing top is skipped
    gap = bid_b.copy()
    gap[0] = np.nan
    assert _step_all(bid_a, ask_a, gap, ask_b, ts, 40.0, 30.0, 1e9, 1e18)[0] == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-6, 6), st.integers(1, 3), st.integers(-6, 6), st.integers(1, 3),
                          st.integers(0, 3)), min_size=1, max_size=60),
       st.sampled_from([-20.0, 0.0, 10.0, 40.0]), st.sampled_from([5.0, 20.0, 80.0]), st.sampled_from([10.0, 1e9]),
       st.sampled_from([2e9, 1e18]))
def test_paper_trader_matches_the_oracle(rows, entry, tp, stop, limit):
    """Random top series (prices near 1000 on a 0.5 grid, clock steps of 0-3 s): the jitted step equals the
    plain-Python paper trader in round trips and gross bps."""
    bid_a = np.array([1000.0 + 0.5 * r[0] for r in rows])
    ask_a = bid_a + 0.5 * np.array([r[1] for r in rows])
    bid_b = np.array([1000.0 + 0.5 * r[2] for r in rows])
    ask_b = bid_b + 0.5 * np.array([r[3] for r in rows])
    ts = np.cumsum([r[4] for r in rows]).astype(np.float64) * 1e9
    expected = paper_round_trips(bid_a, ask_a, bid_b, ask_b, ts, entry, tp, stop, limit)
    n, total = _step_all(bid_a, ask_a, bid_b, ask_b, ts, entry, tp, stop, limit)
    assert n == len(expected)
    assert total == pytest.approx(sum(expected), abs=1e-9)


def test_cost_profiles_load_and_check():
    p = CostProfile.load("realistic")
    assert (p.fee_scale, p.slippage_bps) == (1.0, 0.5)
    with pytest.raises(ConfigError, match="no such file"):
        CostProfile.load("heroic")


def test_edge_report_prices_a_paper_edge_by_hand():
    paper = PaperEdge(round_trips=4, gross_bps_sum=30.0, fee_bps=20.0, fills=4, realised_bps=(1.0, -3.0))
    rep = edge_report(paper)
    # realistic: fees x1.0, 0.5 bps per fill; optimistic / conservative from arbkit/conf/costs
    assert rep["gross_edge_bps"] == 7.5 and rep["paper_round_trips"] == 4
    assert rep["edge_realistic"] == pytest.approx(7.5 - 20.0 - 2.0)
    for name in ("optimistic", "conservative"):
        prof = CostProfile.load(name)
        assert rep[f"edge_{name}"] == pytest.approx(7.5 - 20.0 * prof.fee_scale - 4 * prof.slippage_bps)
    assert rep["realised_edge_bps"] == -1.0 and rep["realised_round_trips"] == 2
    assert not rep["is_structurally_safe"] and not rep["is_recommended"]
    empty = edge_report(PaperEdge(round_trips=0, gross_bps_sum=0.0, fee_bps=20.0, fills=4))
    assert np.isnan(empty["edge_realistic"]) and not empty["is_recommended"] and np.isnan(empty["realised_edge_bps"])


def test_edge_report_on_the_real_recording(bundled):
    from arbkit.kpi import evaluate
    from arbkit.run.replay import replay

    params = {"asset_a": 1, "asset_b": 2, "entry_bps": 0.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0,
              "order_size": 1.0, "net_of_fees": 0}  # 1 BTC on USD-M, ~600 coin-M contracts
    res = replay(bundled, "arb", params, latency={"entry": 1_000_000, "response": 1_000_000})
    rep = evaluate(res).edge
    assert rep["paper_round_trips"] > 10
    e = [rep[f"edge_{n}"] for n in ("optimistic", "realistic", "conservative")]
    assert e[0] > e[1] > e[2]
    fees = bundled.instruments[1].taker_fee_bps + bundled.instruments[2].taker_fee_bps
    assert rep["profiles"]["realistic"]["cost_bps"] == pytest.approx(2 * fees + 4 * 0.5)
    assert rep["edge_realistic"] == pytest.approx(rep["gross_edge_bps"] - 2 * fees - 2.0)
    assert rep["is_structurally_safe"] == (rep["edge_conservative"] >= 0)
    assert rep["is_recommended"] == (rep["edge_realistic"] >= 0.5)
    assert rep["realised_round_trips"] > 10 and np.isfinite(rep["realised_edge_bps"])


def test_paper_funding_carry_by_hand_and_in_the_edge():
    """A round trip long A / short B (both perpetuals) held across one funding time of each leg: A at +0.01 %
    (the long pays 1 bps of its notional), B at +0.03 % (the short receives 3 bps x 100.5 / 100); a funding
    time before the entry or after the exit adds nothing."""
    from arbkit.strategies.arb import PP_CARRY, PP_OPEN_CARRY, paper_funding_nb
    user = arb().new_user_state(np.zeros(10), 3)
    no = -9.2e9  # no funding time yet
    paper_funding_nb(user, 50.0, 0.0005, no, 0.0)  # before any entry: seen, carries nothing
    paper_step_nb(user, 100e9, 99.5, 100.0, 100.5, 101.0, 40.0, 1000.0, 1e9, 1e18)  # enter +1 at t = 100 s
    paper_funding_nb(user, 50.0, 0.0005, no, 0.0)  # the same (old) funding time again: nothing
    assert user[PP_OPEN_CARRY] == 0.0
    paper_funding_nb(user, 200.0, 0.0001, 200.0, 0.0003)
    want = -0.0001 * 100.0 / 100.0 * 1e4 + 0.0003 * 100.5 / 100.0 * 1e4
    assert user[PP_OPEN_CARRY] == pytest.approx(want)
    paper_step_nb(user, 300e9, 99.5, 100.0, 100.5, 101.0, 40.0, 1000.0, 1e9, 150e9)  # time limit: closed
    assert user[PP_CARRY] == pytest.approx(want) and user[PP_DIR] != 0.0  # re-entered on the same book
    assert user[PP_OPEN_CARRY] == 0.0
    paper = PaperEdge(round_trips=2, gross_bps_sum=10.0, fee_bps=0.0, fills=4, carry_bps_sum=want)
    rep = edge_report(paper, profiles=("optimistic",))
    assert rep["funding_carry_bps"] == pytest.approx(want / 2)
    assert rep["gross_edge_bps"] == 5.0
    assert rep["edge_optimistic"] == pytest.approx(5.0 + want / 2 - 4 * CostProfile.load("optimistic").slippage_bps)


def test_the_arbitrage_kernel_carries_the_recorded_funding_of_its_paper_round_trip():
    """Two linear perpetuals, up = 50.1 bps from the first second: the paper trader enters long A at 100 / short B
    at 100.5, holds across the funding time at 50 s (A +0.01 %, B +0.03 %: rows at 2 s), closes on its 80 s time
    limit and re-enters on the same book (no funding after): carry 2.015 bps in all."""
    from arbkit.core.schema import Instrument, Kind
    from arbkit.run.replay import replay
    from arbkit.strategies.arb import paper_edge
    from helpers.events import make_events
    s = 1_000_000_000
    rows = []
    for a, (bid, ask) in enumerate(((99.5, 100.0), (100.5, 101.0))):
        rows += [(s, a, 5, 0, 0.0, 0.0, 0), (s, a, 1, 1, bid, 5.0, 0), (s, a, 1, -1, ask, 5.0, 0)]
    rows += [(2 * s, 0, int(Kind.FUNDING), 0, 0.0001, 0.0, 50 * s), (2 * s, 1, int(Kind.FUNDING), 0, 0.0003, 0.0, 50 * s),
             (90 * s, 0, 2, 1, 99.0, 1.0, 1)]
    insts = [Instrument("v", f"P{a}", 0.5, 0.01, contract_type="linear_perp") for a in range(2)]
    params = {"asset_a": 0, "asset_b": 1, "entry_bps": 40.0, "tp_bps": 1000.0, "stop_loss_bps": 1000.0,
              "time_limit_s": 80.0, "net_of_fees": 0, "order_size": 0.01}
    res = replay(make_events(rows), arb(), params, instruments=insts)
    paper = paper_edge(res)
    assert paper.round_trips == 2
    assert paper.carry_bps_sum == pytest.approx(-0.0001 * 1e4 + 0.0003 * 100.5 / 100.0 * 1e4)
    rep = edge_report(paper, profiles=("optimistic",))
    assert rep["funding_carry_bps"] == pytest.approx(paper.carry_bps_sum / 2)
    # the same recording without the FUNDING rows carries nothing
    plain = replay(make_events([r for r in rows if r[2] != int(Kind.FUNDING)]), arb(), params, instruments=insts)
    assert paper_edge(plain).carry_bps_sum == 0.0 and paper_edge(plain).gross_bps_sum == paper.gross_bps_sum

"""The arbitrage kernel's in-replay edge model on the bundled recording.

Oracle: the plain-Python paper trader (helpers.oracles) over the legs' tops that a probe
kernel with the arbitrage's schedule annotates at every market-driven call — the books the
kernel itself sees. The kernel's paper trader must give the same round trips and gross bps,
the same in a batch as alone, whatever the parameters the edge model does not read.
"""
import numpy as np
import pytest

from arbkit.kpi import evaluate
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies.arb import PP_N, SH_COUNTS
from helpers.book_probe import leg_tops
from helpers.oracles import paper_round_trips

LAT = {"entry": 1_000_000, "response": 1_000_000}
BASE = {"asset_a": 1, "asset_b": 2, "order_size": 1.0, "net_of_fees": 0}  # 1 BTC on USD-M, ~600 coin-M contracts
EDGES = [{"entry_bps": 0.5, "tp_bps": 0.5, "stop_loss_bps": 3.0, "time_limit_s": 30.0},
         {"entry_bps": 1.0, "tp_bps": 2.0, "stop_loss_bps": 50.0, "time_limit_s": 300.0},
         {"entry_bps": 2.0, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 5.0}]


@pytest.fixture(scope="module")
def call_tops(bundled):
    """(ts, bid A, ask A, bid B, ask B) at the calls of the arbitrage's schedule where both legs have a top."""
    notes = replay(bundled, leg_tops(), {"asset_a": 1, "asset_b": 2}).notes
    keep = ~np.isnan(notes[:, 2:6]).any(axis=1)
    return notes[keep, 0], notes[keep, 2:6]


@pytest.fixture(scope="module")
def batch(bundled):
    sets = [{**BASE, **e} for e in EDGES] + [{**BASE, **EDGES[0], "order_size": 2.0, "imbalance_mode": 1}]
    return sets, replay_batch(bundled, "arb", sets, latency=LAT)


def test_kernel_paper_trader_equals_the_oracle_on_the_kernels_books(call_tops, batch):
    ts, tops = call_tops
    sets, results = batch
    for p, res in zip(sets, results):
        expected = paper_round_trips(*tops.T, ts, p["entry_bps"], p["tp_bps"], p["stop_loss_bps"],
                                     p["time_limit_s"] * 1e9)
        edge = evaluate(res).edge
        assert len(expected) > 10 and edge["paper_round_trips"] == len(expected)
        assert edge["gross_edge_bps"] == pytest.approx(np.mean(expected), rel=1e-12, abs=1e-12)


def test_edge_is_the_same_alone_in_a_batch_and_for_any_order_size(bundled, batch):
    sets, results = batch
    alone = replay(bundled, "arb", sets[0], latency=LAT)
    np.testing.assert_array_equal(alone.user_state, results[0].user_state)
    assert alone.fills_hash == results[0].fills_hash
    # the last set trades twice the size and unwinds imbalances: different fills, the same paper trader
    assert results[-1].fills_hash != results[0].fills_hash
    np.testing.assert_array_equal(results[-1].user_state[PP_N:SH_COUNTS], results[0].user_state[PP_N:SH_COUNTS])


def test_spread_histogram_counts_each_change_of_the_legs_tops(call_tops, batch):
    ts, tops = call_tops
    changed = np.r_[True, (tops[1:] != tops[:-1]).any(axis=1)]
    seen = tops[changed]
    mid = 0.5 * (seen[:, 0] + seen[:, 1])
    spreads = evaluate(batch[1][0]).spreads
    bins = spreads.counts.shape[1]
    for d, s in enumerate(((seen[:, 2] - seen[:, 1]) / mid * 1e4, (seen[:, 0] - seen[:, 3]) / mid * 1e4)):
        idx = np.floor((s - spreads.lo_bps) / spreads.bin_bps).astype(int)
        inside = (idx >= 0) & (idx < bins)
        np.testing.assert_array_equal(spreads.counts[d], np.bincount(idx[inside], minlength=bins))
        assert spreads.below[d] == np.sum(idx < 0) and spreads.above[d] == np.sum(idx >= bins)
        assert inside.mean() > 0.99  # the default range holds this recording's spreads
    assert spreads.counts.sum() + spreads.below.sum() + spreads.above.sum() == 2 * len(seen)

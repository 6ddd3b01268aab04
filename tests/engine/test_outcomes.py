"""Binary-outcome markets by hand: payout at resolution, the no-short rule, merging a pair; the reference agrees.

Market m1: UP (asset 0) and DOWN (asset 1), tick 0.01, lot 1. UP shows 0.39 / 0.41, DOWN 0.59 / 0.61.
Actions are (t, op, asset, side, price, qty, type, ref): op 0 submit, 1 cancel, 2 modify, 3 merge.
"""
import dataclasses

import numpy as np
import pytest

from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine import codes as c
from arbkit.run.replay import replay, replay_batch
from helpers.events import make_events
from helpers.reference_engine import reference_run
from helpers.script_strategy import script_strategy

LIMIT, IOC = 0, 2
FILL = {"queue": "risk_averse", "queue_power": 2.0, "fill_probability": 1.0, "trade_through": "volume",
        "cross_fill": True, "taker_consumes_book": False, "max_taker_levels": 0}


def pair(winner=None, resolution=None, **kw):
    base = dict(contract_type="binary_outcome", market_id="m1", resolution_ts=resolution, winner=winner, **kw)
    return [Instrument("polymarket", "UP", 0.01, 1.0, outcome="Up", complement="DOWN", **base),
            Instrument("polymarket", "DOWN", 0.01, 1.0, outcome="Down", complement="UP", **base)]


IMAGE = [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, 0.39, 100.0, 0), (100, 0, 1, -1, 0.41, 100.0, 0),
         (100, 1, 5, 0, 0.0, 0.0, 0), (100, 1, 1, 1, 0.59, 100.0, 0), (100, 1, 1, -1, 0.61, 100.0, 0)]
# a maker bid 10 UP at 0.40 (inside the spread), filled by a sell of 10 at 0.40 at t=300; then quiet book rows
BUY_10_AT_040 = [(100, 0, 0, 1, 0.40, 10.0, LIMIT, 0)]
LATER = [(300, 0, 3, -1, 0.40, 10.0, 1), (400, 0, 2, 1, 0.38, 5.0, 2), (400, 0, 2, 1, 0.39, 0.0, 2),
         (600, 1, 2, 1, 0.58, 5.0, 3)]


def run(actions, inst, rows=LATER, **kw):
    strat, params = script_strategy(actions)
    return replay(make_events(IMAGE + rows), strat, params, instruments=inst, **kw)


def ref(actions, inst, rows=LATER, **kw):
    return reference_run(IMAGE + rows, inst, actions, FILL, ("const", 0, 0), 0, **kw)


def kinds(res):
    return [c.FILL_KIND_NAMES[k] for k in res.fills["kind"]]


@pytest.mark.parametrize("winner,pnl", [("Up", 6.0), ("Down", -4.0)])
@pytest.mark.parametrize("resolution", [500, None, 10_000])  # inside the data, unknown (end), after the data
def test_long_10_up_at_040_settles(winner, pnl, resolution):
    res = run(BUY_10_AT_040, pair(winner, resolution))
    assert kinds(res) == ["trade", "settlement"]
    s = res.fills[1]
    assert (s["side"], s["price"], s["qty"], s["fee"]) == (-1, 1.0 if winner == "Up" else 0.0, 10.0, 0.0)
    assert s["ts"] == (resolution if resolution == 500 else 10_000 if resolution else 600)
    assert res.positions() == {"polymarket:UP": 0.0, "polymarket:DOWN": 0.0}
    assert res.pnl == pytest.approx(pnl)
    assert res.counters["settlements"] == 1 and res.counters["fills"] == 1  # a payout is no trade
    assert (res.summary()["fills"], res.summary()["fill_rows"], res.n_trades) == (1, 2, 1)
    # marked to the last mid (0.395 once the UP bid fell to 0.38 at t=400) the position is worth 10 x 0.395
    assert res.accounts[0, c.A_SETTLE_ADJ] == pytest.approx(10.0 * ((1.0 if winner == "Up" else 0.0) - 0.395))
    want = ref(BUY_10_AT_040, pair(winner, resolution))
    assert [(f.ts, f.side, f.price, f.qty, f.kind) for f in want.fills] == \
        [(int(f["ts"]), int(f["side"]), float(f["price"]), float(f["qty"]), int(f["kind"])) for f in res.fills]
    assert sum(want.cash) == pytest.approx(res.pnl) and want.settle_adj[0] == pytest.approx(res.accounts[0, c.A_SETTLE_ADJ])


def test_resolution_inside_the_data_cancels_resting_orders_and_refuses_new_ones():
    acts = BUY_10_AT_040 + [(300, 0, 1, 1, 0.58, 3.0, LIMIT, 0), (550, 0, 1, 1, 0.60, 1.0, LIMIT, 0)]
    res = run(acts, pair("Up", 500))
    cancels = res.orders[res.orders["event"] == c.EV_CANCEL]
    assert [c.REASON_NAMES[r] for r in cancels["reason"]] == ["market_resolved"]
    assert int(cancels["ts"][0]) == 500
    assert res.user_state[3] == -c.R_MARKET_RESOLVED  # the order at 550 was refused
    want = ref(acts, pair("Up", 500))
    assert want.counters["exchange_cancels"] == res.counters["exchange_cancels"] == 1
    assert want.counters["rejects"] == res.counters["rejects"] == 1


def test_no_resolution_is_marked_to_mid():
    res = run(BUY_10_AT_040, pair())
    assert kinds(res) == ["trade"] and res.positions()["polymarket:UP"] == 10.0
    assert res.pnl == pytest.approx(10 * (0.395 - 0.40))


def test_selling_up_with_none_held_is_insufficient_position():
    acts = [(100, 0, 0, -1, 0.45, 1.0, LIMIT, 0)]
    res = run(acts, pair())
    assert res.user_state[1] == -c.R_INSUFFICIENT_POSITION
    assert res.counters["insufficient_position_rejects"] == 1 and res.counters["orders"] == 0
    assert len(res.orders) == 0
    want = ref(acts, pair())
    assert want.counters["insufficient_position_rejects"] == 1 and want.counters["rejects"] == res.counters["rejects"]
    # allowed when the run allows shorting (and for perpetuals by default)
    short = run(acts, pair(), allow_short=True)
    assert short.user_state[1] > 0 and short.counters["insufficient_position_rejects"] == 0
    perp = [dataclasses.replace(i, contract_type="linear_perp", market_id="", outcome="", complement="") for i in pair()]
    assert run(acts, perp).user_state[1] > 0


def test_live_sells_count_against_the_position():
    # hold 10 UP; a sell of 6 rests; a second sell of 5 would oversell (10 - 6 < 5); 4 is fine
    acts = BUY_10_AT_040 + [(350, 0, 0, -1, 0.45, 6.0, LIMIT, 0), (350, 0, 0, -1, 0.46, 5.0, LIMIT, 0),
                            (350, 0, 0, -1, 0.46, 4.0, LIMIT, 0), (350, 0, 0, -1, 0.47, 1.0, LIMIT, 0)]
    res = run(acts, pair())
    assert [res.user_state[1 + i] > 0 for i in range(5)] == [True, True, False, True, False]
    assert res.counters["insufficient_position_rejects"] == 2
    want = ref(acts, pair())
    assert want.counters["insufficient_position_rejects"] == 2 and len(want.fills) == len(res.fills)


def test_a_sell_may_not_grow_by_modify():
    acts = BUY_10_AT_040 + [(350, 0, 0, -1, 0.45, 6.0, LIMIT, 0), (360, 2, 0, -1, 0.45, 8.0, LIMIT, 1),
                            (360, 2, 0, -1, 0.46, 5.0, LIMIT, 1)]
    rows = LATER[:1] + [(350, 0, 2, 1, 0.38, 5.0, 4), (360, 0, 2, 1, 0.38, 6.0, 5), (370, 0, 2, 1, 0.38, 7.0, 6)] + LATER[1:]
    res = run(acts, pair(), rows=rows)
    assert res.counters["insufficient_position_rejects"] == 1 and res.counters["modifies"] == 1
    want = ref(acts, pair(), rows=rows)
    assert want.counters["insufficient_position_rejects"] == 1 and want.counters["modifies"] == 1


def test_5_up_and_5_down_merge_to_5_cash():
    acts = [(100, 0, 0, 1, 0.41, 5.0, IOC, 0), (150, 0, 1, 1, 0.61, 5.0, IOC, 0), (250, 3, 0, 0, 0.0, 5.0, 0, 0),
            (350, 3, 0, 0, 0.0, 1.0, 0, 0)]
    rows = [(200, 0, 2, 1, 0.38, 5.0, 2), (300, 0, 2, 1, 0.38, 6.0, 3), (400, 0, 2, 1, 0.38, 7.0, 4)]
    res = run(acts, pair(), rows=rows)
    assert kinds(res) == ["trade", "trade", "merge", "merge"]
    merged = res.fills[res.fills["kind"] == c.FK_MERGE]
    assert float((merged["price"] * merged["qty"]).sum()) == pytest.approx(5.0)
    assert res.positions() == {"polymarket:UP": 0.0, "polymarket:DOWN": 0.0}
    assert res.pnl == pytest.approx(5.0 - 5 * 0.41 - 5 * 0.61)
    assert res.user_state[3] == 5.0 and res.user_state[4] == -c.R_INSUFFICIENT_POSITION  # nothing left to merge
    assert res.counters["merges"] == 1
    want = ref(acts, pair(), rows=rows)
    assert [(f.ts, f.asset, f.side, f.price, f.qty, f.kind) for f in want.fills] == \
        [(int(f["ts"]), int(f["asset"]), int(f["side"]), pytest.approx(float(f["price"])), float(f["qty"]), int(f["kind"]))
         for f in res.fills]
    assert sum(want.cash) == pytest.approx(res.pnl)


def test_batched_runs_settle_like_single_runs():
    inst = pair("Up", 500)
    sets = [BUY_10_AT_040, BUY_10_AT_040 + [(100, 0, 0, -1, 0.45, 1.0, LIMIT, 0)],
            [(100, 0, 0, 1, 0.41, 5.0, IOC, 0), (150, 0, 1, 1, 0.61, 5.0, IOC, 0), (250, 3, 0, 0, 0.0, 5.0, 0, 0)]]
    width = max(len(s) for s in sets)
    strat, _ = script_strategy(sets[0], n_max=width)
    vecs = [script_strategy(s, n_max=width)[1] for s in sets]
    rows = IMAGE + LATER + [(200, 0, 2, 1, 0.37, 5.0, 2)]
    rows.sort(key=lambda r: r[0])
    batched = replay_batch(make_events(rows), strat, vecs, instruments=inst)
    for vec, got in zip(vecs, batched):
        single = replay(make_events(rows), strat, vec, instruments=inst)
        assert got.fills_hash == single.fills_hash and got.counters == single.counters
        np.testing.assert_array_equal(got.accounts, single.accounts)


def test_instrument_fields_are_checked_and_round_trip():
    inst = pair("Up", 1_700_000_000_123_456_789)[0]
    d = inst.to_dict()
    assert d["resolution_ts"] == 1_700_000_000_123_456_789 and Instrument.from_dict(d) == inst
    assert "market_id" not in Instrument("v", "X", 0.1, 1.0).to_dict()
    with pytest.raises(ConfigError, match="resolution_ts"):
        Instrument("v", "X", 0.1, 1.0, resolution_ts=-5)
    with pytest.raises(ConfigError, match="winner"):
        Instrument("v", "X", 0.1, 1.0, winner=1)
    assert inst.payoff == 1.0 and pair("Down")[0].payoff == 0.0 and pair()[0].payoff is None


def test_outcome_fees_charge_takers_and_never_payouts():
    """Fees per outcome instrument (most markets none, some charge takers): a taker buy pays its bps, the payout none."""
    acts = [(100, 0, 0, 1, 0.41, 5.0, IOC, 0)]
    res = run(acts, pair("Up", 500, taker_fee_bps=100.0))
    assert kinds(res) == ["trade", "settlement"]
    assert res.fills["fee"][0] == pytest.approx(5 * 0.41 * 0.01) and res.fills["fee"][1] == 0.0
    assert res.pnl == pytest.approx(5 * (1.0 - 0.41) - 5 * 0.41 * 0.01)
    want = ref(acts, pair("Up", 500, taker_fee_bps=100.0))
    assert [f.fee for f in want.fills] == [float(x) for x in res.fills["fee"]] and sum(want.cash) == pytest.approx(res.pnl)


def test_a_window_ending_before_the_resolution_marks_to_mid_and_says_so():
    """A replay window [start, end) knows no resolution at or after its end: no payout (the winner was not known
    then), the tokens marked to mid, a notice naming the market; a window past the resolution settles."""
    inside = run(BUY_10_AT_040, pair("Up", 500), fill=FILL, end=700)
    assert kinds(inside) == ["trade", "settlement"] and inside.pnl == pytest.approx(6.0)
    cut = run(BUY_10_AT_040, pair("Up", 500), fill=FILL, end=500)
    assert kinds(cut) == ["trade"] and cut.positions()["polymarket:UP"] == 10.0
    # marked to the last mid in the window (UP 0.39 / 0.41 until t=400's 0.38 bid: mid 0.395): 10 x (0.395 - 0.40)
    assert cut.pnl == pytest.approx(10 * (0.395 - 0.40))
    assert cut.counters["settlements"] == 0 and all(i.winner is None for i in cut.instruments)
    assert any("market m1 resolves at 500, not before the window's end 500" in n for n in cut.notices)
    # the same window without an end but with the data cut there pays on finishing (the documented rule)
    assert kinds(run(BUY_10_AT_040, pair("Up", 500), fill=FILL, rows=LATER[:3])) == ["trade", "settlement"]

"""The arbitrage's two legs hold the same base exposure: B is sized to A's base at the touches, inverse and
linear contract sizes alike, on hand-worked books and on the bundled real spot + COIN-M recording."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.core.schema import Instrument
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies.arb import arb, round_trips, skipped_entries
from helpers.events import make_events

MS = 1_000_000
SPOT = Instrument("spot", "BTCUSDT", 1.0, 0.0001, contract_type="spot")
INVERSE = Instrument("cm", "BTCUSD_PERP", 1.0, 1.0, contract_type="inverse_perp", contract_size=100.0)
LINEAR_SMALL = Instrument("um", "BTCUSDT", 1.0, 1.0, contract_type="linear_perp", contract_size=0.001)
# spot A 60,000 / 60,001, B 60,050 / 60,051: up = (60,050 - 60,001) / 60,000.5 = 8.2 bps -> buy A, sell B
PARAMS = {"asset_a": 0, "asset_b": 1, "entry_bps": 5.0, "tp_bps": 1000.0, "stop_loss_bps": 1000.0,
          "time_limit_s": 0.5, "order_size": 0.05, "net_of_fees": 0}


def _books(b_bid_qty=1000.0, a_qty=5.0):
    """A: 60,000 / 60,001 (then 59,990 / 60,011), B: 60,050 / 60,051 (then 60,040 / 60,061), deep behind the touch."""
    return [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, 60000.0, a_qty, 0), (100, 0, 1, 1, 59990.0, a_qty, 0),
            (100, 0, 1, -1, 60001.0, a_qty, 0), (100, 0, 1, -1, 60011.0, a_qty, 0),
            (100, 1, 5, 0, 0.0, 0.0, 0), (100, 1, 1, 1, 60050.0, b_bid_qty, 0), (100, 1, 1, 1, 60040.0, 1000.0, 0),
            (100, 1, 1, -1, 60051.0, 1000.0, 0), (100, 1, 1, -1, 60061.0, 1000.0, 0)]


QUIET = [(100 * MS * k, 0, 3, 1, 60000.0, 0.0001, k) for k in range(1, 12)]  # trades: time passes, books stay


def _run(b=INVERSE, rows=(), **over):
    return replay(make_events(_books() + list(rows) + QUIET), arb(), {**PARAMS, **over}, instruments=[SPOT, b],
                  fill={"taker_consumes_book": True})


def _fills(res):
    return [(int(f["asset"]), int(f["side"]), float(f["price"]), float(f["qty"])) for f in res.fills]


def _base(insts, fills):
    """Signed base exposure of fills: qty · contract_size (spot, linear), qty · contract_size / price (inverse)."""
    out = 0.0
    for f in fills:
        inst = insts[int(f["asset"])]
        per = inst.contract_size / f["price"] if inst.contract_type.startswith("inverse") else inst.contract_size
        out += float(f["side"] * f["qty"] * per)
    return out


def _assert_closed_trips_flat(res):
    """Each closed round trip's own fills net to zero in both instruments."""
    closed = [t for t in round_trips(res) if t["exit_reason"] != "end_of_data"]
    assert closed
    for t in closed:
        mine = res.fills[np.isin(res.fills["order_id"], [o for o in t["orders"] if o > 0])]
        for a in (0, 1):
            m = mine[mine["asset"] == a]
            assert float(np.sum(m["side"] * m["qty"])) == pytest.approx(0.0, abs=1e-12)


def test_an_inverse_leg_is_sized_to_the_spot_legs_base_exposure():
    res = _run()
    f = _fills(res)
    # base(A) = 0.05 BTC; B sells floor(0.05 * 60,050 / 100) = floor(30.025) = 30 contracts at its bid
    assert f[:2] == [(0, 1, 60001.0, 0.05), (1, -1, 60050.0, 30.0)]
    # net BTC after entry: +0.05 - 30 * 100 / 60,050 = 0.05 - 0.0499584 = +0.0000416, under one B lot (0.0016653)
    net = _base(res.instruments, res.fills[:2])
    assert net == pytest.approx(0.05 - 3000.0 / 60050.0)
    assert 0.0 <= net < 100.0 / 60050.0
    # the time-limit exit closes what each leg holds: flat in both instruments (then the spread, still wide, is
    # entered again)
    assert f[2:4] == [(0, -1, 60000.0, 0.05), (1, 1, 60051.0, 30.0)]
    assert round_trips(res)[0]["exit_reason"] == "time_limit" and skipped_entries(res) == 0
    _assert_closed_trips_flat(res)


def test_a_linear_leg_with_a_small_contract_is_sized_in_contracts():
    res = _run(LINEAR_SMALL)
    # base(A) = 0.05 BTC = 0.05 / 0.001 = 50 contracts of 0.001 BTC (no price involved)
    assert _fills(res)[:2] == [(0, 1, 60001.0, 0.05), (1, -1, 60050.0, 50.0)]
    assert _base(res.instruments, res.fills[:2]) == pytest.approx(0.0, abs=1e-12)


def test_an_order_size_below_one_lot_of_b_skips_the_entry_and_counts_it():
    # 0.001 BTC = 0.001 * 60,050 / 100 = 0.6 contracts: below one lot of B
    res = _run(order_size=0.001)
    assert len(res.fills) == 0 and round_trips(res) == []
    assert skipped_entries(res) > 0
    # 0.002 BTC = 1.2 contracts -> 1 contract: it trades
    assert _fills(_run(order_size=0.002))[:2] == [(0, 1, 60001.0, 0.002), (1, -1, 60050.0, 1.0)]


def test_a_partly_filled_inverse_leg_is_hedged_to_equal_base_exposure():
    # B's bid 60,050 holds only 10 contracts: the sell IOC of 30 fills 10 (the take stays off the level)
    res = replay(make_events(_books(b_bid_qty=10.0) + QUIET), arb(), {**PARAMS, "imbalance_mode": 0},
                 instruments=[SPOT, INVERSE], fill={"taker_consumes_book": True})
    f = _fills(res)
    assert f[:2] == [(0, 1, 60001.0, 0.05), (1, -1, 60050.0, 10.0)]
    # long 0.05 BTC, short 10 * 100 / 60,050 = 0.0166528 BTC: 0.0333472 BTC short of a hedge, sold on B at its bid
    # (60,050 as the book shows it): 0.0333472 * 60,050 / 100 = 20.025 -> 20 contracts, filled at 60,040
    assert f[2] == (1, -1, 60040.0, 20.0)
    assert round_trips(res)[0]["imbalance"] == "hedged"
    # net BTC: 0.05 - 1000 / 60,050 - 2000 / 60,040 = 0.05 - 0.0166528 - 0.0333111 = +0.0000361 < one B lot
    net = _base(res.instruments, res.fills[:3])
    assert net == pytest.approx(0.05 - 1000.0 / 60050.0 - 2000.0 / 60040.0)
    assert abs(net) < 100.0 / 60040.0
    # the exit closes both legs whole: 0.05 BTC and 30 contracts
    assert f[3:5] == [(0, -1, 60000.0, 0.05), (1, 1, 60051.0, 30.0)]
    _assert_closed_trips_flat(res)


def test_a_partly_filled_inverse_leg_is_unwound_to_equal_base_exposure():
    res = replay(make_events(_books(b_bid_qty=10.0) + QUIET), arb(), {**PARAMS, "imbalance_mode": 1},
                 instruments=[SPOT, INVERSE], fill={"taker_consumes_book": True})
    f = _fills(res)
    # 0.0333472 BTC too long: A's excess sold back at its bid, rounded down to A's lot 0.0001 -> 0.0333
    assert f[2][:3] == (0, -1, 60000.0) and f[2][3] == pytest.approx(0.0333)
    assert round_trips(res)[0]["imbalance"] == "unwound"
    # net BTC: 0.05 - 0.0333 - 1000 / 60,050 = 0.0167 - 0.0166528 = +0.0000472, under one lot of A
    net = _base(res.instruments, res.fills[:3])
    assert net == pytest.approx(0.0167 - 1000.0 / 60050.0)
    assert abs(net) < 0.0001
    # the exit closes what is left: 0.0167 BTC and 10 contracts
    assert f[3][:3] == (0, -1, 60000.0) and f[3][3] == pytest.approx(0.0167) and f[4] == (1, 1, 60051.0, 10.0)
    _assert_closed_trips_flat(res)


# spot BTCUSDT (asset 0) against COIN-M BTCUSD_PERP (asset 2) on the bundled recording
REAL = {"asset_a": 0, "asset_b": 2, "entry_bps": -3.0, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 20,
        "order_size": 0.05, "net_of_fees": 0}
REAL_KW = {"latency": {"entry": 1_000_000, "response": 1_000_000}, "allow_short": True}


def _assert_hedged_and_flat(res, a, b):
    """Every closed round trip: its legs' base exposures (entry and corrective fills) opposite within one lot of B,
    its own fills flat in both instruments, and the account flat after it (one round trip at a time)."""
    insts = res.instruments
    closed = [t for t in round_trips(res) if t["exit_reason"] != "end_of_data"]
    assert len(closed) > 10
    fills = res.fills
    b_lot_base = 100.0 / float(np.max(fills["price"][fills["asset"] == b]))  # one contract in BTC, at most
    for t in closed:
        entry = fills[np.isin(fills["order_id"], t["orders"][:3 if "imbalance" in t else 2])]
        base_a = _base(insts, entry[entry["asset"] == a])
        base_b = _base(insts, entry[entry["asset"] == b])
        assert base_a != 0.0 and np.sign(base_a) == -np.sign(base_b)
        assert abs(base_a + base_b) <= b_lot_base + 1e-12
        mine = fills[np.isin(fills["order_id"], [o for o in t["orders"] if o > 0])]
        upto = fills[fills["ts"] <= t["exit_ts"]]
        for leg in (a, b):
            assert float(np.sum(mine["side"] * mine["qty"] * (mine["asset"] == leg))) == pytest.approx(0.0, abs=1e-9)
            assert float(np.sum(upto["side"] * upto["qty"] * (upto["asset"] == leg))) == pytest.approx(0.0, abs=1e-9)
    # 0.05 BTC at ~61,600 is ~30 contracts of 100 USD (before: 0.05 contracts, never a lot)
    b_entries = fills[np.isin(fills["order_id"], [t["orders"][1] for t in closed])]
    assert 25.0 <= float(np.median(b_entries["qty"])) <= 35.0


def test_real_spot_vs_coinm_round_trips_hold_opposite_base_and_close_flat(bundled):
    _assert_hedged_and_flat(replay(bundled, arb(), REAL, **REAL_KW), 0, 2)


@pytest.mark.slow
def test_the_long_spot_coinm_recording_round_trips_hold_opposite_base_and_close_flat(spot_coinm):
    """The same on the 650 s spot + COIN-M capture (spot asset 0, COIN-M asset 1)."""
    _assert_hedged_and_flat(replay(spot_coinm, arb(), {**REAL, "asset_b": 1}, **REAL_KW), 0, 1)


def test_batched_kernel_equals_single_replays_for_mixed_legs(bundled):
    sets = [REAL, {**REAL, "imbalance_mode": 1, "order_size": 0.02}, {**REAL, "asset_b": 1, "order_size": 0.013},
            {**REAL, "order_size": 0.001, "max_open_round_trips": 2}]
    batched = replay_batch(bundled, arb(), sets, **REAL_KW)
    for p, b in zip(sets, batched):
        one = replay(bundled, arb(), p, **REAL_KW)
        assert b.fills_hash == one.fills_hash
        assert skipped_entries(b) == skipped_entries(one)
    assert len(batched[0].fills) > 0 and skipped_entries(batched[3]) > 0


@settings(max_examples=25, deadline=None)
@given(price=st.integers(1_000, 100_000), spread_ticks=st.integers(20, 200), size_lots=st.integers(1, 5_000),
       contract_size=st.sampled_from([1.0, 10.0, 100.0]), lot_b=st.sampled_from([1.0, 2.0]))
def test_b_holds_a_s_base_within_one_lot_of_b_for_any_inverse_leg(price, spread_ticks, size_lots, contract_size,
                                                                  lot_b):
    """Any book and size: B sells floor(base · bid_B / contract_size / lot) lots, never more base than A holds
    and less than one lot of B short of it; none when that is below a lot (skipped, counted)."""
    bid_b = float(price + spread_ticks)
    rows = [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, price - 1.0, 1e6, 0), (100, 0, 1, -1, float(price), 1e6, 0),
            (100, 1, 5, 0, 0.0, 0.0, 0), (100, 1, 1, 1, bid_b, 1e9, 0), (100, 1, 1, -1, bid_b + 1.0, 1e9, 0),
            (MS, 0, 3, 1, price - 1.0, 0.0001, 1)]
    b = Instrument("cm", "BTCUSD_PERP", 1.0, lot_b, contract_type="inverse_perp", contract_size=contract_size)
    size = size_lots * 0.0001
    res = replay(make_events(rows), arb(), {**PARAMS, "entry_bps": 1.0, "order_size": size}, instruments=[SPOT, b])
    want = np.floor(size * bid_b / contract_size / lot_b + 1e-9) * lot_b
    legs = {int(f["asset"]): float(f["qty"]) for f in res.fills[:2]}
    if want == 0.0:
        assert len(res.fills) == 0 and skipped_entries(res) > 0
        return
    assert legs == {0: pytest.approx(size), 1: want}
    gap = size - want * contract_size / bid_b  # BTC bought on A minus BTC sold on B
    assert -1e-12 <= gap < lot_b * contract_size / bid_b


def test_an_inverse_a_leg_sizes_a_spot_b_leg_and_its_realised_bps_use_the_contracts_notional():
    from arbkit.strategies.arb import paper_edge

    res = replay(make_events(_books(a_qty=1000.0) + QUIET), arb(), {**PARAMS, "order_size": 30.0}, instruments=[INVERSE, SPOT],
                 fill={"taker_consumes_book": True}, allow_short=True)
    f = _fills(res)
    # base(A) = 30 * 100 / 60,001 = 0.0499992 BTC -> B sells 0.0499 BTC (floored to B's lot 0.0001) at 60,050
    assert f[0] == (0, 1, 60001.0, 30.0) and f[1][:3] == (1, -1, 60050.0) and f[1][3] == pytest.approx(0.0499)
    assert 0.0 <= _base(res.instruments, res.fills[:2]) < 0.0001
    # A's entry notional is 30 contracts of 100 USD (not 30 * 60,001): the realised bps of the first round trip
    trip = round_trips(res)[0]
    assert paper_edge(res).realised_bps[0] == pytest.approx(trip["pnl_net"] / 3000.0 * 1e4)

"""Binary pairs against the reference engine: payouts at resolution, the no-short rule and merges on random streams.

The random streams and scripts of the differential tests, scaled into (0, 1) (tick 0.0025 around 0.5) on a
complementary UP / DOWN pair whose market resolves inside the data, after it, or never, with either winner;
scripts also merge pairs; random liquidity-reward terms (or none) sample the resting orders. Both engines must agree on every fill (settlement and merge rows included), position,
cash, counter, equity sample and mark; no token balance is ever negative.
"""
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as hs

from arbkit.core.schema import Instrument
from arbkit.engine import LatencyModel
from arbkit.engine import codes as c
from arbkit.run.replay import replay, replay_batch
from engine.test_differential import EQUITY_NS, assert_same
from helpers.events import make_events
from helpers.reference_engine import reference_run
from helpers.script_strategy import script_strategy
from helpers.streams import fill_models, latencies, lots, schedules, scripts, streams

SCALE = 0.005  # stream prices around 100.0 on a 0.5 tick -> around 0.5 on a 0.0025 tick


def binary_pair(lot, resolution, winner):
    kw = dict(contract_type="binary_outcome", market_id="m", resolution_ts=resolution, winner=winner)
    return [Instrument("pm", "UP", 0.5 * SCALE, lot, outcome="Up", complement="DOWN", **kw),
            Instrument("pm", "DOWN", 0.5 * SCALE, lot, outcome="Down", complement="UP", **kw)]


def scaled(rows):
    return [(t, a, k, s, round(p * SCALE, 10), q, sq) for t, a, k, s, p, q, sq in rows]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**64 - 1), lot=lots,
       schedule=schedules, wake=hs.booleans(), winner=hs.sampled_from([None, "Up", "Down"]),
       when=hs.sampled_from(["inside", "after", "unknown"]), allow_short=hs.sampled_from([None, None, True]),
       clock_extra=hs.sampled_from([None, 0, 6_000]),
       rewards=hs.one_of(hs.none(), hs.fixed_dictionaries({
           "rate": hs.sampled_from([0.0, 1e9, 3.7e10, 3.7e10]), "max_spread": hs.sampled_from([0.003, 0.01, 0.05]),
           "min_size": hs.sampled_from([0.0, 0.5, 2.0]), "scale": hs.sampled_from([1.0, 3.0]),
           "interval_ms": hs.sampled_from([0.0003, 0.0015, 0.005])})))
def test_binary_pair_matches_reference(data, stream, fill, lat, seed, lot, schedule, wake, winner, when, allow_short,
                                       clock_extra, rewards):
    _, rows = stream
    rows = scaled([r for r in rows if r[1] == 0] + [(r[0], 1) + r[2:] for r in rows if r[1] == 0])
    rows.sort(key=lambda r: (r[0], r[1]))
    t0, t1 = rows[0][0], rows[-1][0]
    resolution = {"inside": data.draw(hs.integers(t0, t1)), "after": t1 + 3_000, "unknown": None}[when]
    insts = binary_pair(lot, resolution, winner)
    actions = [(t, op, a, side, round(p * SCALE, 10), q, ot, ref)
               for t, op, a, side, p, q, ot, ref in data.draw(scripts(2, t0, t1 + 5_000))]
    merges = data.draw(hs.lists(hs.tuples(hs.integers(t0, t1), hs.integers(0, 1), hs.sampled_from([0.25, 0.5, 1.0])),
                                max_size=3))
    buys = [(max(t0, t - 2_000), 0, a, 1, 0.51, q, 2, 0) for t, _, q in merges for a in (0, 1)]  # IOC: both legs
    # limit bids that rest near the mid (scored by the rewards when on)
    rests = [(t, 0, a, 1, round(p * SCALE, 10), q, 0, 0) for t, a, p, q in data.draw(hs.lists(hs.tuples(
        hs.integers(t0, t1), hs.integers(0, 1), hs.sampled_from([99.0, 99.5, 100.0, 98.0]),
        hs.sampled_from([0.5, 1.0, 3.0])), max_size=3))]
    actions = sorted(actions + buys + rests + [(t, 3, a, 0, 0.0, q, 0, 0) for t, a, q in merges], key=lambda x: x[0])
    clock_end = None if clock_extra is None else t1 + clock_extra
    latency = LatencyModel(entry=lat[1], response=lat[2]) if lat[0] == "const" else \
        LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
    strat, params = script_strategy(actions, wake=wake, schedule=schedule)
    res = replay(make_events(rows), strat, params, fill=fill, latency=latency, seed=seed, instruments=insts,
                 chunk_rows=7, equity_interval_ms=EQUITY_NS / 1e6, allow_crossed=True, clock_end=clock_end,
                 allow_short=allow_short, rewards=rewards)
    ref = reference_run(rows, insts, actions, fill, lat, seed, schedule=schedule, wake=wake, equity_ns=EQUITY_NS,
                        clock_end=clock_end, allow_short=allow_short, rewards=rewards)
    for key in ("insufficient_position_rejects", "settlements", "merges", "reward_rows"):
        event(f"{key} > 0: {res.counters[key] > 0}")
    event(f"fills > 0: {res.counters['fills'] > 0}")
    assert_same(res, ref, 2)
    assert [int(k) for k in res.fills["kind"]] == [f.kind for f in ref.fills]
    for key in ("insufficient_position_rejects", "settlements", "merges", "reward_rows"):
        assert res.counters[key] == ref.counters[key], key
    np.testing.assert_array_equal(res.accounts[:, c.A_SETTLE_ADJ], np.array(ref.settle_adj))
    np.testing.assert_array_equal(res.accounts[:, c.A_REWARD], np.array(ref.rewards))
    if resolution is not None:  # nothing earned at or after the resolution
        assert not np.any((res.fills["kind"] == c.FK_REWARD) & (res.fills["ts"] >= resolution))
    if allow_short is None:  # never a negative token balance: after every fill, in every sample, at the end
        signed = np.where(res.fills["side"] > 0, 1.0, -1.0) * res.fills["qty"]
        for a in range(2):
            assert np.all(np.cumsum(signed[res.fills["asset"] == a]) >= -1e-9)
        assert np.all(res.equity_positions >= 0.0) and np.all(res.accounts[:, c.A_POS] >= 0.0)
    if winner is not None and when != "unknown":
        assert np.all(res.accounts[:, c.A_POS] == 0.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), lat=latencies, lot=lots, schedule=schedules,
       rewards=hs.fixed_dictionaries({
           "rate": hs.sampled_from([1e9, 3.7e10]), "max_spread": hs.sampled_from([0.003, 0.01, 0.05]),
           "min_size": hs.sampled_from([0.0, 0.5, 2.0]), "scale": hs.sampled_from([1.0, 3.0]),
           "interval_ms": hs.sampled_from([0.0003, 0.0015, 0.005])}))
def test_batched_rewards_equal_single_replays(data, stream, lat, lot, schedule, rewards):
    """The batched kernel with liquidity rewards on: every set's fills (reward rows included), accounts and counters
    equal its own replay."""
    _, rows = stream
    rows = scaled([r for r in rows if r[1] == 0] + [(r[0], 1) + r[2:] for r in rows if r[1] == 0])
    rows.sort(key=lambda r: (r[0], r[1]))
    t0, t1 = rows[0][0], rows[-1][0]
    insts = binary_pair(lot, data.draw(hs.sampled_from([None, (t0 + t1) // 2])), "Up")
    sets = []
    for _ in range(3):
        rests = [(t, 0, a, 1, round(p * SCALE, 10), q, 0, 0) for t, a, p, q in data.draw(hs.lists(hs.tuples(
            hs.integers(t0, t1), hs.integers(0, 1), hs.sampled_from([99.0, 99.5, 100.0, 98.0]),
            hs.sampled_from([0.5, 1.0, 3.0])), min_size=1, max_size=4))]
        sets.append(sorted(rests, key=lambda x: x[0]))
    strat, _ = script_strategy(max(sets, key=len), schedule=schedule)  # its parameter count fits every set
    vectors = [script_strategy(s, schedule=schedule)[1] for s in sets]
    width = max(len(v) for v in vectors)
    vectors = [np.concatenate([v, np.zeros(width - len(v))]) for v in vectors]
    latency = LatencyModel(entry=lat[1], response=lat[2]) if lat[0] == "const" else \
        LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
    kw = dict(latency=latency, instruments=insts, chunk_rows=5, equity_interval_ms=EQUITY_NS / 1e6,
              allow_crossed=True, rewards=rewards)
    batched = replay_batch(make_events(rows), strat, vectors, **kw)
    for v, got in zip(vectors, batched):
        want = replay(make_events(rows), strat, v, **kw)
        event(f"reward_rows > 0: {want.counters['reward_rows'] > 0}")
        assert got.fills_hash == want.fills_hash and got.counters == want.counters
        np.testing.assert_array_equal(got.accounts, want.accounts)

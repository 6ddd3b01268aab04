"""The batched kernel: K parameter sets in one pass give each set exactly its own replay.

Oracle: the single-run engine (itself checked against the reference engine). Compared
field by field: fills, the order log, equity samples, accounts, counters, notes, guards.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.engine import LatencyModel
from arbkit.run.replay import replay
from arbkit.engine.batch import BatchReplayer
from arbkit.run.replay import replay_batch
from arbkit.core.errors import ConfigError
from arbkit.kpi import compute_kpis
from arbkit.strategies import get_strategy
from helpers.events import make_events
from helpers.invariants import assert_lot_invariants, assert_ratios_at_most_100, assert_volume_through_bounded
from helpers.reference_engine import reference_run
from helpers.script_strategy import HEAD, WIDTH, script_kernel, script_vector
from helpers.streams import fill_models, instruments, latencies, lots, schedules, scripts, streams
from arbkit.engine.strategy import Strategy


def assert_same_run(batched, single):
    assert batched.fills_hash == single.fills_hash
    # byte for byte: a fill's best_bid / best_ask is NaN when that side is empty (NaN != NaN for array_equal)
    assert batched.fills.tobytes() == single.fills.tobytes()
    assert batched.orders.tobytes() == single.orders.tobytes()
    assert np.array_equal(batched.equity_ts, single.equity_ts)
    assert np.array_equal(batched.equity_values, single.equity_values, equal_nan=True)
    assert np.array_equal(batched.accounts, single.accounts, equal_nan=True)
    assert np.array_equal(batched.notes, single.notes, equal_nan=True)
    assert batched.counters == single.counters
    assert batched.guards == single.guards
    assert batched.span_ns == single.span_ns and batched.params == single.params
    assert np.array_equal(batched.equity_marks, single.equity_marks)
    assert np.array_equal(batched.max_drawdowns, single.max_drawdowns)
    assert np.array_equal(batched.time_in_market_ns, single.time_in_market_ns)
    assert batched.crossed == single.crossed
    assert batched.funding.tobytes() == single.funding.tobytes()


def test_market_maker_sets_on_real_books_equal_their_own_replays(bundled):
    mm = get_strategy("mm")
    sets = [{"asset": 1, "mode": 1, "half_spread_bps": hs_, "inventory_skew_bps": sk, "order_size": 0.01,
             "max_position": 0.05} for hs_ in (0.2, 0.5, 1.5) for sk in (0.0, 0.5)]
    sets += [{"asset": 0, "mode": 0, "order_size": 0.001, "max_position": 0.01, "num_levels": 2},
             {"asset": 2, "mode": 0, "order_size": 1.0, "max_position": 5.0}]
    kw = {"latency": {"entry": {"samples_ns": [300_000, 900_000, 2_500_000]}, "response": 1_000_000},
          "fill": {"queue": "power", "fill_probability": 0.8}, "guards": {"cooldown_after_fill_ms": 50.0,
                                                                         "max_position_notional": 2_000.0}}
    seeds = list(range(len(sets)))
    results = replay_batch(bundled, mm, sets, seeds=seeds, chunk_rows=50_000, **kw)
    assert sum(len(r.fills) for r in results) > 100  # the sets trade
    assert len({r.fills_hash for r in results}) == len(sets)
    for p, s, got in zip(sets, seeds, results):
        assert_same_run(got, replay(bundled, mm, p, seed=s, **kw))


def test_arbitrage_sets_with_taker_orders_equal_their_own_replays(bundled):
    arb = get_strategy("arb")
    sets = [{"asset_a": 1, "asset_b": 2, "entry_bps": e, "tp_bps": tp, "stop_loss_bps": 3.0, "time_limit_s": 20.0,
             "net_of_fees": 0.0, "order_size": 1.0} for e in (-0.5, 0.0, 0.5) for tp in (0.5, 1.5)]
    kw = {"latency": {"entry": 2_000_000, "response": 1_000_000}, "fill": {"taker_consumes_book": True}}
    results = replay_batch(bundled, arb, sets, **kw)
    assert sum(len(r.fills) for r in results) > 0
    for p, got in zip(sets, results):
        assert_same_run(got, replay(bundled, arb, p, **kw))


#: fill/log/note buffers that need draining after a handful of rows (the margin is 8192)
TINY = {"fill_buffer": 8192 + 6, "eq_buffer": 4}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=hs.booleans().flatmap(lambda f: streams(funding=f)), fill=fill_models, lat=latencies,
       schedule=schedules, seeds=hs.lists(hs.integers(0, 2**63 - 1), min_size=1, max_size=4),
       equity_ms=hs.sampled_from([0.001, 0.0025, 0.5]), lot=lots, gap_ms=hs.sampled_from([0.0, 0.0, 0.002]),
       chunks=hs.sampled_from([(5, 11), (1, 7), (65536, 1)]), mark=hs.sampled_from(["mid", "mark_price"]))
def test_batched_scripts_equal_separate_runs(data, stream, fill, lat, schedule, seeds, equity_ms, lot, gap_ms, chunks,
                                             mark):
    """Random books with silences (and FUNDING / MARK rows: funding paid per set), random order scripts per set
    (some waking themselves for their next action), every fill model, latency model, schedule (timers between
    events), lot grid, the data-gap kill switch and both marks; chunk sizes 1, 5, 7, 11 and 65536 rows."""
    n_assets, rows = stream
    scripts_ = [data.draw(scripts(n_assets, rows[0][0], rows[-1][0] + 5_000)) for _ in seeds]
    wakes = [data.draw(hs.booleans()) for _ in seeds]
    n_max = max(len(s) for s in scripts_)
    strat = Strategy("script", script_kernel, params={f"p{i}": 0.0 for i in range(HEAD + WIDTH * n_max)},
                     schedule=schedule, state_size=1 + n_max)
    vectors = [script_vector(s, w, n_max) for s, w in zip(scripts_, wakes)]
    if lat[0] == "const":
        latency = LatencyModel(entry=lat[1], response=lat[2])
    else:
        latency = LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
    insts = instruments(n_assets, lot)
    events = make_events(rows)
    kw = {"fill": fill, "latency": latency, "equity_interval_ms": equity_ms, "instruments": insts,
          "guards": {"max_gap_ms": gap_ms} if gap_ms else None, "allow_crossed": True, "mark": mark}
    batched = replay_batch(events, strat, vectors, seeds=seeds, chunk_rows=chunks[0], buffers=TINY, **kw)
    for vec, seed, got, acts, wake in zip(vectors, seeds, batched, scripts_, wakes):
        single = replay(events, strat, vec, seed=seed, chunk_rows=chunks[1], **kw)
        assert_same_run(got, single)
        assert_lot_invariants(single)
        assert_ratios_at_most_100(compute_kpis(single))
        # and the oracle: the reference engine gives the same fills; its trade-through fills stay within the volume
        ref = reference_run(rows, insts, acts, fill, lat, seed, schedule=schedule, wake=wake, gap_ms=gap_ms,
                            equity_ns=int(round(equity_ms * 1e6)), mark=mark)
        assert [(int(f["ts"]), int(f["order_id"]), float(f["qty"]), float(f["price"])) for f in single.fills] == \
            [(f.ts, f.order_id, f.qty, f.price) for f in ref.fills]
        assert [tuple(x.item() for x in r) for r in single.funding] == ref.ledger
        if fill["trade_through"] == "volume":
            assert_volume_through_bounded(rows, [f for f in ref.fills if f.how == "through"])


def test_batch_rejects_what_it_cannot_run(bundled):
    mm = get_strategy("mm")
    with pytest.raises(ConfigError, match="at least one"):
        BatchReplayer(bundled.instruments, mm, [])
    with pytest.raises(ConfigError, match="2 seeds for 3"):
        BatchReplayer(bundled.instruments, mm, [{}, {}, {}], seeds=[1, 2])
    with pytest.raises(ConfigError, match="unknown parameter"):
        BatchReplayer(bundled.instruments, mm, [{"nope": 1.0}])


def test_windowed_batch_equals_windowed_replays(bundled):
    mm = get_strategy("mm")
    w0 = bundled.manifest.start_ns + 150 * 10**9
    sets = [{"asset": 1, "mode": 1, "half_spread_bps": h, "order_size": 0.01, "max_position": 0.05} for h in (0.3, 1.0)]
    got = replay_batch(bundled, mm, sets, start=w0, end=w0 + 60 * 10**9, latency={"entry": 1_000_000})
    assert sum(len(r.fills) for r in got) > 0  # quotes from the first message: the books were warmed
    for p, r in zip(sets, got):
        assert_same_run(r, replay(bundled, mm, p, start=w0, end=w0 + 60 * 10**9, latency={"entry": 1_000_000}))

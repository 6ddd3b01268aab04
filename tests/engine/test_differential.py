"""The numba engine against the plain-Python reference engine on random streams and scripts.

Hypothesis builds valid event streams (images, depth updates, trade messages, gaps, silences)
and random order actions; both engines must produce the same fills (every field), positions,
cash, counters, strategy calls, equity samples and exact drawdown / time-in-market marks —
exactly — for every fill model (both trade-through modes), latency model, schedule (timers,
wake-ups, responses between events), lot grid and the kill switch's data-gap deadline. Every
case also checks the invariants that do not need the oracle: no fill below one lot, positions
on the lot grid, fill ratios at most 100 %, and ``volume`` never filling more than traded
beyond the order's price.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.engine import LatencyModel
from arbkit.engine import codes as c
from arbkit.engine.replayer import Replayer
from arbkit.kpi import compute_kpis
from arbkit.run.replay import replay
from helpers.events import make_events
from helpers.invariants import assert_lot_invariants, assert_ratios_at_most_100, assert_volume_through_bounded
from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
from helpers.script_strategy import script_strategy
from helpers.streams import fill_models, instruments, latencies, lots, schedules, scripts, streams

EQUITY_NS = 2_500


def _run_both(n_assets, rows, actions, fill, lat, seed, *, lot=0.25, schedule=None, wake=False, gap_ms=0.0,
              chunk_rows=7, clock_end=None, mark="mid"):
    insts = instruments(n_assets, lot)
    if lat[0] == "const":
        lat_model = LatencyModel(entry=lat[1], response=lat[2])
        ref_lat = (Latency(lat[1]), Latency(lat[2]))
    else:
        lat_model = LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
        ref_lat = (Latency(samples=[float(x) for x in lat[1]]), Latency(samples=[float(x) for x in lat[2]]))
    strat, params = script_strategy(actions, wake=wake, schedule=schedule)
    guards = {"max_gap_ms": gap_ms} if gap_ms else None
    res = replay(make_events(rows), strat, params, fill=fill, latency=lat_model, seed=seed, instruments=insts,
                 chunk_rows=chunk_rows, equity_interval_ms=EQUITY_NS / 1e6, guards=guards, allow_crossed=True,
                 clock_end=clock_end, mark=mark)
    sched = strat.schedule
    ref = ReferenceEngine([RefInstrument(i.tick_size, i.maker_fee_bps, i.taker_fee_bps, i.contract_size,
                                         i.contract_type.startswith("inverse"), i.lot_size) for i in insts],
                          ref_lat[0], ref_lat[1], seed=seed, queue=fill["queue"], queue_power=fill["queue_power"],
                          fill_probability=fill["fill_probability"], trade_through=fill["trade_through"],
                          cross_fill=fill["cross_fill"], consume=fill["taker_consumes_book"],
                          max_levels=fill["max_taker_levels"], schedule=sched.bits, interval_ns=max(sched.interval_ns, 1),
                          equity_interval_ns=EQUITY_NS, max_gap_ms=gap_ms,
                          max_silence_ns=int(round(sched.max_silence_s * 1e9)), mark_mode=mark)
    ref.run(rows, scripted(actions, wake=wake), clock_end=clock_end)
    return res, ref


def assert_same(res, ref, n_assets):
    got = [(int(f["ts"]), int(f["ts_seen"]), int(f["asset"]), int(f["order_id"]), int(f["side"]), int(f["maker"]),
            int(f["level"]), float(f["price"]), float(f["qty"]), float(f["fee"])) for f in res.fills]
    want = [(f.ts, f.ts_seen, f.asset, f.order_id, f.side, f.maker, f.level, f.price, f.qty, f.fee) for f in ref.fills]
    assert got == want
    for a in range(n_assets):
        assert res.accounts[a, c.A_POS] == ref.pos(a)
        assert res.accounts[a, c.A_CASH] == ref.cash[a]
        assert res.accounts[a, c.A_LPOS] == ref.lpos(a)
    for key in ("orders", "cancels_sent", "modifies", "rejects", "request_rejects", "maker_fills", "taker_fills",
                "trade_through_fills", "cross_fills", "prob_skipped_fills", "exchange_cancels", "kill_switch_cancels",
                "invalid_lot_rejects", "crossed_books", "strategy_calls", "timer_calls", "kill_switch_trips",
                "equity_samples", "entry_attempts", "entries"):
        assert res.counters[key] == ref.counters[key], key
    assert list(res.equity_ts) == [e[0] for e in ref.equity]
    if ref.equity:
        np.testing.assert_array_equal(res.equity_values, np.array([e[1] for e in ref.equity]))
        np.testing.assert_array_equal(res.equity_positions, np.array([e[2] for e in ref.equity]))
        np.testing.assert_array_equal(res.equity_marks, np.array([e[3] for e in ref.equity]))
    np.testing.assert_array_equal(res.max_drawdowns, np.array(ref.maxdd))
    assert list(res.time_in_market_ns) == [ref.time_in_market(r, ref.end) for r in range(n_assets + 1)]
    ks = res.guards["kill_switch"]
    assert (ks["reason"] or None, ks["ts"]) == ref.kill
    assert [tuple(x.item() for x in row) for row in res.funding] == ref.ledger
    assert [res.accounts[a, c.A_FUNDING] for a in range(n_assets)] == ref.funding[:n_assets]


def assert_invariants(res, rows, fill, ref):
    assert_lot_invariants(res)
    assert_ratios_at_most_100(compute_kpis(res))
    if fill["trade_through"] == "volume":
        assert_volume_through_bounded(rows, [f for f in ref.fills if f.how == "through"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**64 - 1), lot=lots)
def test_numba_engine_matches_reference(data, stream, fill, lat, seed, lot):
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0]))
    res, ref = _run_both(n_assets, rows, actions, fill, lat, seed, lot=lot)
    assert_same(res, ref, n_assets)
    assert_invariants(res, rows, fill, ref)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**64 - 1), lot=lots,
       schedule=schedules, wake=hs.booleans(), gap_ms=hs.sampled_from([0.0, 0.0, 0.002, 0.0075]),
       chunk_rows=hs.sampled_from([1, 7, 65536]), clock_extra=hs.sampled_from([None, None, 0, 1, 6_000]))
def test_timers_between_events_match_reference(data, stream, fill, lat, seed, lot, schedule, wake, gap_ms, chunk_rows,
                                               clock_extra):
    """Interval calls, wake-ups, responses and kill-switch deadlines inside silences, at their own times (and after
    the last event when the clock runs on to a clock end)."""
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0] + 5_000))
    clock_end = None if clock_extra is None else rows[-1][0] + clock_extra
    res, ref = _run_both(n_assets, rows, actions, fill, lat, seed, lot=lot, schedule=schedule, wake=wake,
                         gap_ms=gap_ms, chunk_rows=chunk_rows, clock_end=clock_end)
    assert_same(res, ref, n_assets)
    assert_invariants(res, rows, fill, ref)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**32),
       schedule=schedules, wake=hs.booleans(), gap_ms=hs.sampled_from([0.0, 0.002]))
def test_moving_the_clock_between_batches_changes_nothing(data, stream, fill, lat, seed, schedule, wake, gap_ms):
    """Paper trading's path: rows fed in batches with ``advance_to`` at arbitrary times between them (never past a
    row still to come) gives the replay with that clock end, fill for fill."""
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0] + 5_000))
    ticks = sorted(data.draw(hs.lists(hs.integers(rows[0][0], rows[-1][0] + 6_000), min_size=1, max_size=12)))
    insts = instruments(n_assets)
    latency = LatencyModel(entry=lat[1], response=lat[2]) if lat[0] == "const" else \
        LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
    strat, params = script_strategy(actions, wake=wake, schedule=schedule)
    kw = {"fill": fill, "latency": latency, "seed": seed, "equity_interval_ms": EQUITY_NS / 1e6,
          "guards": {"max_gap_ms": gap_ms} if gap_ms else None, "allow_crossed": True}
    events = make_events(rows)
    clock_end = max(ticks[-1], rows[-1][0])
    want = replay(events, strat, params, instruments=insts, clock_end=clock_end, **kw)
    rp = Replayer(insts, strat, params, **kw)
    i = 0
    for tick in ticks:
        j = i
        while j < len(rows) and rows[j][0] < tick:
            j += 1
        if j > i:
            rp.feed(events.take(slice(i, j)))
            i = j
        rp.advance_to(tick)
    if i < len(rows):
        rp.feed(events.take(slice(i, None)))
    got = rp.finish(clock_end=clock_end)
    assert got.fills_hash == want.fills_hash
    assert np.array_equal(got.orders, want.orders) and np.array_equal(got.equity_values, want.equity_values)
    assert got.counters == want.counters and got.guards == want.guards


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, seed=hs.integers(0, 2**32))
def test_any_run_ties_out_kpis_to_its_fills(data, stream, fill, seed):
    """For any run: position = signed sum of fill quantities; total_pnl = fill cash flows - fees + marks."""
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0]))
    insts = instruments(n_assets)
    strat, params = script_strategy(actions)
    res = replay(make_events(rows), strat, params, fill=fill, seed=seed, instruments=insts, chunk_rows=5,
                 allow_crossed=True)
    k = compute_kpis(res)
    total = 0.0
    for a, inst in enumerate(insts):
        f = res.fills[res.fills["asset"] == a]
        pos = float((f["side"] * f["qty"]).sum())
        assert res.accounts[a, 0] == pytest.approx(pos, abs=1e-9)
        mid = res.accounts[a, 7]
        cs = inst.contract_size
        if inst.contract_type.startswith("inverse"):
            coin = float((f["side"] * f["qty"] * cs / f["price"]).sum()) - float(f["fee"].sum())
            expected = 0.0 if (pos == 0 and coin == 0) else (coin - pos * cs / mid) * mid
        else:
            expected = float((-f["side"] * f["qty"] * f["price"] * cs).sum()) - float(f["fee"].sum()) + (
                pos * cs * mid if pos else 0.0)
        got = k["instruments"][inst.key]["total_pnl"]
        if math.isnan(mid):
            continue
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
        total += got
    assert k["total"]["total_pnl"] == pytest.approx(total, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(funding=True), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**32),
       lot=lots, schedule=schedules, wake=hs.booleans(), chunk_rows=hs.sampled_from([1, 7, 65536]),
       clock_extra=hs.sampled_from([None, 0, 30_000]), mark=hs.sampled_from(["mid", "mark_price"]))
def test_funding_and_marks_match_reference(data, stream, fill, lat, seed, lot, schedule, wake, chunk_rows, clock_extra,
                                           mark):
    """FUNDING and MARK rows among the events: funding paid at each funding time between events (and after the
    last one when the clock runs on), ledger rows, cash and equity (marked at the mid or the mark price) exactly as
    the reference engine's."""
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0] + 5_000))
    clock_end = None if clock_extra is None else rows[-1][0] + clock_extra
    res, ref = _run_both(n_assets, rows, actions, fill, lat, seed, lot=lot, schedule=schedule, wake=wake,
                         chunk_rows=chunk_rows, clock_end=clock_end, mark=mark)
    assert_same(res, ref, n_assets)
    assert_invariants(res, rows, fill, ref)

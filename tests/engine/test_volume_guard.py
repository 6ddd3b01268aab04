"""The volume guard on a hand-built book: exact caps and blocks (traded volume over a window, displayed depth),
the same run in the plain-Python reference engine, and in the batched kernel."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.core.errors import ConfigError
from arbkit.engine import RiskGuards
from arbkit.engine import codes as c
from arbkit.kpi import compute_kpis
from arbkit.run.replay import replay, replay_batch
from helpers.events import make_events
from helpers.fill_books import IMAGE, INST, IOC
from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, reference_run, scripted
from helpers.streams import fill_models, instruments, latencies, lots, streams
from helpers.streams import scripts as script_lists
from helpers.script_strategy import HEAD, WIDTH, script_kernel, script_vector

from arbkit.engine.config import Schedule
from arbkit.engine.strategy import Strategy

MS = 1_000_000
TAIL = [(k * 100 * MS, 0, 4, 1, 99.5, 1.0, 100 + k) for k in range(1, 25)]  # BBO rows: time passes, books unchanged
# public trades: 1.0 at 200 ms, 2.0 at 300 ms (the book is not changed by them)
TRADES = [(200 * MS, 0, 3, 1, 100.5, 1.0, 50), (300 * MS, 0, 3, -1, 99.5, 2.0, 51)]
ROWS = sorted(IMAGE + TRADES + TAIL, key=lambda r: r[0])
N_MAX = 6


def strategy():
    return Strategy("script", script_kernel, params={f"p{i}": 0.0 for i in range(HEAD + WIDTH * N_MAX)},
                    schedule=Schedule(every_event=True), state_size=1 + N_MAX)


def run(actions, guards):
    return replay(make_events(ROWS), strategy(), script_vector(actions, False, N_MAX), instruments=INST,
                  guards=guards)


def reference(actions, guards):
    i = INST[0]
    ref = ReferenceEngine([RefInstrument(i.tick_size, i.maker_fee_bps, i.taker_fee_bps, i.contract_size, False,
                                         i.lot_size)], Latency(0), Latency(0),
                          max_volume_share=guards["max_volume_share"],
                          volume_window_ms=guards.get("volume_window_ms", 60_000.0),
                          volume_basis=guards.get("volume_basis", "traded"))
    ref.run(ROWS, scripted(actions))
    return ref


def sent(res):
    return [float(q) for q in res.orders[res.orders["event"] == c.EV_SUBMIT]["qty"]]


# window 1000 ms: 64 buckets of 15.625 ms; at 1500 ms the window holds buckets 33..96 (from 515.6 ms): no trades
TRADED = {"max_volume_share": 0.5, "volume_window_ms": 1000.0}
TRADED_ACTS = [
    (100, 0, 0, 1, 101.5, 1.0, IOC, 0),  # nothing traded yet: blocked
    (200 * MS, 0, 0, 1, 101.5, 2.0, IOC, 0),  # at the 200 ms trade: 1.0 traded -> room 0.5: cut to 0.5
    (350 * MS, 0, 0, 1, 101.5, 1.0, IOC, 0),  # 3.0 traded -> room 1.5: 1.0 passes
    (1500 * MS, 0, 0, 1, 101.5, 0.5, IOC, 0),  # the trades left the window: blocked
    (1600 * MS, 0, 0, -1, 99.0, 0.5, IOC, 0),  # reduces the position: always passes
]
# depth: 0.25 offered at the best ask, 2.0 bid at the best bid
DEPTH = {"max_volume_share": 1.0, "volume_basis": "depth"}
DEPTH_ACTS = [
    (100, 0, 0, 1, 101.5, 2.0, IOC, 0),  # best ask shows 0.25: cut to 0.25
    (100 * MS, 0, 0, -1, 99.0, 3.0, IOC, 0),  # more than the 0.25 held (not reducing); best bid 2.0: cut to 2.0
]


def test_traded_volume_caps_and_blocks_exactly():
    res = run(TRADED_ACTS, TRADED)
    assert sent(res) == [0.5, 1.0, 0.5]
    assert res.counters["guard_volume_blocks"] == 2 and res.counters["guard_volume_capped"] == 1
    assert res.guards["volume"]["blocks"] == 2 and res.guards["volume"]["cap_applied"] == 1
    total = compute_kpis(res)["total"]
    assert total["blocks"]["volume"] == 2 and total["caps"]["volume"] == 1 and total["caps"]["budget"] == 0
    # a longer window (10 s: buckets of 156.25 ms) keeps the trades: the 1500 ms order passes too
    res = run(TRADED_ACTS, {**TRADED, "volume_window_ms": 10_000.0})
    assert sent(res) == [0.5, 1.0, 0.5, 0.5] and res.counters["guard_volume_blocks"] == 1


def test_depth_basis_caps_and_blocks_exactly():
    res = run(DEPTH_ACTS, DEPTH)
    assert sent(res) == [0.25, 2.0] and res.counters["guard_volume_capped"] == 2
    res = run(DEPTH_ACTS, {**DEPTH, "max_volume_share": 0.1})  # 0.025 of a 0.25 lot: nothing left
    assert sent(res) == [] and res.counters["guard_volume_blocks"] == 2


@pytest.mark.parametrize("acts, guards", [(TRADED_ACTS, TRADED), (DEPTH_ACTS, DEPTH),
                                          (TRADED_ACTS, {**TRADED, "volume_window_ms": 10_000.0})])
def test_same_as_the_reference_engine(acts, guards):
    res = run(acts, guards)
    ref = reference(acts, guards)
    assert [(int(f["ts"]), int(f["order_id"]), int(f["side"]), float(f["qty"]), float(f["price"])) for f in res.fills] \
        == [(f.ts, f.order_id, f.side, f.qty, f.price) for f in ref.fills]
    for key in ("guard_volume_blocks", "guard_volume_capped", "orders"):
        assert res.counters[key] == ref.counters[key], key


def test_batched_kernel_equals_single_runs():
    scripts = [TRADED_ACTS, TRADED_ACTS[1:], TRADED_ACTS[2:4]]
    vectors = [script_vector(s, False, N_MAX) for s in scripts]
    for guards in (TRADED, DEPTH):
        batched = replay_batch(make_events(ROWS), strategy(), vectors, instruments=INST, guards=guards)
        for vec, got in zip(vectors, batched):
            single = replay(make_events(ROWS), strategy(), vec, instruments=INST, guards=guards)
            assert got.fills_hash == single.fills_hash and got.counters == single.counters
            assert got.guards == single.guards
        assert batched[0].counters["guard_volume_blocks"] > 0 or guards is DEPTH


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, lot=lots,
       share=hs.sampled_from([0.05, 0.3, 1.0]), window_ms=hs.sampled_from([1.0, 1000.0]),
       basis=hs.sampled_from(["traded", "depth"]), n_sets=hs.integers(1, 3))
def test_random_books_reference_and_batch(data, stream, fill, lat, lot, share, window_ms, basis, n_sets):
    """Random books and order scripts with the volume guard on: the reference engine's fills and guard counts,
    and each set of a batch equal to its own run."""
    n_assets, rows = stream
    scripts_ = [data.draw(script_lists(n_assets, rows[0][0], rows[-1][0] + 5_000)) for _ in range(n_sets)]
    n_max = max(len(s) for s in scripts_)
    strat = Strategy("script", script_kernel, params={f"p{i}": 0.0 for i in range(HEAD + WIDTH * n_max)},
                     schedule=Schedule(every_event=True), state_size=1 + n_max)
    vectors = [script_vector(s, False, n_max) for s, _ in zip(scripts_, range(n_sets))]
    vol = {"max_volume_share": share, "volume_window_ms": window_ms, "volume_basis": basis}
    latency = {"entry": lat[1], "response": lat[2]} if lat[0] == "const" else \
        {"entry": {"samples_ns": lat[1]}, "response": {"samples_ns": lat[2]}}
    kw = {"fill": fill, "latency": latency, "instruments": instruments(n_assets, lot), "guards": vol,
          "allow_crossed": True}
    events = make_events(rows)
    batched = replay_batch(events, strat, vectors, **kw)
    for vec, acts, got in zip(vectors, scripts_, batched):
        single = replay(events, strat, vec, **kw)
        assert got.fills_hash == single.fills_hash and got.counters == single.counters
        ref = reference_run(rows, kw["instruments"], acts, fill, lat, 0, volume=vol)
        assert [(int(f["ts"]), int(f["order_id"]), float(f["qty"]), float(f["price"])) for f in single.fills] == \
            [(f.ts, f.order_id, f.qty, f.price) for f in ref.fills]
        for key in ("guard_volume_blocks", "guard_volume_capped", "orders", "rejects"):
            assert single.counters[key] == ref.counters[key], key


def test_volume_guard_config_is_checked():
    with pytest.raises(ConfigError, match="guards.max_volume_share"):
        RiskGuards(max_volume_share=1.5)
    with pytest.raises(ConfigError, match="guards.volume_basis"):
        RiskGuards.from_dict({"max_volume_share": 0.1, "volume_basis": "book"})
    with pytest.raises(ConfigError, match="guards.volume_window_ms"):
        RiskGuards(max_volume_share=0.1, volume_window_ms=0.0)
    assert RiskGuards(max_volume_share=0.1).active and not RiskGuards(volume_basis="depth").active

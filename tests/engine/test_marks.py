"""Exact max drawdown and time in market against a brute-force recomputation from the fills and the mids.

The brute force evaluates equity from scratch — cash and positions summed from the fill list,
positions marked at the books' mids — after every fill and every message end (a superset of
the points where equity can change), keeps the running peak from the starting equity (0), and
measures time in market from the running position of the fill list. Neither depends on the
equity samples: the engine's figures must be the same for any ``equity_interval_ms``.
"""
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.kpi import compute_kpis
from arbkit.run.replay import replay
from helpers.events import make_events
from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
from helpers.script_strategy import script_strategy
from helpers.streams import fill_models, instruments, scripts, streams


def _scratch_equity(ref, insts):
    """Per-asset and total equity from the fill list and the current mids (no account state used)."""
    out = []
    for a, inst in enumerate(insts):
        f = [x for x in ref.fills if x.asset == a]
        cs = inst.contract_size
        pos = sum(x.side * x.qty for x in f)
        mid = ref.mid[a]
        if inst.contract_type.startswith("inverse"):
            coin = sum(x.side * x.qty * cs / x.price for x in f) - sum(x.fee for x in f)
            e = (coin * mid if coin else 0.0) if abs(pos) < 1e-12 else (coin - pos * cs / mid) * mid
        else:
            cash = sum(-x.side * x.qty * x.price * cs for x in f) - sum(x.fee for x in f)
            e = cash if abs(pos) < 1e-12 else cash + pos * cs * mid
        out.append(e)
    return out + [sum(e for e in out if not math.isnan(e))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, seed=hs.integers(0, 2**32),
       equity_ms=hs.sampled_from([0.001, 0.0037, 1000.0]))
def test_drawdown_and_time_in_market_equal_a_brute_force_recomputation(data, stream, fill, seed, equity_ms):
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0]))
    insts = instruments(n_assets)
    strat, params = script_strategy(actions)
    lat = {"entry": 700, "response": 300}
    res = replay(make_events(rows), strat, params, fill=fill, latency=lat, seed=seed, instruments=insts,
                 equity_interval_ms=equity_ms, allow_crossed=True, chunk_rows=9)
    ref = ReferenceEngine([RefInstrument(i.tick_size, i.maker_fee_bps, i.taker_fee_bps, i.contract_size,
                                         i.contract_type.startswith("inverse"), i.lot_size) for i in insts],
                          Latency(700), Latency(300), seed=seed, queue=fill["queue"], queue_power=fill["queue_power"],
                          fill_probability=fill["fill_probability"], trade_through=fill["trade_through"],
                          cross_fill=fill["cross_fill"], consume=fill["taker_consumes_book"],
                          max_levels=fill["max_taker_levels"], equity_interval_ns=10**15)
    peak = [0.0] * (n_assets + 1)
    maxdd = [0.0] * (n_assets + 1)

    def observe(eng, t):
        for r, e in enumerate(_scratch_equity(eng, insts)):
            if math.isnan(e):
                continue
            peak[r] = max(peak[r], e)
            maxdd[r] = max(maxdd[r], peak[r] - e)

    ref.observer = observe
    ref.run(rows, scripted(actions))
    assert len(res.fills) == len(ref.fills)
    for r in range(n_assets + 1):
        assert res.max_drawdowns[r] == pytest.approx(maxdd[r], rel=1e-9, abs=1e-9), r
    # time in market: from the running position of the fills (any asset held, for the total)
    start, end = res.span_ns
    held_since = [None] * (n_assets + 1)
    tim = [0] * (n_assets + 1)
    pos = [0.0] * n_assets
    for f in res.fills:
        a = int(f["asset"])
        pos[a] += int(f["side"]) * float(f["qty"])
        for r, held in ((a, abs(pos[a]) > 1e-12), (n_assets, any(abs(p) > 1e-12 for p in pos))):
            if held and held_since[r] is None:
                held_since[r] = int(f["ts"])
            elif not held and held_since[r] is not None:
                tim[r] += int(f["ts"]) - held_since[r]
                held_since[r] = None
    for r in range(n_assets + 1):
        want = tim[r] + (end - held_since[r] if held_since[r] is not None else 0)
        assert int(res.time_in_market_ns[r]) == want, r
    k = compute_kpis(res)["total"]
    assert k["max_drawdown"] == res.max_drawdowns[-1]
    assert k["time_in_market_pct"] == pytest.approx(100.0 * tim_total(res) / (end - start) if end > start else 0.0)


def tim_total(res):
    return int(res.time_in_market_ns[-1])


def test_drawdown_is_measured_from_the_starting_equity():
    """A run that only loses: its max drawdown is the whole loss, not the fall after its first equity sample."""
    from helpers.fill_books import IMAGE, INST, IOC
    strat, params = script_strategy([(100, 0, 0, 1, 101.5, 1.0, IOC, 0)])  # buy 1.0 through three ask levels
    rows = [(1_000_000 * k, 0, 4, 1, 99.5, 1.0, k) for k in range(1, 4)]
    res = replay(make_events(IMAGE + rows), strat, params, instruments=INST, equity_interval_ms=1000.0)
    # the mid stays 100.0: equity = 1.0 x 100 - (0.25 x 100.5 + 0.5 x 101 + 0.25 x 101.5) - fees, right at the fill
    fee = (0.25 * 100.5 + 0.5 * 101.0 + 0.25 * 101.5) * 5e-4
    loss = (0.25 * 100.5 + 0.5 * 101.0 + 0.25 * 101.5) - 100.0 + fee
    assert res.max_drawdowns[-1] == pytest.approx(loss)
    assert len(res.equity_ts) == 1  # one sample (at the first message, before the fill): samples could not see it
    assert compute_kpis(res)["total"]["max_drawdown"] == pytest.approx(loss)
    assert compute_kpis(res)["total"]["time_in_market_pct"] == pytest.approx(100.0 * (3_000_000 - 100) / (3_000_000 - 100))


def test_equity_interval_must_be_positive():
    from arbkit.core.errors import ConfigError
    from helpers.fill_books import IMAGE, INST
    strat, params = script_strategy([])
    for bad in (0, 0.0, -5.0, float("nan")):
        with pytest.raises(ConfigError, match="equity_interval_ms must be a number > 0"):
            replay(make_events(IMAGE), strat, params, instruments=INST, equity_interval_ms=bad)

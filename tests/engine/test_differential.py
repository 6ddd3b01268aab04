"""The numba engine against the plain-Python reference engine on random streams and scripts.

Hypothesis builds valid event streams (images, depth updates, trades, gaps) and random
order actions; both engines must produce the same fills (every field), positions and cash
— exactly — for every fill model and latency model.
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.engine import LatencyModel
from arbkit.run.replay import replay
from helpers.events import make_events
from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
from helpers.script_strategy import script_strategy
from helpers.streams import fill_models, instruments, latencies, scripts, streams

def _run_both(n_assets, rows, actions, fill, lat, seed):
    insts = instruments(n_assets)
    if lat[0] == "const":
        lat_model = LatencyModel(entry=lat[1], response=lat[2])
        ref_lat = (Latency(lat[1]), Latency(lat[2]))
    else:
        lat_model = LatencyModel(entry={"samples_ns": lat[1]}, response={"samples_ns": lat[2]})
        ref_lat = (Latency(samples=[float(x) for x in lat[1]]), Latency(samples=[float(x) for x in lat[2]]))
    strat, params = script_strategy(actions)
    res = replay(make_events(rows), strat, params, fill=fill, latency=lat_model, seed=seed, instruments=insts,
                 chunk_rows=7)
    ref = ReferenceEngine([RefInstrument(i.tick_size, i.maker_fee_bps, i.taker_fee_bps, i.contract_size,
                                         i.contract_type.startswith("inverse")) for i in insts],
                          ref_lat[0], ref_lat[1], seed=seed, queue=fill["queue"], queue_power=fill["queue_power"],
                          fill_probability=fill["fill_probability"], trade_through=fill["trade_through"],
                          cross_fill=fill["cross_fill"], consume=fill["taker_consumes_book"],
                          max_levels=fill["max_taker_levels"])
    ref.run(rows, scripted(actions))
    return res, ref


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, lat=latencies, seed=hs.integers(0, 2**64 - 1))
def test_numba_engine_matches_reference(data, stream, fill, lat, seed):
    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0]))
    res, ref = _run_both(n_assets, rows, actions, fill, lat, seed)
    got = [(int(f["ts"]), int(f["ts_seen"]), int(f["asset"]), int(f["order_id"]), int(f["side"]), int(f["maker"]),
            int(f["level"]), float(f["price"]), float(f["qty"]), float(f["fee"])) for f in res.fills]
    want = [(f.ts, f.ts_seen, f.asset, f.order_id, f.side, f.maker, f.level, f.price, f.qty, f.fee) for f in ref.fills]
    assert got == want
    for a in range(n_assets):
        assert res.accounts[a, 0] == ref.pos[a]  # A_POS
        assert res.accounts[a, 1] == ref.cash[a]  # A_CASH
    for key in ("orders", "cancels", "modifies", "rejects", "request_rejects", "maker_fills", "taker_fills",
                "trade_through_fills", "cross_fills", "prob_skipped_fills"):
        assert res.counters[key] == ref.counters[key], key


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=hs.data(), stream=streams(), fill=fill_models, seed=hs.integers(0, 2**32))
def test_any_run_ties_out_kpis_to_its_fills(data, stream, fill, seed):
    """For any run: position = signed sum of fill quantities; total_pnl = fill cash flows - fees + marks."""
    import math

    from arbkit.kpi import compute_kpis

    n_assets, rows = stream
    actions = data.draw(scripts(n_assets, rows[0][0], rows[-1][0]))
    insts = instruments(n_assets)
    strat, params = script_strategy(actions)
    res = replay(make_events(rows), strat, params, fill=fill, seed=seed, instruments=insts, chunk_rows=5)
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

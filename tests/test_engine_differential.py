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
from arbkit.core.schema import Instrument
from conftest import make_events
from reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
from script_strategy import script_strategy

TICK = 0.5
CENTRE = 200  # ticks -> price 100.0


@hs.composite
def streams(draw):
    """Rows (ts, asset, kind, side, price, qty, seq) for one or two assets, starting with images."""
    n_assets = draw(hs.integers(1, 2))
    rows = []
    t = 1_000
    qty = hs.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
    for a in range(n_assets):
        rows.append((t, a, 5, 0, 0.0, 0.0, 0))
        for k in range(1, 4):
            rows.append((t, a, 1, 1, (CENTRE - k) * TICK, draw(qty), 0))
            rows.append((t, a, 1, -1, (CENTRE + k) * TICK, draw(qty), 0))
    seq = 1
    for _ in range(draw(hs.integers(5, 60))):
        t += draw(hs.sampled_from([0, 1, 500, 1_000, 3_000]))
        a = draw(hs.integers(0, n_assets - 1))
        what = draw(hs.sampled_from(["depth"] * 6 + ["trade"] * 3 + ["image", "gap"]))
        if what == "depth":
            for _ in range(draw(hs.integers(1, 3))):
                side = draw(hs.sampled_from([1, -1]))
                off = draw(hs.integers(0, 5))
                tk = CENTRE - 1 - off if side > 0 else CENTRE + 1 + off
                if draw(hs.booleans()):
                    tk += -side * 1  # sometimes crosses into the other side's range
                rows.append((t, a, 2, side, tk * TICK, draw(hs.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 4.0])), seq))
        elif what == "trade":
            side = draw(hs.sampled_from([1, -1, 0]))
            tk = CENTRE + draw(hs.integers(-4, 4))
            rows.append((t, a, 3, side, tk * TICK, draw(qty), seq))
        elif what == "image":
            rows.append((t, a, 5, 0, 0.0, 0.0, seq))
            for k in range(1, draw(hs.integers(1, 4)) + 1):
                rows.append((t, a, 1, 1, (CENTRE - k) * TICK, draw(qty), seq))
                rows.append((t, a, 1, -1, (CENTRE + k) * TICK, draw(qty), seq))
        else:
            rows.append((t, a, 6, 0, 0.0, 0.0, seq))
        seq += 1
    return n_assets, rows


@hs.composite
def scripts(draw, n_assets, t0, t1):
    actions = []
    n_submits = []
    for i in range(draw(hs.integers(1, 14))):
        t = draw(hs.integers(t0, t1))
        op = draw(hs.sampled_from([0, 0, 0, 1, 2])) if n_submits else 0
        a = draw(hs.integers(0, n_assets - 1))
        side = draw(hs.sampled_from([1, -1]))
        price = (CENTRE + draw(hs.integers(-4, 4))) * TICK
        qty = draw(hs.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0]))
        otype = draw(hs.integers(0, 3))
        ref = draw(hs.sampled_from(n_submits)) if op else 0
        actions.append((t, op, a, side, price, qty, otype, ref))
        if op == 0:
            n_submits.append(i)
    actions.sort(key=lambda x: x[0])  # the script runs in time order; refs may point later (then ignored)
    return actions


fill_models = hs.builds(
    dict,
    queue=hs.sampled_from(["risk_averse", "power", "log"]),
    queue_power=hs.sampled_from([1.0, 2.0, 3.0]),
    fill_probability=hs.sampled_from([1.0, 1.0, 0.5]),
    trade_through=hs.booleans(),
    cross_fill=hs.booleans(),
    taker_consumes_book=hs.booleans(),
    max_taker_levels=hs.sampled_from([0, 0, 1, 2]),
)
latencies = hs.one_of(
    hs.tuples(hs.sampled_from([0, 1, 700, 2_000]), hs.sampled_from([0, 1, 700, 2_000])).map(lambda x: ("const",) + x),
    hs.tuples(hs.lists(hs.sampled_from([0, 300, 1_000, 4_000]), min_size=1, max_size=4),
              hs.lists(hs.sampled_from([0, 300, 1_000, 4_000]), min_size=1, max_size=4)).map(lambda x: ("emp",) + x),
)


def _instruments(n):
    kinds = [("linear_perp", 1.0, -0.25, 4.0), ("inverse_perp", 10.0, 1.0, 5.0)]
    out = []
    for a in range(n):
        ct, cs, mk, tk = kinds[a]
        out.append(Instrument("sim", f"X{a}", TICK, 0.25, maker_fee_bps=mk, taker_fee_bps=tk, contract_type=ct,
                              contract_size=cs))
    return out


def _run_both(n_assets, rows, actions, fill, lat, seed):
    insts = _instruments(n_assets)
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
    insts = _instruments(n_assets)
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

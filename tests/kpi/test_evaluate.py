"""One evaluation path: evaluate() against compute_kpis / round_trips / gates computed by hand, hooks taken from
the Strategy a result carries, strategies by registry name."""
import dataclasses
import json

import numpy as np
import pytest

from arbkit.core.errors import ConfigError
from arbkit.engine.replayer import Replayer
from arbkit.kpi import compute_kpis, evaluate
from arbkit.kpi.gates import Gate
from arbkit.run.replay import replay
from arbkit.strategies import get_strategy
from arbkit.strategies.arb import round_trips

LAT = {"entry": 1_000_000, "response": 1_000_000}
MM = {"asset": 1, "mode": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}
ARB = {"asset_a": 0, "asset_b": 1, "entry_bps": -4.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0,
       "net_of_fees": 0.0}


def same(a, b) -> bool:
    """Equal KPI dicts (NaN equals NaN)."""
    return json.dumps(a, sort_keys=True, default=float) == json.dumps(b, sort_keys=True, default=float)


@pytest.fixture(scope="module")
def window(bundled):
    start = bundled.manifest.start_ns
    return {"start": start + 30 * 10**9, "end": start + 150 * 10**9}


@pytest.fixture(scope="module")
def mm_run(bundled, window):
    return replay(bundled, "mm", MM, latency=LAT, **window)


@pytest.fixture(scope="module")
def arb_run(bundled, window):
    return replay(bundled, "arb", ARB, latency=LAT, **window)


def test_strategies_by_registry_name(bundled, window, mm_run):
    by_object = replay(bundled, get_strategy("mm"), MM, latency=LAT, **window)
    assert mm_run.fills_hash == by_object.fills_hash and len(mm_run.fills) > 0
    assert mm_run.spec.name == "mm"
    with pytest.raises(ConfigError, match="not one of"):
        replay(bundled, "no_such_strategy", {})


def test_market_maker_evaluation_is_the_plain_kpis(mm_run):
    ev = evaluate(mm_run, gate="market_maker")
    assert same(ev.kpis, compute_kpis(mm_run))
    assert ev.round_trips is None and ev.edge is None and ev.spreads is None
    assert ev.objective == "total_pnl" and ev.objective_value == ev.total["total_pnl"] == pytest.approx(mm_run.pnl)
    assert ev.rank_keys == (("total_pnl", True), ("max_drawdown", False))
    assert same(ev.gates, [Gate.load("market_maker").evaluate(ev.total)]) and ev.passed == ev.gates[0]["passed"]
    row = ev.row()
    assert "edge_realistic" not in row and row["total_pnl"] == ev.total["total_pnl"]
    assert row["gate_verdict"] == ev.gates[0]["verdict"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.objective = "sharpe"


def test_arbitrage_evaluation_uses_its_hooks(arb_run):
    trips = round_trips(arb_run)
    ev = evaluate(arb_run, gate=["default", {"name": "lenient", "thresholds": ["fills >= 0"]}], costs="conservative")
    assert same(ev.kpis, compute_kpis(arb_run, round_trips=trips))
    assert len(ev.round_trips) == len(trips) == ev.total["round_trips"] > 0
    assert ev.objective == "edge_conservative" and ev.objective_value == ev.edge["edge_conservative"]
    assert ev.rank_keys[0] == ("edge_realistic", True)
    assert [g["gate"] for g in ev.gates] == ["default", "lenient"] and ev.gates[1]["passed"]
    assert ev.passed == ev.gates[0]["passed"]
    row = ev.row()
    assert {"edge_optimistic", "edge_realistic", "edge_conservative", "realised_edge_bps", "is_recommended",
            "paper_round_trips"} <= set(row)
    assert row["round_trips"] == len(trips) and row["gate_passed"] == ev.passed


def test_a_strategys_own_hooks_travel_with_its_results(bundled, window, mm_run):
    """A strategy outside the registry, declared in one place with its round trips and ranking."""
    mm = get_strategy("mm")
    mine = dataclasses.replace(mm, name="my_mm", round_trips=lambda res: [{"pnl_net": res.pnl, "exit_reason": "all"}],
                               objective="sharpe", rank_keys=(("sharpe", True),))
    res = replay(bundled, mine, MM, latency=LAT, **window)
    assert res.fills_hash == mm_run.fills_hash
    ev = evaluate(res)
    assert ev.total["round_trips"] == 1 and set(ev.total["exit_reasons"]) == {"all"}
    assert ev.objective == "sharpe" and ev.rank_keys == (("sharpe", True),)
    assert res.kpis().filter(res.kpis()["kpi"] == "round_trips")["total"][0] == 1.0


def test_plain_engine_results_find_their_hooks_by_name(bundled, window):
    cols = bundled.to_numpy()
    cols = cols.take((cols.ts_local >= window["start"]) & (cols.ts_local < window["end"]))
    runner = Replayer(bundled.instruments, get_strategy("arb"), ARB, latency=LAT)
    runner.feed(cols)
    plain = runner.finish()
    assert not hasattr(plain, "spec")
    assert evaluate(plain).edge is not None  # "arb" is a registry name
    custom = dataclasses.replace(get_strategy("arb"), name="unregistered")
    runner = Replayer(bundled.instruments, custom, ARB, latency=LAT)
    runner.feed(cols)
    ev = evaluate(runner.finish())
    assert ev.edge is None and ev.round_trips is None  # no hooks known: flat-to-flat round trips
    assert evaluate(runner.finish(), strategy=custom).edge is not None


def test_an_objective_the_run_lacks_is_named(mm_run):
    bad = dataclasses.replace(get_strategy("mm"), objective="edge_{costs}")
    with pytest.raises(ConfigError, match="objective 'edge_realistic' is not a KPI"):
        evaluate(mm_run, strategy=bad)
    assert np.isfinite(evaluate(mm_run, strategy=get_strategy("mm")).objective_value)

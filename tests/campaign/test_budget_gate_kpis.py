"""Budgets and retries stop a campaign with a verdict naming why; PAUSE is the human gate; the campaign KPIs by hand."""
import numpy as np
import pytest

from arbkit.campaign.orchestrator import Campaign, init_campaign, pause, resume
from arbkit.campaign.status import status_lines, status_of
from arbkit.kpi.campaign import CAMPAIGN_KPI_DEFINITIONS, inventory_within_limit_pct, pearson
from arbkit.run.replay import replay
from arbkit.strategies.mm import quote_internals
from helpers.paths import BUNDLED

from campaign.campaigns import small, write_spec


def test_run_budget_stops_with_a_verdict_naming_it(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(budget={"runs": 2})))
    assert camp.run() == "DONE"
    s = camp.state()
    assert (s["outcome"], s["reason"]) == ("BUDGET", "budget spent: runs 2 of 2")
    assert len(camp.dir.read_history()) == 2 and len(list(camp.dir.runs_dir.glob("*.yaml"))) == 2


def test_wall_budget_stops_before_the_next_run(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(budget={"wall_s": 0.001})))
    assert camp.run() == "DONE"
    s = camp.state()
    assert s["outcome"] == "BUDGET" and s["reason"].startswith("budget spent: wall time") and "of 0.001 s" in s["reason"]
    assert camp.dir.read_history() == []


def test_fail_beyond_retries_stops_naming_the_hypothesis(tmp_path):
    hyp = {"name": "never", "checks": ["fill_rate_pct < 0"], "max_retries": 1, "adjust": ["half_spread_bps + 1"]}
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(hypotheses=[hyp])))
    assert camp.run() == "DONE"
    history = camp.dir.read_history()
    assert [h["verdict"] for h in history] == ["FAIL", "FAIL"]
    assert history[1]["changes"] == {"params.half_spread_bps": {"from": 0.5, "to": 1.5,
                                                                "reason": "rule 'half_spread_bps + 1'"}}
    assert camp.state()["reason"] == "FAIL: never failed after 1 retries (max_retries 1)"


def test_step_is_one_transition_and_pause_is_a_gate(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small()))
    assert [camp.step() for _ in range(5)] == ["STARTING", "RUNNING", "ANALYZING", "ADJUSTING", "IDLE"]
    assert len(camp.dir.read_history()) == 1
    pause(camp.dir.path)
    assert camp.step() == "PAUSED"
    assert camp.run() == "PAUSED" and camp.step() == "PAUSED"  # nothing moves while the gate is closed
    assert len(camp.dir.read_history()) == 1
    data = status_of(camp.dir.path)
    assert data["state"] == "PAUSED" and data["pause_requested"] and data["history"][0]["run_id"] == "small-r001"
    assert "small-r001" in "\n".join(status_lines(data))
    assert resume(camp.dir.path) == "IDLE"
    assert Campaign(camp.dir.path).run() == "DONE"


def test_inventory_within_limit_by_hand():
    fills = np.zeros(4, dtype=[("ts", "i8"), ("asset", "i8"), ("side", "i8"), ("qty", "f8")])
    # t=0..100 ns: +2 at 10 (|2| > 1: out), -1.5 at 40 (0.5: in), +1 on asset 1 at 70 (in), +1 on asset 1 at 90 (out)
    fills[:] = [(10, 0, 1, 2.0), (40, 0, -1, 1.5), (70, 1, 1, 1.0), (90, 1, 1, 1.0)]
    # inside: [0,10) + [40,90) = 60 of 100 ns
    assert inventory_within_limit_pct(fills, 2, (0, 100), 1.0) == pytest.approx(60.0)
    assert inventory_within_limit_pct(fills[:0], 2, (0, 100), 0.0) == 100.0


def test_pearson_matches_numpy_and_is_nan_on_constants():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert np.isnan(pearson(x, np.ones(50))) and np.isnan(pearson(x[:2], y[:2]))


def test_campaign_kpis_on_a_replay(tmp_path):
    from arbkit.campaign.sources import run_record

    start = 1723161254087891268
    res = replay(BUNDLED, "mm", {"asset": 1, "mode": 0, "order_size": 0.01, "max_position": 0.05}, seed=7,
                 start=start, end=start + 20 * 10**9)
    k = run_record(res, inventory_limit=None)["kpis"]
    hours = (res.span_ns[1] - res.span_ns[0]) / 3.6e12
    assert k["pnl_per_hour"] == pytest.approx(k["total_pnl"] / hours)
    inner = quote_internals(res)
    assert k["quote_decisions"] == len(inner["ts"]) > 0
    # Avellaneda-Stoikov: spread = gamma * sigma^2 * horizon + constant, so it rises with the volatility estimate
    assert k["spread_vol_corr"] == pytest.approx(pearson(inner["spread"], inner["sigma"])) and k["spread_vol_corr"] > 0.9
    np.testing.assert_allclose(inner["spread"], 0.1 * inner["sigma"] ** 2 * 60.0 + (2 / 0.1) * np.log(1 + 0.1 / 1.5),
                               rtol=1e-9)
    assert set(k) >= set(CAMPAIGN_KPI_DEFINITIONS)


def test_cli_verbs(tmp_path, capsys):
    from arbkit.apps.cli import main

    spec = write_spec(tmp_path / "spec", small(budget={"runs": 1}))
    d = str(tmp_path / "c")
    assert main(["campaign", "init", d, "--config", str(spec)]) == 0
    assert main(["campaign", "step", d]) == 0 and capsys.readouterr().out.splitlines()[-1] == "STARTING"
    assert main(["campaign", "pause", d]) == 0
    assert main(["campaign", "run", d, "--quiet"]) == 0 and "PAUSED" in capsys.readouterr().out
    assert main(["campaign", "resume", d]) == 0 and "state STARTING" in capsys.readouterr().out
    assert main(["campaign", "run", d, "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "DONE BUDGET: budget spent: runs 1 of 1"
    assert main(["campaign", "status", d, "--json"]) == 0
    import json
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "DONE" and [h["run_id"] for h in data["history"]] == ["small-r001"]
    assert main(["campaign", "status", str(tmp_path / "nowhere")]) == 2
    assert "not a campaign directory" in capsys.readouterr().err


@pytest.mark.parametrize("entry_ns", [3_000_000, 7_000_000])
def test_kill_switch_reaction_is_the_cancels_trip_to_the_exchange(entry_ns):
    """A data-gap trip with two quotes resting: the kill switch sends both cancels at the trip, and they leave the
    book one entry latency later, so the reaction time is the entry latency."""
    from arbkit.kpi.campaign import kill_switch_reaction_s

    start = 1723161254087891268 + 60 * 10**9
    res = replay(BUNDLED, "touch_mm", {"asset": 1, "half_spread_bps": 1, "order_size": 0.01, "max_position": 0.05},
                 seed=7, start=start, end=start + 30 * 10**9, latency={"entry": entry_ns, "response": 1_000_000},
                 guards={"max_gap_ms": 80})
    kill = res.guards["kill_switch"]
    assert kill["tripped"] and res.counters["kill_switch_cancels"] == 2
    assert kill_switch_reaction_s(res.orders, kill["ts"]) == pytest.approx(entry_ns / 1e9)
    assert np.isnan(kill_switch_reaction_s(res.orders, None))


def test_pause_after_hypothesis_waits_for_approval(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(pause_after="hypothesis")))
    assert camp.run() == "PAUSED"
    history = camp.dir.read_history()
    assert history[-1]["verdict"] == "PASS" and history[-1]["decision"]["action"] == "next_hypothesis"
    assert all(h["hypothesis"] == history[0]["hypothesis"] for h in history)  # stopped at the first PASS
    assert "approves the next run" in camp.dir.pause_path.read_text()
    resume(camp.dir.path)
    assert Campaign(camp.dir.path).run() == "DONE"
    assert camp.dir.read_history()[:len(history)] == history


def test_optuna_campaign_adjusts_inside_the_bounds_with_reasons(tmp_path):
    hyp = {"name": "never", "checks": ["fill_rate_pct < 0"], "max_retries": 2}
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(hypotheses=[hyp], adjuster="optuna")))
    assert camp.run() == "DONE"
    history = camp.dir.read_history()
    assert [h["verdict"] for h in history] == ["FAIL"] * 3
    assert camp.dir.optuna_path.is_file()
    for h in history[1:]:
        assert h["changes"] and all("optuna study 'small:never'" in c["reason"] for c in h["changes"].values())
        for p, v in h["values"].items():
            lo, hi = camp.spec.bounds[p]
            assert lo <= v <= hi

"""Staged validation on real data long enough for three forward stages.

The recording: Binance BTCUSDT spot and the BTCUSD_PERP COIN-M perpetual, the 2024-08-08 capture
chained with its 2024-08-09 continuation (one clock): 650.4 s, 1,229,698 events. The arbitrage
is swept over its first 2 minutes; the stages (1 → 2 → 4 minutes, top 3 → 2 → 1) run forward on
the 7 minutes after it. On this data the arbitrage pays its taker fees on every round trip (win
rate 0), so the stage gates are scaled to what it does here — round trips and take-profit share,
a loss cap — and differ stage by stage; the mechanism is what is tested, against separate
replays of each window.
"""
import json
import subprocess
import sys

import pytest

from arbkit.core.errors import ConfigError, DataError
from arbkit.core.json_file import check, read_json
from arbkit.kpi import evaluate
from arbkit.run.replay import replay
from arbkit.sweep import sweep
from arbkit.sweep.staged import (InSampleError, duration_label, load_settings, parse_duration, plan_validation,
                                 validate_candidates)

LAT = {"entry": 1_000_000, "response": 1_000_000}
# 1 BTC spot against the same base exposure on COIN-M (~600 contracts of 100 USD)
BASE = {"asset_a": 0, "asset_b": 1, "order_size": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0, "net_of_fees": 0}
GRID = {"entry_bps": [0.5, 1.0, 2.0, 3.0], "tp_bps": [0.5, 1.0, 2.0]}
SWEEP_S = 120
STAGES = {"name": "scaled", "prefix": "t", "stages": [
    {"duration": "1m", "top": 3, "gate": ["round_trips >= 3", "tp_exit_pct > 0", "total_pnl > -2000"]},
    {"duration": "2m", "top": 2, "gate": ["round_trips >= 10", "tp_exit_pct >= 73", "total_pnl > -6000"]},
    {"duration": "4m", "top": 1, "gate": ["round_trips >= 20", "tp_exit_pct >= 60", "total_pnl > -12000"],
     "replay_gate": ["replay_call_ns_avg < 25000000"], "paper_gate": ["loop_latency_ms_p99 < 25"]},
]}


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "arbkit.apps.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


@pytest.fixture(scope="module")
def rec(spot_coinm):
    span = (spot_coinm.manifest.end_ns - spot_coinm.manifest.start_ns) / 1e9
    assert 650 < span < 651 and spot_coinm.n_events == 1_229_698  # long enough: 2 min sweep + 1 + 2 + 4 min stages
    return spot_coinm


@pytest.fixture(scope="module")
def swept(rec, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "arb"
    t0 = rec.manifest.start_ns
    sweep(rec.path, "arb", GRID, base_params=BASE, latency=LAT, allow_short=True, out_dir=out, end=t0 + SWEEP_S * 10**9, top=5,
          progress=False)
    return out


@pytest.fixture(scope="module")
def validated(swept):
    rep = validate_candidates(swept, settings=STAGES)
    return swept / "validation", rep


def test_forward_stages_with_their_own_gates_and_top_n(rec, swept, validated):
    out, rep = validated
    cands = read_json(swept / "candidates.json", "candidates")["candidates"]
    end_of_sweep = rec.manifest.start_ns + SWEEP_S * 10**9
    # forward: stage 1 right after the sweep's window, each later stage right after the previous one
    t = end_of_sweep
    for st, minutes in zip(rep["stages"], (1, 2, 4)):
        assert (st["window"]["start_ns"], st["window"]["end_ns"]) == (t, t + minutes * 60 * 10**9)
        t = st["window"]["end_ns"]
    assert [len(s["ran"]) for s in rep["stages"]] == [3, 2, 1]  # top 3 -> 2 -> 1
    s1, s2, s3 = (json.loads((out / f"summary_{m}m.json").read_text()) for m in (1, 2, 4))
    assert [c["rank"] for c in s1["candidates"]] == [1, 2, 3]
    assert s1["metadata"]["gate"]["thresholds"] != s2["metadata"]["gate"]["thresholds"]
    # stage 2 takes the best two passers of stage 1 by the strategy's rank keys on stage 1's own results
    passed1 = [c for c in s1["candidates"] if c["verdict"] == "PASS"]
    edges = {c["run_id"]: read_json(out / c["kpi_path"], "run_kpi")["edge"]["edge_realistic"] for c in passed1}
    best2 = sorted(passed1, key=lambda c: -edges[c["run_id"]])[:2]
    assert [c["rank"] for c in s2["candidates"]] == [c["rank"] for c in best2]
    assert [c["advanced"] for c in s1["candidates"]] == [c in best2 for c in s1["candidates"]]
    # a candidate that ran in stage 2 is dropped there by stage 2's gate; the other goes on to stage 3
    dropped = [c for c in s2["candidates"] if c["verdict"] == "FAIL"]
    assert len(dropped) == 1 and "tp_exit_pct" in dropped[0]["reason"] and not dropped[0]["advanced"]
    assert [c["rank"] for c in s3["candidates"]] == [c["rank"] for c in s2["candidates"] if c["verdict"] == "PASS"]
    journey = next(j for j in rep["candidates"] if j["rank"] == dropped[0]["rank"])
    assert journey["stopped"].startswith("stage 2 (2m): ") and len(journey["stages"]) == 2
    # every number is that candidate's own replay of the window
    for summ in (s1, s2, s3):
        w = summ["metadata"]["window"]
        for c in summ["candidates"]:
            single = replay(rec, "arb", c["params"], latency=LAT, allow_short=True, start=w["start_ns"], end=w["end_ns"])
            kpi = read_json(out / c["kpi_path"], "run_kpi")
            assert kpi["fills_hash"] == single.fills_hash
            total = evaluate(single).total
            assert c["kpi_summary"]["total_pnl"] == pytest.approx(single.pnl, rel=1e-12, abs=1e-12)
            assert c["kpi_summary"]["round_trips"] == total["round_trips"]
            assert c["kpi_summary"]["tp_exit_pct"] == pytest.approx(total["exit_reasons"].get("tp", {}).get("pct", 0))
            assert c["status"] == ("ok" if len(single.fills) else "no_trades")
            assert c["run_id"] == f"t-{summ['metadata']['duration_label']}-E{c['params']['entry_bps']:g}_" \
                                  f"TP{c['params']['tp_bps']:g}-{c['run_id'].rsplit('-', 1)[1]}"
    # the stage summary's totals add up its runs
    for summ in (s1, s2, s3):
        st = summ["summary_stats"]
        assert st["total_runs"] == len(summ["candidates"]) == st["successful_runs"] + st["failed_runs"]
        assert st["round_trips"] == sum(c["kpi_summary"]["round_trips"] for c in summ["candidates"])
        assert st["total_pnl"] == pytest.approx(sum(c["kpi_summary"]["total_pnl"] for c in summ["candidates"]))
    # stage 3's replay gate names the engine's time per strategy call, measured in this pass
    k3 = read_json(out / s3["candidates"][0]["kpi_path"], "run_kpi")
    assert "replay_call_ns_avg < 2.5e+07" in s3["metadata"]["gate"]["thresholds"]
    assert k3["ops"]["replay_call_ns_avg"] > 0
    assert rep["verdict"] in ("GO", "NO-GO") and not rep["in_sample"]
    assert cands[0]["rank"] == 1


def test_every_output_file_matches_its_documented_schema(swept, validated):
    out, _ = validated
    check(json.loads((swept / "candidates.json").read_text()), "candidates", "candidates.json")
    summaries = sorted(out.glob("summary_*.json"))
    runs = sorted((out / "runs").glob("*_kpi.json"))
    assert [p.name for p in summaries] == ["summary_1m.json", "summary_2m.json", "summary_4m.json"]
    assert len(runs) == 3 + 2 + 1
    for p in summaries:
        check(json.loads(p.read_text()), "stage_summary", p)
        for c in json.loads(p.read_text())["candidates"]:
            assert (out / c["kpi_path"]).is_file()
    for p in runs:
        check(json.loads(p.read_text()), "run_kpi", p)
    # strict JSON (no NaN) that other tools can read
    for p in [swept / "candidates.json", *summaries, *runs]:
        json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"{p}: {c} is not JSON"))
    # the schemas refuse what their users could not read
    doc = json.loads((swept / "candidates.json").read_text())
    del doc["candidates"][0]["edge_realistic"]
    with pytest.raises(DataError, match="edge_realistic"):
        check(doc, "candidates", "x.json")
    bad = json.loads(summaries[0].read_text())
    bad["candidates"][0]["status"] = "fine"
    with pytest.raises(DataError, match="candidates/0/status"):
        check(bad, "stage_summary", "s.json")


def test_candidates_json_has_the_envelope_and_flat_parameters(rec, swept):
    doc = json.loads((swept / "candidates.json").read_text())
    meta = doc["metadata"]
    assert meta["source"] == f"arbkit sweep {swept}" and meta["strategy"] == "arb"
    assert meta["recording"]["path"] == str(rec.path)
    assert meta["recording"]["parts_sha256"] == [p.sha256 for p in rec.manifest.parts]
    assert meta["data_window"]["start_ns"] == rec.manifest.start_ns
    assert meta["data_window"]["end_ns"] == rec.manifest.start_ns + SWEEP_S * 10**9
    assert [s["name"] for s in meta["scenarios"]] == ["optimistic", "realistic", "conservative"]
    assert meta["code_version"]["arbkit"] and "git_commit" in meta["code_version"]
    assert meta["settings"]["latency"] == LAT
    c = doc["candidates"][0]
    assert c["entry_bps"] in GRID["entry_bps"] and c["tp_bps"] in GRID["tp_bps"] and c["asset_a"] == 0
    res = replay(rec, "arb", {k: c[k] for k in meta["param_names"]}, latency=LAT, allow_short=True, end=meta["data_window"]["end_ns"])
    edge = evaluate(res).edge
    for k in ("optimistic", "realistic", "conservative"):
        assert c[f"edge_{k}"] == pytest.approx(edge[f"edge_{k}"], rel=1e-12)
    assert c["is_structurally_safe"] == edge["is_structurally_safe"] and c["rationale"].startswith("rank 1 by")


def test_in_sample_data_is_refused_or_labelled(rec, swept, tmp_path):
    start = rec.manifest.start_ns + 60 * 10**9  # inside the sweep's two minutes
    with pytest.raises(InSampleError, match="stage 1's data .* overlaps the sweep's data window .* by 60 s"):
        validate_candidates(swept, settings=STAGES, start_ns=start, out_dir=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    (tmp_path / "s.yaml").write_text(json.dumps(STAGES))
    cli = _cli("validate-candidates", swept, "--settings", tmp_path / "s.yaml", "--start", start, "--out",
               tmp_path / "refused")
    assert cli.returncode == 2 and "in-sample" in cli.stderr and not (tmp_path / "refused").exists()
    small = {**STAGES, "stages": STAGES["stages"][:1]}
    rep = validate_candidates(swept, settings=small, start_ns=start, allow_in_sample=True, out_dir=tmp_path / "ins")
    assert rep["in_sample"] and (rep["verdict"] == "NO-GO" or "IN-SAMPLE" in rep["reasons"][0])
    summ = json.loads((tmp_path / "ins" / "summary_1m.json").read_text())
    assert summ["metadata"]["in_sample"] and summ["metadata"]["in_sample_overlap_s"] == 60
    for c in summ["candidates"]:
        assert c["in_sample"] and json.loads((tmp_path / "ins" / c["kpi_path"]).read_text())["in_sample"]
    assert json.loads((tmp_path / "ins" / "validation.json").read_text())["in_sample"]


def test_dry_run_prints_the_plan_and_writes_nothing(swept, tmp_path):
    (tmp_path / "s.yaml").write_text(json.dumps(STAGES))
    out = tmp_path / "dry"
    res = _cli("validate-candidates", swept, "--settings", tmp_path / "s.yaml", "--dry-run", "--json", "--out", out)
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert not out.exists()
    assert [s["label"] for s in plan["stages"]] == ["1m", "2m", "4m"] and plan["mode"] == "forward"
    assert [len(plan["stage1_runs"])] == [3] and all(r["run_id"].startswith("t-1m-E") for r in plan["stage1_runs"])
    assert plan["stages"][1]["window"]["start_ns"] == plan["stages"][0]["window"]["end_ns"]
    text = _cli("validate-candidates", swept, "--settings", tmp_path / "s.yaml", "--dry-run", "--nested", "--out", out)
    assert text.returncode == 0 and "dry run: nothing written" in text.stdout and not out.exists()
    nested = plan_validation(swept, settings=STAGES, nested=True)
    assert len({w[0] for w in nested.windows.values()}) == 1  # nested: one start, growing windows
    assert [b - a for a, b in nested.windows.values()] == [60 * 10**9, 120 * 10**9, 240 * 10**9]


def test_a_candidates_file_made_elsewhere(rec, tmp_path):
    """Only the documented required fields, parameters flat, no param_names: a file another tool wrote."""
    doc = {"metadata": {"source": "my-optimizer 2.1", "created_at": "2024-08-10T00:00:00Z", "strategy": "arb",
                        "scenarios": [{"name": "realistic"}], "cost_profile_source": "my-costs.yaml",
                        "code_version": {"arbkit": "external"},
                        "recording": {"path": "elsewhere", "parts_sha256": []},
                        "data_window": {"start_ns": rec.manifest.start_ns, "end_ns": rec.manifest.start_ns + 60 * 10**9},
                        "settings": {"latency": LAT, "allow_short": True}},
           "candidates": [{**BASE, "entry_bps": 3.0, "tp_bps": 1.0, "edge_optimistic": None, "edge_realistic": 1.0,
                           "edge_conservative": None, "is_structurally_safe": False, "is_recommended": True,
                           "rationale": "by hand", "score": 7},
                          {**BASE, "entry_bps": 99.0, "tp_bps": 1.0, "edge_optimistic": None, "edge_realistic": 0.5,
                           "edge_conservative": None, "is_structurally_safe": False, "is_recommended": False,
                           "rationale": "never trades"}]}
    f = tmp_path / "mine.json"
    f.write_text(json.dumps(doc))
    settings = {"prefix": "ext", "stages": [{"duration_s": 60, "top": 2, "gate": ["fills >= 0"], "timeout_s": 3600}]}
    (tmp_path / "s.yaml").write_text(json.dumps(settings))
    res = _cli("validate-candidates", "--candidates", f, "--recording", rec.path, "--settings", tmp_path / "s.yaml",
               "--out", tmp_path / "v", "--json")
    assert res.returncode == 0, res.stderr
    summ = read_json(tmp_path / "v" / "summary_1m.json", "stage_summary")
    assert [c["status"] for c in summ["candidates"]] == ["ok", "no_trades"]
    assert summ["summary_stats"]["no_trade_runs"] == 1 and summ["summary_stats"]["successful_runs"] == 2
    w = summ["metadata"]["window"]
    assert w["start_ns"] == rec.manifest.start_ns + 60 * 10**9  # right after the file's data window
    single = replay(rec, "arb", {**BASE, "entry_bps": 3.0, "tp_bps": 1.0}, latency=LAT, allow_short=True, start=w["start_ns"],
                    end=w["end_ns"])
    assert read_json(tmp_path / "v" / summ["candidates"][0]["kpi_path"], "run_kpi")["fills_hash"] == single.fills_hash
    # a stage the data does not cover, and one over its time budget: error and timeout, both failed runs
    late = {"prefix": "ext", "min_coverage": 0.5, "stages": [
        {"duration_s": 60, "top": 1, "gate": ["fills >= 0"], "timeout_s": 1e-6},
        {"duration_s": 3600, "top": 1, "gate": ["fills >= 0"]}]}
    rep = validate_candidates(f, recording=rec.path, settings=late, out_dir=tmp_path / "late")
    s1 = read_json(tmp_path / "late" / "summary_1m.json", "stage_summary")
    assert s1["candidates"][0]["status"] == "timeout" and s1["summary_stats"]["failed_runs"] == 1
    assert rep["verdict"] == "NO-GO" and "timeout" in rep["reasons"][0]
    # a broken file: one line naming the field, exit 2
    del doc["candidates"][0]["rationale"]
    f.write_text(json.dumps(doc))
    res = _cli("validate-candidates", "--candidates", f, "--recording", rec.path, "--dry-run")
    assert res.returncode == 2 and "candidates/0" in res.stderr and "rationale" in res.stderr
    assert "Traceback" not in res.stderr


def test_settings_files_are_checked():
    default = load_settings()
    assert [(s.duration_s, s.top) for s in default.stages] == [(600, 3), (1200, 2), (3600, 1)]
    assert [str(t) for t in default.stages[0].gate.thresholds] == [
        "round_trips >= 5", "win_rate_pct > 0", "total_pnl >= 0", "tp_exit_pct > 0"]
    assert [str(t) for t in default.stages[1].gate.thresholds] == [
        "round_trips >= 10", "win_rate_pct >= 10", "total_pnl > 0", "tp_exit_pct >= 5"]
    assert "loop_latency_ms_p99 < 25" in [str(t) for t in default.stages[2].gate_for(paper=True).thresholds]
    assert "loop_latency_ms_p99 < 25" not in [str(t) for t in default.stages[2].gate_for(paper=False).thresholds]
    assert parse_duration("90s", "x") == 90 and parse_duration("1.5h", "x") == 5400 and duration_label(3600) == "1h"
    for bad, msg in (({"stages": []}, "non-empty"), ({"stages": [{"duration": "10x", "top": 1, "gate": []}]},
                                                     "not a duration"),
                     ({"stages": [{"duration": "1m", "top": 0, "gate": ["fills >= 1"]}]}, "top"),
                     ({"stages": [{"duration": "1m", "top": 1}]}, "needs a gate"),
                     ({"stages": [{"duration": "1m", "top": 1, "gate": ["fills >> 1"]}]}, "not '<kpi> <op> <number>'"),
                     ({"stagez": []}, "unknown key")):
        with pytest.raises(ConfigError, match=msg):
            load_settings(bad)
    with pytest.raises(ConfigError, match="known"):
        load_settings("no_such_settings")


def test_cli_go_and_no_go_exit_codes(swept, tmp_path):
    go = {"prefix": "g", "stages": [{"duration": "1m", "top": 1, "gate": ["fills >= 1"]}]}
    nogo = {"prefix": "n", "stages": [{"duration": "1m", "top": 1, "gate": ["total_pnl > 0"]}]}
    for settings, code, verdict in ((go, 0, "GO"), (nogo, 1, "NO-GO")):
        (tmp_path / "s.yaml").write_text(json.dumps(settings))
        res = _cli("validate-candidates", swept, "--settings", tmp_path / "s.yaml", "--out", tmp_path / verdict)
        assert res.returncode == code, res.stderr
        assert f"{verdict}:" in res.stdout and "summary_1m.json" in res.stdout
    with pytest.raises(ConfigError, match="no candidates file"):
        validate_candidates(tmp_path / "nothing", settings=go)

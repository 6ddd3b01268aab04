"""Staged validation live (``validate-candidates --paper``): each stage a short paper run against local replay
servers serving the real Binance spot and COIN-M captures, its candidates side by side on one feed.

The oracle: each candidate's numbers are those of a plain replay of the stage's own recording with its parameters,
and the stage gates (one term per stage that only a live stage has: loop latency) judge exactly those numbers.
"""
import json
import os
import subprocess
import sys

import yaml

from arbkit.core.json_file import check, read_json
from arbkit.kpi import evaluate
from arbkit.run.config import RunConfig
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from helpers.paths import BINANCE_DIR, shared

LAT = {"entry": 1_000_000, "response": 1_000_000}
BASE = {"asset_a": 0, "asset_b": 1, "order_size": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0, "net_of_fees": 0}
# the last one never enters (an entry threshold of 99 bps): stage 1's gate drops it
CANDIDATES = [(0.5, 0.5, 3.0), (1.0, 1.0, 2.0), (99.0, 1.0, 1.0)]
STAGES = {"name": "live", "prefix": "live", "stages": [
    {"duration_s": 4, "top": 3, "gate": ["fills >= 0"], "paper_gate": ["loop_latency_ms_p99 < 1000", "entries >= 1"]},
    {"duration_s": 5, "top": 2, "gate": ["fills >= 0"], "paper_gate": ["loop_latency_ms_p99 < 1000"]},
]}


def _candidates(path):
    doc = {"metadata": {"source": "hand-made", "created_at": "2024-08-10T00:00:00Z", "strategy": "arb",
                        "scenarios": [{"name": "realistic"}], "cost_profile_source": "none",
                        "code_version": {"arbkit": "test"}, "recording": {"path": "elsewhere", "parts_sha256": []},
                        # the sweep's data: 2024-08-08, long before the live feed's receive clock
                        "data_window": {"start_ns": 1_723_075_200 * 10**9, "end_ns": 1_723_075_320 * 10**9},
                        "settings": {"latency": LAT, "allow_short": True}},
           "candidates": [{**BASE, "entry_bps": e, "tp_bps": tp, "edge_optimistic": None, "edge_realistic": edge,
                           "edge_conservative": None, "is_structurally_safe": False, "is_recommended": True,
                           "rationale": "by hand"} for e, tp, edge in CANDIDATES]}
    path.write_text(json.dumps(doc))
    return path


def test_paper_stages_against_local_servers(tmp_path):
    spot = binance_frames(shared(BINANCE_DIR.name, "binance_spot_btcusdt_20240808.gz"))
    coinm = binance_frames(shared(BINANCE_DIR.name, "binance_cm_btcusd_perp_20240808.gz"))
    s1 = ReplayServer(spot[0], snapshot=spot[1], delay_s=0.001, batch=4)
    s2 = ReplayServer(coinm[0], snapshot=coinm[1], delay_s=0.001, batch=4)
    (tmp_path / "stages.yaml").write_text(yaml.safe_dump(STAGES))
    out = tmp_path / "val"
    with s1, s2:
        venues = tmp_path / "venues.yaml"
        venues.write_text(yaml.safe_dump({"venues": [
            {"venue": "binance-spot", "symbols": ["BTCUSDT"], "channels": ["depth", "trades", "bbo"],
             "endpoint": s1.url, "rest": s1.http},
            {"venue": "binance-coinm", "symbols": ["BTCUSD_PERP"], "channels": ["depth", "trades", "bbo"],
             "endpoint": s2.url, "rest": s2.http}]}))
        res = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "validate-candidates", "--candidates",
                              _candidates(tmp_path / "c.json"), "--paper", "--venues", venues, "--settings",
                              tmp_path / "stages.yaml", "--out", out, "--flush-s", "0.2", "--json"],
                             capture_output=True, text=True, env={**os.environ, "CI": "true"}, timeout=600)
        served = (len(s1.sent), len(s2.sent), s1.connections, s2.connections)
    assert res.returncode in (0, 1), res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["mode"] == "paper" and not report["in_sample"]
    assert served[2] >= 2 and served[3] >= 2  # one connection per stage: the stages follow each other on the feed
    s_1, s_2 = (read_json(out / f"summary_{d}s.json", "stage_summary") for d in (4, 5))
    # every candidate of a stage is one engine on the stage's paper run; its numbers are a replay of that recording
    for summ, d in ((s_1, 4), (s_2, 5)):
        run_dir = out / f"paper_{d}s"
        assert summ["metadata"]["mode"] == "paper" and summ["metadata"]["data"]["paper_run"] == str(run_dir)
        assert "loop_latency_ms_p99 < 1000" in summ["metadata"]["gate"]["thresholds"]
        rec = run_dir / "recording"
        base = RunConfig.load(run_dir / "run.yaml")
        for c in summ["candidates"]:
            kpi = read_json(out / c["kpi_path"], "run_kpi")
            assert c["status"] in ("ok", "no_trades"), c
            # clock_end_ns: the stage's engine ran its timers (responses in flight, exits) on to where the wall
            # clock stopped, after the last recorded event; its replay must too (run.yaml carries it)
            cfg = RunConfig(strategy="arb", params=dict(c["params"]), latency=base.latency, fill=base.fill,
                            guards=base.guards, seed=base.seed, allow_short=base.allow_short,
                            mark=base.mark, clock_end_ns=base.clock_end_ns)
            single = cfg.replay(rec)
            assert kpi["fills_hash"] == single.fills_hash, c["run_id"]
            assert c["kpi_summary"]["fills"] == len(single.fills)
            ev = evaluate(single)
            assert kpi["ops"]["entries"] == single.counters["entries"] == ev.ops["entries"]
            assert kpi["ops"]["loop_latency_samples"] > 0 and kpi["ops"]["loop_latency_ms_p99"] > 0
            assert c["run_id"].startswith(f"live-{d}s-E{c['params']['entry_bps']:g}_TP{c['params']['tp_bps']:g}-")
            assert c["status"] == ("ok" if len(single.fills) else "no_trades")
    # stage 1: the 99 bps candidate never enters and fails the paper gate's entries term; it goes no further
    never = next(c for c in s_1["candidates"] if c["params"]["entry_bps"] == 99.0)
    assert never["verdict"] == "FAIL" and "entries" in never["reason"] and not never["advanced"]
    # stage 2 takes stage 1's passers, best first by the arbitrage's rank keys on stage 1's own live results
    passed = [c for c in s_1["candidates"] if c["verdict"] == "PASS"]
    edge = {c["rank"]: read_json(out / c["kpi_path"], "run_kpi")["edge"]["edge_realistic"] for c in passed}
    assert [c["rank"] for c in s_2["candidates"]] == sorted(edge, key=lambda r: -edge[r])
    assert [c["rank"] for c in s_1["candidates"] if c["advanced"]] == sorted(edge)
    # live stages follow each other: stage 2's data starts after stage 1's ends
    assert s_2["metadata"]["window"]["start_ns"] > s_1["metadata"]["window"]["end_ns"]
    for summ in (s_1, s_2):
        check(summ, "stage_summary", "summary")
        st = summ["summary_stats"]
        assert st["total_runs"] == len(summ["candidates"]) == st["successful_runs"] + st["failed_runs"]

"""A live campaign: two short paper runs against the local replay server, each replaying to its fills_hash."""
import json
from pathlib import Path

import numpy as np
import pytest

import arbkit
from arbkit.campaign.orchestrator import init_campaign
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from arbkit.run.config import RunConfig
from helpers.paths import ROOT

from campaign.campaigns import write_spec

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"


@pytest.mark.slow
def test_live_campaign_of_two_paper_runs(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    with ReplayServer(frames * 3, snapshot=snap, delay_s=0.001, batch=2) as srv:
        spec = {"name": "live", "source": {"kind": "live", "flush_s": 0.2, "supervise": 1, "ops_sample_s": 0.5,
                                           "venues": [{"venue": "binance-usdm", "symbols": "BTCUSDT",
                                                       "channels": ["depth", "trades", "bbo"],
                                                       "endpoint": srv.url, "rest": srv.http}]},
                "base": {"strategy": "touch_mm", "strategy_options": {"interval_ms": 50.0},
                         "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
                         "latency": {"entry": 2000000, "response": 1000000}, "seed": 11},
                "durations_s": [3, 4],
                "hypotheses": [{"name": "quotes", "checks": ["quote_count > 0", "quote_latency_ms_p99 < 60000"]},
                               {"name": "fills", "checks": ["fills >= 1", "rss_slope_mb_per_h < 1e7"],
                                "inconclusive_if": ["duration_s < 1"]}],
                "budget": {"runs": 4}}
        camp = init_campaign(tmp_path / "c", write_spec(tmp_path, spec))
        assert camp.run() == "DONE"
    state = camp.state()
    history = camp.dir.read_history()
    assert state["outcome"] == "ALL_PASSED", (state["reason"], history)
    assert [h["run_id"] for h in history] == ["live-r001", "live-r002"]
    for h in history:
        assert h["verdict"] == "PASS" and h["fills"] > 0
        res = RunConfig.load(h["replay_config"]).replay(arbkit.load(h["recording"]))
        assert res.fills_hash == h["fills_hash"]
        assert RunConfig.load(camp.dir.path / h["config"]).run_id == h["run_id"]
        # the wall-clock KPIs, from the paper run's ops.jsonl: the RSS slope against numpy's least-squares line
        ops = [json.loads(line) for line in (Path(h["recording"]).parent / "ops.jsonl").read_text().splitlines()]
        mem = [(r["ts_ns"], r["rss_mb"]) for r in ops if r["kind"] in ("sample", "end")]
        assert len(mem) >= 2 and h["rss_samples"] == len(mem)
        hours = (np.array([t for t, _ in mem], dtype=float) - mem[0][0]) / 3.6e12
        assert h["rss_slope_mb_per_h"] == pytest.approx(np.polyfit(hours, [m for _, m in mem], 1)[0], rel=1e-6, abs=1e-6)
        assert h["quote_latency_samples"] > 0 and 0 < h["quote_latency_ms_p50"] <= h["quote_latency_ms_p99"]


@pytest.mark.slow
def test_live_campaign_killed_during_a_paper_run_uses_that_run(tmp_path):
    """SIGKILL of `arbkit campaign run` while its paper run trades: the rerun waits for the paper run (which goes
    on) and takes its result — one run, not two."""
    import os
    import signal
    import subprocess
    import sys
    import time

    frames, snap = binance_frames(BINANCE_USDM)
    with ReplayServer(frames * 3, snapshot=snap, delay_s=0.001, batch=2) as srv:
        spec = {"name": "livek", "source": {"kind": "live", "flush_s": 0.2, "supervise": 0,
                                            "venues": [{"venue": "binance-usdm", "symbols": "BTCUSDT",
                                                        "channels": ["depth", "trades", "bbo"],
                                                        "endpoint": srv.url, "rest": srv.http}]},
                "base": {"strategy": "touch_mm", "strategy_options": {"interval_ms": 50.0},
                         "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
                         "seed": 11},
                "durations_s": [5], "hypotheses": [{"name": "quotes", "checks": ["quote_count > 0"]}]}
        camp = init_campaign(tmp_path / "c", write_spec(tmp_path, spec))
        cmd = [sys.executable, "-m", "arbkit.apps.cli", "campaign", "run", str(camp.dir.path), "--quiet"]
        first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        live = camp.dir.runs_dir / "livek-r001" / "paper" / "live_state.json"
        deadline = time.time() + 120
        while not live.is_file() and time.time() < deadline:
            time.sleep(0.1)
        assert live.is_file()
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert camp.state()["state"] == "RUNNING"
        again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    history = camp.dir.read_history()
    assert [h["run_id"] for h in history] == ["livek-r001"] and history[0]["verdict"] == "PASS"
    rec = arbkit.load(history[0]["recording"])
    assert rec.manifest.gaps == 0  # the paper run was never restarted
    assert RunConfig.load(history[0]["replay_config"]).replay(rec).fills_hash == history[0]["fills_hash"]

"""Long-run acceptance: paper runs on a recording's clock (hours in seconds, checked against a replay of the same
rows) and a short live paper run against local replay servers, each judged by ``arbkit acceptance``.

The recording is real: Binance BTCUSDT spot and the BTCUSD_PERP COIN-M perpetual, 650.4 s chained over
2024-08-08/09 (``spot_coinm`` in conftest.py), played N times in a row with its timestamps moved on by one
period (span + 1 s) each time and a GAP for every book at each seam (arbkit/run/looped.py).
"""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from arbkit.conf import conf_path
from arbkit.engine.replayer import Replayer
from arbkit.kpi.evaluation import kpis_at
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from arbkit.report.acceptance import acceptance_report
from arbkit.run.config import RunConfig
from arbkit.run.looped import looped_chunks
from arbkit.run.result import RunResult
from arbkit.strategies import get_strategy
from helpers.paths import BINANCE_DIR, shared

RUN = {"strategy": "arb",
       "params": {"asset_a": 0, "asset_b": 1, "entry_bps": 3.0, "tp_bps": 1.0, "stop_loss_bps": 3.0,
                  "time_limit_s": 30.0, "order_size": 1.0, "net_of_fees": 0},
       "latency": {"entry": 1_000_000, "response": 1_000_000},
       "guards": {"budget": 200_000.0, "max_gap_ms": 30_000.0, "stuck_window_ms": 3_600_000.0}, "seed": 3,
       "allow_short": True}  # the spot leg is sold when spot is rich (a margin account)
ENV = {**os.environ, "CI": "true"}


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "arbkit.apps.cli", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=1800, **kw)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _oracle(rec, loops, clock_end):
    """A plain replay of the same looped rows with the run's config, its clock run on to the run's end."""
    cfg = RunConfig.from_dict(RUN)
    strat = get_strategy("arb")
    rp = Replayer(rec.instruments, strat, cfg.params, fill=cfg.fill, latency=cfg.latency, seed=cfg.seed,
                  guards=cfg.guards, allow_short=cfg.allow_short)
    for chunk in looped_chunks(rec, loops):
        rp.feed(chunk)
    return RunResult.of(rp.finish(clock_end=clock_end), strat)


def _same(a, b, where):
    """KPI blocks equal, NaN equal to NaN."""
    assert set(a) == set(b), where
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, dict):
            _same(x, y, f"{where}.{k}")
        elif isinstance(x, float) or isinstance(y, float):
            assert (x is None and y is None) or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) or \
                x == pytest.approx(y, rel=1e-12, abs=1e-9), f"{where}.{k}: {x} != {y}"
        else:
            assert x == y, f"{where}.{k}: {x} != {y}"


def _criteria(tmp_path, hours, checkpoints):
    """paper_12h with a shorter span and other checkpoints (a test's run is shorter than twelve hours)."""
    doc = yaml.safe_load(conf_path("acceptance", "paper_12h.yaml").read_text())
    doc["name"] = f"paper_{hours}h"
    doc["thresholds"] = [f"run_hours >= {hours}" if t.startswith("run_hours") else t for t in doc["thresholds"]]
    doc["checkpoints"] = checkpoints
    p = tmp_path / f"paper_{hours}h.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_an_hour_on_the_recordings_clock_with_a_crash_and_a_restart(spot_coinm, tmp_path):
    """Six loops (65 min of recording) through a supervised paper run, paced at 300x so the test can kill it once."""
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    out = tmp_path / "hour"
    sup = subprocess.Popen([sys.executable, "-m", "arbkit.apps.cli", "paper", "--config", tmp_path / "run.yaml",
                            "--from-recording", spot_coinm.path, "--loops", "6", "--flush-s", "2", "--speed", "300",
                            "--checkpoint-s", "0.5", "-o", out, "--quiet", "--supervise", "2"], env=ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (out / "checkpoint.npz").is_file() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    first = int((out / "paper.pid").read_text())
    os.kill(first, signal.SIGKILL)
    stdout, stderr = sup.communicate(timeout=900)
    assert sup.returncode == 0, stderr[-3000:]
    assert "restart 1/2" in stderr
    result = json.loads((out / "paper_result.json").read_text())
    assert result["clock"] == "recording" and result["source"]["loops"] == 6
    # the run's fills are those of a plain replay of the same rows, across the crash
    want = _oracle(spot_coinm, 6, result["clock_end_ns"])
    assert result["fills_hash"] == want.fills_hash and len(want.fills) > 1000
    assert len((out / "trades.jsonl").read_text().splitlines()) == len(want.fills)
    # checkpoints: each once, at the recording's times, equal to the replay's KPIs at that time
    cps = _jsonl(out / "checkpoints.jsonl")
    assert [c["label"] for c in cps] == ["M5", "M10", "M30", "H1"]
    start = want.span_ns[0]
    for c in cps:
        assert c["clock_ns"] == start + c["elapsed_s"] * 10**9
        _same(c["kpis"], json.loads(json.dumps(kpis_at(want, c["clock_ns"]))), c["label"])
    # two process segments, the first killed
    ops = _jsonl(out / "ops.jsonl")
    assert [r["segment"] for r in ops if r["kind"] == "start"] == [0, 1]
    assert [r["status"] for r in ops if r["kind"] == "end"] == ["finished"]
    assert [r["exit_code"] for r in _jsonl(out / "supervisor.jsonl")] == [-signal.SIGKILL, 0]
    # the acceptance report says so: FAIL on the abnormal exit, with the hour's checkpoints in its table
    crit = _criteria(tmp_path, 1, ["M5", "M10", "M30", "M60", "H3"])
    res = _cli("acceptance", out, "--criteria", crit, "--json")
    assert res.returncode == 1, res.stderr
    verdict = json.loads(res.stdout)
    assert verdict["verdict"] == "FAIL" and verdict["reason"] == "abnormal_exits = 1 fails == 0"
    k = verdict["kpis"]
    assert k["restarts"] == 1 and k["segments"] == 2 and k["abnormal_exits"] == 1 and k["finished"] == 1
    assert k["run_hours"] == pytest.approx((result["clock_end_ns"] - start) / 3.6e12) and k["run_hours"] > 1
    assert k["entries"] == want.counters["entries"] > 0 and k["entry_attempts"] == want.counters["entry_attempts"]
    assert k["loop_latency_ms_p99"] > 0 and k["quote_latency_ms_p99"] is None  # no quote latency on this clock
    text = open(verdict["report"]).read()
    assert "| M60 |" in text and "| H3 | not reached |" in text and "**Overall: FAIL**" in text
    assert "| abnormal exits | 1 |" in text and "| restarts | 1 |" in text
    assert "accelerated" in text and "played 6 time(s)" in text


@pytest.mark.slow
def test_twelve_hours_on_the_recordings_clock_pass_the_12h_criteria(spot_coinm, tmp_path):
    """67 loops: 12.1 h of recording clock, every checkpoint M5 … H12 equal to the replay's, judged by paper_12h."""
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    out = tmp_path / "twelve"
    t0 = time.monotonic()
    # a resume point every 2 min of wall time: the engine state (every fill so far) grows to ~40 MB by H5
    res = _cli("paper", "--config", tmp_path / "run.yaml", "--from-recording", spot_coinm.path, "--loops", "67",
               "--flush-s", "5", "--checkpoint-s", "120", "-o", out, "--quiet")
    wall = time.monotonic() - t0
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads((out / "paper_result.json").read_text())
    want = _oracle(spot_coinm, 67, result["clock_end_ns"])
    assert result["fills_hash"] == want.fills_hash
    cps = {c["label"]: c for c in _jsonl(out / "checkpoints.jsonl")}
    assert {"M5", "M10", "M30", *(f"H{h}" for h in range(1, 13))} <= set(cps)
    for label in ("M5", "H1", "H3", "H6", "H9", "H12"):
        _same(cps[label]["kpis"], json.loads(json.dumps(kpis_at(want, cps[label]["clock_ns"]))), label)
    path, verdict = acceptance_report(out, "paper_12h")
    assert verdict["verdict"] == "PASS", verdict["reason"]
    assert verdict["kpis"]["run_hours"] >= 12 and verdict["kpis"]["wall_s_total"] < wall
    text = path.read_text()
    for label in ("M5", "M10", "M30", "M60", "H3", "H6", "H9", "H12"):
        assert f"| {label} | 20" in text  # a time in the engine-time column: reached
    assert "**Overall: PASS**" in text


def _servers(tmp_path):
    spot = binance_frames(shared(BINANCE_DIR.name, "binance_spot_btcusdt_20240808.gz"))
    coinm = binance_frames(shared(BINANCE_DIR.name, "binance_cm_btcusd_perp_20240808.gz"))
    return ReplayServer(spot[0], snapshot=spot[1], delay_s=0.002, batch=4), \
        ReplayServer(coinm[0], snapshot=coinm[1], delay_s=0.002, batch=4)


def _venues(tmp_path, s1, s2):
    p = tmp_path / "venues.yaml"
    p.write_text(yaml.safe_dump({"venues": [
        {"venue": "binance-spot", "symbols": ["BTCUSDT"], "channels": ["depth", "trades", "bbo"], "endpoint": s1.url,
         "rest": s1.http},
        {"venue": "binance-coinm", "symbols": ["BTCUSD_PERP"], "channels": ["depth", "trades", "bbo"],
         "endpoint": s2.url, "rest": s2.http}]}))
    return p


def test_a_short_live_paper_run_against_local_servers_and_its_acceptance_report(tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    out = tmp_path / "live"
    s1, s2 = _servers(tmp_path)
    with s1, s2:
        res = _cli("paper", "--config", tmp_path / "run.yaml", "--venues", _venues(tmp_path, s1, s2), "-o", out,
                   "--duration", "8", "--flush-s", "0.2", "--quiet")
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads((out / "paper_result.json").read_text())
    assert result["clock"] == "live" and [i["key"] for i in result["instruments"]] == [
        "binance:BTCUSDT", "binance-coinm:BTCUSD_PERP"]
    # the run's own recording replays to its fills (the paper runner's promise), ops figures included
    replayed = RunConfig.load(out / "run.yaml").replay(out / "recording")
    assert replayed.fills_hash == result["fills_hash"]
    assert result["ops"]["entry_attempts"] == replayed.counters["entry_attempts"]
    crit = tmp_path / "smoke.yaml"
    crit.write_text(yaml.safe_dump({"name": "paper_smoke", "description": "a few seconds against local servers",
                                    "thresholds": ["finished == 1", "run_hours > 0", "log_errors == 0",
                                                   "abnormal_exits == 0", "loop_latency_ms_p99 < 1000"],
                                    "checkpoints": ["M5", "M10"]}))
    path, verdict = acceptance_report(out, crit)
    k = verdict["kpis"]
    assert verdict["verdict"] == "PASS", verdict["reason"]
    assert k["segments"] == 1 and k["abnormal_exits"] == 0 and k["loop_latency_samples"] > 0
    if k["entries"]:
        assert k["quote_latency_samples"] > 0 and k["quote_latency_ms_p50"] > 0  # live clock: measured
    text = path.read_text()
    assert "live (the recorder's receive clock)" in text and "| M5 | not reached |" in text
    assert "## Checkpoints" in text and "## Equity and drawdown" in text and "| budget |" in text


def test_acceptance_refuses_what_is_not_a_paper_run(tmp_path):
    res = _cli("acceptance", tmp_path)
    assert res.returncode == 2 and "not a paper run directory" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    res = _cli("acceptance", tmp_path, "--criteria", "no_such")
    assert res.returncode == 2 and "known: ['paper_12h']" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"thresholds": ["entries >= 1"], "checkpoints": ["X5"]}))
    res = _cli("acceptance", tmp_path, "--criteria", bad)
    assert res.returncode == 2 and "X5" in res.stderr
    # a run that never finished: FAIL, naming it
    (tmp_path / "ops.jsonl").write_text(json.dumps({"kind": "start", "segment": 0, "clock": "live"}) + "\n")
    path, verdict = acceptance_report(tmp_path, "paper_12h")
    assert verdict["verdict"] == "FAIL" and "finished = 0 fails == 1" in verdict["reason"]
    assert "abnormal_exits = 1 fails == 0" in verdict["reason"]

"""Paper trading on a local replay server; the run's own recording replays to the same fills."""
import json
import os
import subprocess
import sys

import pytest
import yaml

import arbkit
from arbkit.run.replay import replay
from arbkit.run.config import RunConfig
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from helpers.paths import ROOT

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"

RUN = {"strategy": "touch_mm", "strategy_options": {"interval_ms": 50.0},
       "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
       "latency": {"entry": 2_000_000, "response": 1_000_000}, "fill": {"queue": "power"}, "seed": 11}


def test_paper_run_then_replay_of_its_recording_gives_the_same_fills(tmp_path):
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(RUN))
    frames, snap = binance_frames(BINANCE_USDM)
    out = tmp_path / "paper"
    with ReplayServer(frames, snapshot=snap, delay_s=0.001, batch=2) as srv:
        proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "paper", "--config", str(cfg_path), "--venue",
                               "binance-usdm", "--symbols", "BTCUSDT", "--endpoint", srv.url, "--rest", srv.http,
                               "-o", str(out), "--duration", "6", "--flush-s", "0.2", "--quiet"],
                              env={**os.environ, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    live = json.loads(proc.stdout.strip().splitlines()[-1])
    assert live["fills"] > 0 and not live["errors"]
    state = json.loads((out / "live_state.json").read_text())
    assert state["status"] == "finished" and state["feed"]["messages"] > 1000
    assert state["instruments"][0]["instrument"] == "binance-usdm:BTCUSDT" and state["fills"] == live["fills"]
    trades = [json.loads(line) for line in (out / "trades.jsonl").read_text().splitlines()]
    assert len(trades) == live["fills"] and all(t["strategy"] == "touch_mm" for t in trades)
    # the replay of the paper run's recording, with its config and seed
    rec = arbkit.load(out / "recording")
    res = RunConfig.load(out / "run.yaml").replay(rec)
    assert res.fills_hash == live["fills_hash"]
    assert json.loads((out / "paper_result.json").read_text())["fills_hash"] == live["fills_hash"]
    # and through the CLI
    cli = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "replay", str(out / "recording"), "--config",
                          str(out / "run.yaml"), "--json"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0 and json.loads(cli.stdout)["fills_hash"] == live["fills_hash"]
    assert res.fills_hash == replay(rec, *_strategy_and_params(), **_kw()).fills_hash


#: a timer-driven run: quotes every 50 ms whatever the feed does, and a data-gap kill switch of 0.8 s
RUN_TIMERS = {**RUN, "guards": {"max_gap_ms": 800.0}, "equity_interval_ms": 100.0}


def test_timer_driven_paper_run_replays_to_the_same_fills_and_kill_time(tmp_path):
    """The feed goes silent for 2 s mid-run and at the end: the wall clock drives the timers, the kill switch trips
    0.8 s into the first silence (live, during it), and the replay of the recording with the run's clock end gives
    the same fills, trip time and counters."""
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(RUN_TIMERS))
    frames, snap = binance_frames(BINANCE_USDM)
    out = tmp_path / "paper"
    with ReplayServer(frames, snapshot=snap, delay_s=0.001, batch=2, silent_at=[2500], silence_s=2.0) as srv:
        proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "paper", "--config", str(cfg_path), "--venue",
                               "binance-usdm", "--symbols", "BTCUSDT", "--endpoint", srv.url, "--rest", srv.http,
                               "-o", str(out), "--duration", "7", "--flush-s", "0.2", "--quiet"],
                              env={**os.environ, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    live = json.loads(proc.stdout.strip().splitlines()[-1])
    result = json.loads((out / "paper_result.json").read_text())
    state = json.loads((out / "live_state.json").read_text())
    rec = arbkit.load(out / "recording")
    ts = rec.to_numpy().ts_local
    # the switch tripped live inside the silence: 0.8 s after the last event before it
    kill = result["guards"]["kill_switch"]
    assert kill["tripped"] and kill["reason"] == "data_gap" and state["kill_switch"]
    before = int(ts[ts < kill["ts"]].max())
    assert kill["ts"] == before + 800_000_000 and not ((ts > before) & (ts <= kill["ts"])).any()
    assert result["clock_end_ns"] > int(ts[-1])  # the clock ran on after the last event
    cfg = RunConfig.load(out / "run.yaml")
    assert cfg.clock_end_ns == result["clock_end_ns"]
    res = cfg.replay(rec)
    assert res.fills_hash == live["fills_hash"] == result["fills_hash"] and len(res.fills) > 0
    assert res.guards["kill_switch"] == kill and res.counters == result["counters"]
    assert res.counters["timer_calls"] > 0
    # the live figures have the report's definitions
    from arbkit.kpi import compute_kpis
    tot = compute_kpis(res)["total"]
    assert state["max_drawdown"] == pytest.approx(tot["max_drawdown"], abs=1e-9)
    assert state["fill_rate_pct"] == pytest.approx(tot["fill_rate_pct"]) and state["fill_rate_pct"] <= 100.0
    assert state["drawdown"] >= 0.0


def _strategy_and_params():
    from arbkit.strategies import get_strategy
    return get_strategy(RUN["strategy"], **RUN["strategy_options"]), RUN["params"]


def _kw():
    return {"latency": RUN["latency"], "fill": RUN["fill"], "seed": RUN["seed"]}


def test_supervisor_restarts_a_killed_run_which_resumes_from_its_checkpoint(tmp_path):
    import signal
    import time

    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(RUN))
    frames, snap = binance_frames(BINANCE_USDM)
    out = tmp_path / "sup"
    with ReplayServer(frames * 2, snapshot=snap, delay_s=0.002, batch=1) as srv:
        sup = subprocess.Popen([sys.executable, "-m", "arbkit.apps.cli", "paper", "--config", str(cfg_path), "--venue",
                                "binance-usdm", "--symbols", "BTCUSDT", "--endpoint", srv.url, "--rest", srv.http,
                                "-o", str(out), "--duration", "20", "--flush-s", "0.2", "--checkpoint-s", "0.5",
                                "--quiet", "--supervise", "2"], env={**os.environ, "CI": "true"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not (out / "checkpoint.npz").is_file() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a few batches after the checkpoint, then the crash
        first = int((out / "paper.pid").read_text())
        os.kill(first, signal.SIGKILL)
        stdout, stderr = sup.communicate(timeout=300)
    assert sup.returncode == 0, stderr[-2000:]
    assert "restart 1/2" in stderr
    assert int((out / "paper.pid").read_text()) != first
    result = json.loads((out / "paper_result.json").read_text())
    rec = arbkit.load(out / "recording")
    assert rec.manifest.complete and rec.manifest.gaps >= 1  # the downtime is a GAP
    res = RunConfig.load(out / "run.yaml").replay(rec)
    assert res.fills_hash == result["fills_hash"] and len(res.fills) > 0
    trades = (out / "trades.jsonl").read_text().splitlines()
    assert len(trades) == len(res.fills)  # no fill written twice or lost across the restart

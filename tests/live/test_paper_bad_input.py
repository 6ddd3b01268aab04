"""Paper trading refuses parameters the live instruments do not allow, in one line, keeping what it recorded."""
import json

import yaml

import arbkit
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from helpers.bad_input import one_line_error, run_cli, tamper_part
from helpers.paths import ROOT

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"
RUN = {"strategy": "touch_mm", "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
       "latency": {"entry": 2_000_000, "response": 1_000_000}, "seed": 3}


def _paper(tmp_path, srv, out, params, *extra):
    cfg = tmp_path / f"run_{out.name}.yaml"
    cfg.write_text(yaml.safe_dump({**RUN, "params": {**RUN["params"], **params}}))
    return run_cli("paper", "--config", str(cfg), "--venue", "binance-usdm", "--symbols", "BTCUSDT", "--endpoint",
                   srv.url, "--rest", srv.http, "-o", str(out), "--flush-s", "0.2", "--quiet", *extra)


def test_paper_refuses_bad_parameters_and_keeps_its_recording(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    with ReplayServer(frames, snapshot=snap, delay_s=0.001, batch=2) as srv:
        # a negative size is refused before anything connects
        proc = _paper(tmp_path, srv, tmp_path / "neg", {"order_size": -0.01}, "--duration", "5")
        one_line_error(proc, "arbkit paper: error: strategy touch_mm: parameter order_size = -0.01")
        assert not (tmp_path / "neg").exists()
        # an index the venue's one instrument does not have: refused at the first batch, the recording kept
        proc = _paper(tmp_path, srv, tmp_path / "idx", {"asset": 3}, "--duration", "5")
        one_line_error(proc, "arbkit paper: error: strategy touch_mm: parameter asset = 3",
                       "an instrument index 0..0 (0 binance-usdm:BTCUSDT)")
    rec = arbkit.load(tmp_path / "idx" / "recording")
    assert rec.n_events > 0
    state = json.loads((tmp_path / "idx" / "live_state.json").read_text())
    assert state["status"] == "failed" and "parameter asset = 3" in state["errors"][0]


def test_paper_resume_with_verify_checks_the_recording_first(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    out = tmp_path / "run"
    with ReplayServer(frames, snapshot=snap, delay_s=0.001, batch=2) as srv:
        first = _paper(tmp_path, srv, out, {}, "--duration", "4", "--checkpoint-s", "0.5")
        assert first.returncode == 0, first.stderr[-2000:]
        manifest = json.loads((out / "recording" / "manifest.json").read_text())
        part = tamper_part(out / "recording", len(manifest["parts"]) - 1, 0, qty=123.0, rehash=False)
        proc = _paper(tmp_path, srv, out, {}, "--duration", "2", "--resume", "--verify")
    one_line_error(proc, f"arbkit paper: error: {part}, field 'sha256': content hash", "differs from manifest.json's")

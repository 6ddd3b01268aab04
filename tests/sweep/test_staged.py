"""Staged validation: a sweep on the first two minutes, candidates replayed on the minutes after."""
import json
import subprocess
import sys

import pytest

from arbkit.run.replay import replay
from arbkit.core.errors import ConfigError
from arbkit.strategies import get_strategy
from arbkit.sweep import sweep
from arbkit.sweep.staged import validate_candidates
from helpers.paths import BUNDLED

BASE = {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05}
LAT = {"entry": 1_000_000, "response": 1_000_000}


@pytest.fixture(scope="module")
def swept(tmp_path_factory, bundled):
    out = tmp_path_factory.mktemp("val") / "sweep"
    t0 = bundled.manifest.start_ns
    sweep(BUNDLED, "mm", {"half_spread_bps": [0.3, 1.0, 3.0]}, out_dir=out, base_params=BASE, latency=LAT,
          start=t0, end=t0 + 120 * 10**9, gate="market_maker")
    return out, t0 + 120 * 10**9


def test_go_when_a_candidate_passes_every_stage(swept, tmp_path, bundled):
    out, t_end = swept
    gate = tmp_path / "trades.yaml"
    gate.write_text("name: trades\nthresholds:\n  - fills >= 1\n")
    rep = validate_candidates(out, top=3, stages_s=[60, 120, 200], gate=str(gate))
    assert rep["verdict"] == "GO" and rep["go_candidates"]
    assert [s["start_ns"] for s in rep["stages"]] == [t_end] * 3
    assert [s["end_ns"] - s["start_ns"] for s in rep["stages"]] == [60 * 10**9, 120 * 10**9, 200 * 10**9]
    # each stage's numbers are that candidate's own replay of the window
    cand = next(c for c in rep["candidates"] if c["param_id"] == rep["go_candidates"][0])
    assert [s["verdict"] for s in cand["stages"]] == ["PASS"] * 3
    st = rep["stages"][1]
    single = replay(bundled, get_strategy("mm"), cand["params"], latency=LAT, start=st["start_ns"], end=st["end_ns"])
    assert cand["stages"][1]["fills_hash"] == single.fills_hash
    assert cand["stages"][1]["total_pnl"] == pytest.approx(single.pnl)
    assert json.loads((out / "validation.json").read_text())["verdict"] == "GO"


def test_no_go_names_the_stage_and_the_reason(swept):
    out, _ = swept
    rep = validate_candidates(out, top=2, stages_s=[60, 120])  # the sweep's market_maker gate: loses money here
    assert rep["verdict"] == "NO-GO" and not rep["go_candidates"]
    assert all("stage 1 (60 s)" in r and "fails" in r for r in rep["reasons"])
    short = validate_candidates(out, top=1, stages_s=[60, 600], gate="market_maker")
    assert short["verdict"] == "NO-GO"
    late = validate_candidates(out, top=1, stages_s=[600], gate={"name": "any", "thresholds": ["fills >= 0"]})
    assert "covers" in late["reasons"][0] and late["candidates"][0]["stages"] == []


def test_cli_exit_codes_and_bad_settings(swept, tmp_path):
    out, _ = swept
    gate = tmp_path / "g.yaml"
    gate.write_text("name: g\nthresholds:\n  - fills >= 1\n")
    go = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "validate-candidates", str(out), "--stages", "60,120",
                         "--gate", str(gate), "--top", "2"], capture_output=True, text=True)
    assert go.returncode == 0 and "GO" in go.stdout
    nogo = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "validate-candidates", str(out), "--stages", "60",
                           "--json"], capture_output=True, text=True)
    assert nogo.returncode == 1 and json.loads(nogo.stdout)["verdict"] == "NO-GO"
    with pytest.raises(ConfigError, match="must grow"):
        validate_candidates(out, stages_s=[120, 60])
    with pytest.raises(ConfigError, match="not a finished sweep"):
        validate_candidates(tmp_path)

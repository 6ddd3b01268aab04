"""A non-editable install works outside the repository: the packaged defaults (gates, cost profiles, validation
stages, hydra's config) ship with the package.

The package is built from a copy of its sources and installed (no dependencies) into a
fresh virtualenv that sees this environment's dependencies but not the repository; the
commands then run from an empty directory.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers.paths import BUNDLED, ROOT

ARB = ["--strategy", "arb", "--set", "asset_a=0", "--set", "asset_b=1", "--set", "entry_bps=-4.5", "--set", "tp_bps=1",
       "--set", "stop_loss_bps=3", "--set", "time_limit_s=30", "--set", "net_of_fees=0", "--gate", "default"]


def _run(cmd, cwd, env, timeout=900):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, its bin dir, an empty working directory, the environment to run in)."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.pyc")
    for name in ("arbkit", "hydra_plugins"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet",
                          str(src)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    # the dependencies of this environment, as a plain path (its .pth files, e.g. an editable arbkit, stay inactive)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env.update({"CI": "true", "HYDRA_FULL_ERROR": "1", "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"})
    where = _run([str(py), "-c", "import arbkit, arbkit.conf; print(arbkit.__file__); print(arbkit.conf.conf_path())"],
                 work, env)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(site), f"{line} is not the installed copy under {site}"
    return py, venv / "bin", work, env


def test_replay_with_a_gate_outside_the_repository(installed):
    py, bin_dir, work, env = installed
    proc = _run([str(bin_dir / "arbkit"), "replay", str(BUNDLED), *ARB, "--json"], work, env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: the gate said FAIL
    out = json.loads(proc.stdout)
    assert out["gate"]["gate"] == "default" and out["gate"]["verdict"] in ("PASS", "FAIL")
    assert proc.returncode == (0 if out["gate"]["passed"] else 1)
    assert set(out["edge"]["profiles"]) == {"optimistic", "realistic", "conservative"}  # the cost profiles
    assert out["kpis"]["total"]["round_trips"] > 20
    settings = _run([str(py), "-c", "import json; from arbkit.sweep.staged import load_settings; "
                                    "from arbkit.conf import conf_path; s = load_settings(); "
                                    "print(json.dumps({'stages': [st.label for st in s.stages], "
                                    "'schema': conf_path('schemas', 'candidates.schema.json').is_file(), "
                                    "'criteria': conf_path('acceptance', 'paper_12h.yaml').is_file()}))"], work, env)
    assert settings.returncode == 0, settings.stderr
    shipped = json.loads(settings.stdout)
    assert shipped["stages"] == ["10m", "20m", "1h"]  # the validation stages, the schemas and criteria ship too
    assert shipped["schema"] and shipped["criteria"]


def test_sweep_one_job_outside_the_repository(installed):
    py, bin_dir, work, env = installed
    run_dir = work / "sweep"
    proc = _run([str(bin_dir / "arbkit-sweep"), f"data.path={BUNDLED}", "strategy=mm", "strategy.asset=1",
                 "strategy.mode=1", "strategy.order_size=0.01", "gates=market_maker", f"hydra.run.dir={run_dir}"],
                work, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((run_dir / "row.json").read_text())
    assert row["events"] == 1_128_971 and len(row["fills_hash"]) == 64 and "gate_verdict" in row
    cfg = (run_dir / ".hydra" / "config.yaml").read_text()  # composed from the packaged config.yaml and its groups
    assert "costs:" in cfg and "sweep:" in cfg and "guards:" in cfg

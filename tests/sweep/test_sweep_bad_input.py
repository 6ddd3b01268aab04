"""Bad sweeps fail before anything is replayed, in one line naming the job, the parameter and what is allowed.

``arbkit-sweep`` runs in a subprocess; a job that was replayed leaves its row in ``rows/``, so
an empty ``rows/`` proves the failure came first.
"""
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import optuna
import pytest

from arbkit.core.errors import ConfigError
from arbkit.sweep import sweep
from helpers.bad_input import one_line_error, run_cli
from helpers.paths import BUNDLED

MM = ["strategy=mm", "strategy.mode=1", "strategy.order_size=0.01", "strategy.max_position=0.05", "data.end_s=5"]


def arbkit_sweep(*args, cwd):
    return run_cli(*args, f"data.path={BUNDLED}", program="arbkit.sweep.hydra_app", cwd=cwd)


def _rows(sweep_dir: Path) -> list:
    rows = sweep_dir / "rows"
    return sorted(p.name for p in rows.iterdir()) if rows.is_dir() else []


def test_multirun_with_an_asset_the_recording_lacks_fails_before_any_job(tmp_path):
    out = tmp_path / "m"
    proc = arbkit_sweep("-m", *MM, "strategy.asset=0,3", f"hydra.sweep.dir={out}", cwd=tmp_path)
    one_line_error(proc, "arbkit-sweep: error: job #1 (strategy.asset=3): strategy mm: parameter asset = 3",
                   "the recording has 3 instruments", "0 binance:BTCUSDT, 1 binance-usdm:BTCUSDT")
    assert _rows(out) == [] and not (out / "results.parquet").exists() and not (out / "candidates.json").exists()


def test_single_arb_run_with_asset_b_out_of_range(tmp_path):
    proc = arbkit_sweep("strategy=arb", "strategy.asset_b=5", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    one_line_error(proc, "arbkit-sweep: error: strategy arb: parameter asset_b = 5", "allowed: an instrument index 0..2")
    assert _rows(tmp_path / "r") == []


@pytest.mark.parametrize("values, needles", [
    ("0.5,abc", ["job #1 (strategy.half_spread_bps=abc): strategy.half_spread_bps must be a number, got 'abc'"]),
    ("[]", ["job #0 (", "strategy.half_spread_bps=[]", "): strategy.half_spread_bps must be a number, got []"]),
    ("", ["job #0 (", "strategy.half_spread_bps= ", "): strategy.half_spread_bps must be a number, got an empty value"]),
])
def test_grid_values_that_are_not_numbers_fail_before_job_0_replays(tmp_path, values, needles):
    out = tmp_path / "m"
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", f"strategy.half_spread_bps={values}", f"hydra.sweep.dir={out}",
                        cwd=tmp_path)
    one_line_error(proc, *needles)
    assert _rows(out) == []


def test_an_unknown_strategy_parameter(tmp_path):
    out = tmp_path / "m"
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", "+strategy.unknown=1,2", f"hydra.sweep.dir={out}", cwd=tmp_path)
    one_line_error(proc, "job #0 (+strategy.unknown=1): strategy mm: unknown parameter(s) ['unknown']; known: ['asset'")
    assert "Error executing job" not in proc.stderr
    assert _rows(out) == []
    proc = arbkit_sweep(*MM, "strategy.unknown=1", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    one_line_error(proc, "Could not override 'strategy.unknown'", "+strategy.unknown=1")


def test_optuna_trials_outside_the_books_are_told_fail_with_the_reason(tmp_path):
    out = tmp_path / "o"
    db = tmp_path / "study.db"
    proc = arbkit_sweep("-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=6", "hydra.sweeper.n_jobs=6",
                        "hydra.sweeper.study_name=s", f"hydra.sweeper.storage=sqlite:///{db}", *MM,
                        "strategy.asset=range(0,6)", f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{db}")
    for trial in study.trials:
        asset = trial.params["strategy.asset"]
        if asset <= 2:
            assert trial.state == optuna.trial.TrialState.COMPLETE, trial
        else:
            assert trial.state == optuna.trial.TrialState.FAIL
            assert f"parameter asset = {asset} is not allowed (the recording has 3 instruments)" in \
                trial.user_attrs["fail_reason"]
    assert {t.params["strategy.asset"] for t in study.trials} - {0, 1, 2}, "no trial left the books: widen the space"
    rows = [json.loads((out / "rows" / name).read_text()) for name in _rows(out) if not name.endswith(".job.json")]
    assert rows and all(r["asset"] <= 2 for r in rows)


def test_sweep_checks_every_set_before_any_runs(tmp_path):
    grid = [{"asset": 1, "half_spread_bps": 0.5}, {"asset": 1, "half_spread_bps": 1.0}, {"asset": 7}]
    with pytest.raises(ConfigError, match=r"parameter set 3 of 3: strategy mm: parameter asset = 7 is not allowed"):
        sweep(BUNDLED, "mm", grid, out_dir=tmp_path / "s", base_params={"mode": 1})
    assert not (tmp_path / "s").exists()
    with pytest.raises(ConfigError, match=r"parameter set 2 of 2: .*order_size = -0.01"):
        sweep(BUNDLED, "mm", {"order_size": [0.01, -0.01]}, out_dir=tmp_path / "s", base_params={"asset": 1})


# -- read-only output directories -------------------------------------------------------------------

@pytest.fixture
def read_only():
    """Make a directory read-only for this process: mode 555, and for root (whom modes do not stop) the
    immutable attribute; the test is skipped where neither holds."""
    made = []

    def make(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        if os.geteuid() == 0:
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
                pytest.skip("running as root without chattr +i: no directory is read-only")
        made.append(path)
        try:
            (path / "probe").touch()
        except OSError:
            return path
        pytest.skip(f"{path} stays writable here")

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)])
        path.chmod(0o755)


def test_read_only_hydra_sweep_directory(tmp_path, read_only):
    ro = read_only(tmp_path / "ro")
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", "strategy.half_spread_bps=0.5,1", f"hydra.sweep.dir={ro / 'm'}",
                        cwd=tmp_path)
    line = one_line_error(proc, "arbkit-sweep: error:", str(ro / "m"))
    assert "Permission denied" in line or "Operation not permitted" in line


def test_read_only_rows_fail_before_computing(tmp_path, read_only):
    out = tmp_path / "m"
    read_only(out / "rows")
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", "strategy.half_spread_bps=0.5,1", f"hydra.sweep.dir={out}",
                        cwd=tmp_path)
    one_line_error(proc, f"{out / 'rows'}: sweep output directory is not writable (", "); nothing was computed")
    assert not list((out / "rows").iterdir())
    s_out = tmp_path / "s"
    read_only(s_out / "rows")
    with pytest.raises(ConfigError, match=r"sweep output directory is not writable \(.*\); nothing was computed"):
        sweep(BUNDLED, "mm", {"half_spread_bps": [0.5, 1.0]}, out_dir=s_out, base_params={"asset": 1, "mode": 1},
              end=1723161260000000000)

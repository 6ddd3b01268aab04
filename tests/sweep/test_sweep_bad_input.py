"""Bad sweeps fail before anything is replayed, in one line naming the job, the parameter and what is allowed.

``arbkit-sweep`` runs in a subprocess; a job that was replayed leaves its row in ``rows/``, so
an empty ``rows/`` proves the failure came first.
"""
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import optuna
import pytest

from arbkit.core.errors import ConfigError
from arbkit.sweep import sweep
from helpers.bad_input import one_line_error, run_cli, small_recording
from helpers.paths import BUNDLED

MM = ["strategy=mm", "strategy.mode=1", "strategy.order_size=0.01", "strategy.max_position=0.05", "data.end_s=5"]


def arbkit_sweep(*args, cwd, user=None):
    return run_cli(*args, f"data.path={BUNDLED}", program="arbkit.sweep.hydra_app", cwd=cwd, user=user)


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


@pytest.mark.parametrize("values, needle", [
    ("0.5,abc", "job #1 (strategy.half_spread_bps=abc): strategy.half_spread_bps must be a number, got 'abc'"),
    ("[]", "job #0 (strategy.half_spread_bps=[]): strategy.half_spread_bps must be a number, got []"),
    ("", "job #0 (strategy.half_spread_bps=): strategy.half_spread_bps must be a number, got an empty value"),
])
def test_grid_values_that_are_not_numbers_fail_before_job_0_replays(tmp_path, values, needle):
    out = tmp_path / "m"
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", f"strategy.half_spread_bps={values}", f"hydra.sweep.dir={out}",
                        cwd=tmp_path)
    one_line_error(proc, needle)
    assert _rows(out) == []


def test_an_unknown_strategy_parameter(tmp_path):
    out = tmp_path / "m"
    proc = arbkit_sweep("-m", *MM, "strategy.asset=1", "+strategy.unknown=1,2", f"hydra.sweep.dir={out}", cwd=tmp_path)
    one_line_error(proc, "job #0 (+strategy.unknown=1): strategy mm: unknown parameter(s) ['unknown']; known: ['asset'")
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
def unprivileged():
    """(uid to run as, a world-writable base directory): root ignores file modes, so a root test runs the
    command as ``nobody``; anyone else runs it as themselves."""
    base = Path(tempfile.mkdtemp(prefix="arbkit-ro-"))
    base.chmod(0o777)
    (base / "numba").mkdir(mode=0o777)
    (base / "numba").chmod(0o777)
    yield (65534 if os.geteuid() == 0 else None), base
    for p in base.rglob("*"):
        if p.is_dir():
            p.chmod(0o777)
    shutil.rmtree(base, ignore_errors=True)


def _read_only(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


def _as(user, base, *args, program="arbkit.sweep.hydra_app"):
    # the child may not write the package's own numba cache: it gets one of its own
    return run_cli(*args, program=program, cwd=base, user=user,
                   env={"NUMBA_CACHE_DIR": str(base / "numba"), "HOME": str(base)})


def test_read_only_hydra_sweep_directory(unprivileged):
    user, base = unprivileged
    ro = _read_only(base / "ro")
    proc = _as(user, base, "-m", *MM, "strategy.asset=1", "strategy.half_spread_bps=0.5,1", f"data.path={BUNDLED}",
               f"hydra.sweep.dir={ro / 'multirun'}")
    one_line_error(proc, "arbkit-sweep: error:", str(ro / "multirun"), "Permission denied")


def test_read_only_rows_fail_before_computing(unprivileged):
    user, base = unprivileged
    out = base / "m"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    _read_only(out / "rows")
    proc = _as(user, base, "-m", *MM, "strategy.asset=1", "strategy.half_spread_bps=0.5,1", f"data.path={BUNDLED}",
               f"hydra.sweep.dir={out}")
    one_line_error(proc, f"{out / 'rows'}: sweep output directory is not writable (Permission denied); nothing was "
                         "computed")
    rec = small_recording(base / "rec", assets=(1,), seconds=5)
    for p in [rec, *rec.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    s_out = base / "s"
    s_out.mkdir(mode=0o777)
    s_out.chmod(0o777)
    _read_only(s_out / "rows")
    code = (f"from arbkit.sweep import sweep; from arbkit.core.errors import ConfigError\n"
            f"try:\n    sweep({str(rec)!r}, 'mm', {{'half_spread_bps': [0.5, 1.0]}}, out_dir={str(s_out)!r}, "
            f"base_params={{'mode': 1}})\nexcept ConfigError as e:\n    print(e)\n")
    script = base / "s.py"
    script.write_text(code)
    script.chmod(0o644)
    proc = _as(user, base, str(script), program=None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sweep output directory is not writable (Permission denied); nothing was computed" in proc.stdout

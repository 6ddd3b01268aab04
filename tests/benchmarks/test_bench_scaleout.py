"""The scale-out benchmark's shared Optuna study: two processes on one SQLite study, trials disjoint, study complete."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_scaleout as bs  # noqa: E402

optuna = pytest.importorskip("optuna")


def test_two_processes_share_one_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    out = bs.shared_study(url, "shared", procs=2, trials=3, rows=20_000)
    assert out["trials"] == 6 and out["complete"] == 6
    assert out["numbers_disjoint"] and out["ids_disjoint"]
    assert out["distinct_worker_pids"] == 2  # both processes ran trials of the same study
    trials = optuna.load_study(study_name="shared", storage=url).trials
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.user_attrs["fills"] >= 0 and t.value is not None for t in trials)


def test_parameter_sets_are_distinct():
    sets = bs.parameter_sets(1024)
    assert len({tuple(sorted(p.items())) for p in sets}) == 1024

"""The hydra app through its command line: a 100-set multirun grid, Optuna TPE and NSGA-II, an in-job grid.

Every row the sweeps write is checked against a separate ``replay`` of the same set.
"""
import json
import os
import subprocess
import sys

import polars as pl
import pytest
import yaml

from arbkit.run.replay import replay
from arbkit.strategies import get_strategy
from helpers.paths import BUNDLED

MM_FIXED = ["strategy=mm", "strategy.asset=1", "strategy.mode=1", "strategy.order_size=0.01",
            "strategy.max_position=0.05", "latency=colo_1ms"]
LAT = {"entry": 1_000_000, "response": 1_000_000, "venues": {}}


def arbkit_sweep(*args, cwd):
    env = {**os.environ, "CI": "true", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run([sys.executable, "-m", "arbkit.sweep.hydra_app", *args, f"data.path={BUNDLED}"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def mm_replay(bundled, row):
    params = {k: row[k] for k in get_strategy("mm").params}
    return replay(bundled, get_strategy("mm"), params, latency=LAT)


def test_multirun_grid_of_100_sets_matches_separate_replays(tmp_path, bundled):
    out = tmp_path / "grid"
    arbkit_sweep("-m", *MM_FIXED, "strategy.half_spread_bps=0.1,0.2,0.3,0.5,0.75",
                 "strategy.inventory_skew_bps=0,0.25,0.5,1.0,2.0", "strategy.refresh_tolerance_bps=0,0.1,0.3,1.0",
                 "gates=market_maker", f"hydra.sweep.dir={out}", cwd=tmp_path)
    table = pl.read_parquet(out / "results.parquet")
    assert table.height == 100 and table["param_id"].n_unique() == 100
    assert (out / "99" / ".hydra" / "overrides.yaml").is_file()  # hydra's own layout, one dir per job
    for row in table.iter_rows(named=True):
        single = mm_replay(bundled, row)
        assert single.fills_hash == row["fills_hash"]
        assert single.pnl == pytest.approx(row["total_pnl"], abs=1e-9)
    passed = table["gate_passed"].to_list()
    assert passed == sorted(passed, reverse=True)  # gate passes rank first
    cands = json.loads((out / "candidates.json").read_text())
    meta = cands["metadata"]
    assert meta["recording"]["path"] == str(BUNDLED.resolve()) and meta["created_at"] and meta["code_version"]["arbkit"]
    top = cands["candidates"][0]
    assert top["param_id"] == table["param_id"][0] and top["rationale"]
    assert top["half_spread_bps"] == table["half_spread_bps"][0]
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["grid"]) == 100 and man["recording_parts_sha256"]


def test_optuna_tpe_through_the_cli(tmp_path):
    out = tmp_path / "tpe"
    arbkit_sweep("-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=8", "hydra.sweeper.n_jobs=4",
                 *MM_FIXED, "strategy.half_spread_bps=interval(0.1, 3.0)", "strategy.inventory_skew_bps=choice(0, 0.5)",
                 f"hydra.sweep.dir={out}", cwd=tmp_path)
    res = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert res["sampler"] == "tpe" and res["n_complete"] == 8
    table = pl.read_parquet(out / "results.parquet")
    assert 1 <= table.height <= 8  # a repeated suggestion reuses its row
    assert res["best_value"] == pytest.approx(table["total_pnl"].max())
    best = table.row(0, named=True)
    assert best["half_spread_bps"] == pytest.approx(res["best_params"]["strategy.half_spread_bps"])


def test_optuna_nsga2_two_objectives_through_the_cli(tmp_path):
    out = tmp_path / "nsga"
    arbkit_sweep("-m", "hydra/sweeper=nsga2", "hydra.sweeper.n_trials=8", "hydra.sweeper.n_jobs=4",
                 "objective=[total_pnl,max_drawdown]", *MM_FIXED, "strategy.half_spread_bps=interval(0.1, 3.0)",
                 f"hydra.sweeper.storage=journal:{tmp_path / 'study.log'}", "hydra.sweeper.study_name=mm2",
                 f"hydra.sweep.dir={out}", cwd=tmp_path)
    res = yaml.safe_load((out / "optimization_results.yaml").read_text())
    assert res["sampler"] == "nsga2" and res["directions"] == ["maximize", "minimize"] and res["n_complete"] == 8
    table = pl.read_parquet(out / "results.parquet")
    front = res["pareto_front"]
    assert front
    for point in front:
        row = table.filter(pl.col("half_spread_bps") == point["params"]["strategy.half_spread_bps"]).row(0, named=True)
        assert point["values"] == pytest.approx([row["total_pnl"], row["max_drawdown"]])
    # the journal storage holds the study: a second run continues it
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    study = optuna.load_study(study_name="mm2", storage=JournalStorage(JournalFileBackend(str(tmp_path / "study.log"))))
    assert len(study.trials) == 8


def test_in_job_grid_runs_batched_and_rejects_bad_values(tmp_path, bundled):
    out = tmp_path / "run"
    arbkit_sweep(*MM_FIXED, "+sweep.grid.half_spread_bps=[0.2,0.5,1.0]", "sweep.batch_size=2", "sweep.n_jobs=2",
                 f"hydra.run.dir={out}", cwd=tmp_path)
    table = pl.read_parquet(out / "results.parquet")
    assert sorted(table["half_spread_bps"].to_list()) == [0.2, 0.5, 1.0]
    for row in table.iter_rows(named=True):
        assert mm_replay(bundled, row).fills_hash == row["fills_hash"]
    env = {**os.environ, "CI": "true"}
    bad = subprocess.run([sys.executable, "-m", "arbkit.sweep.hydra_app", f"data.path={BUNDLED}", *MM_FIXED, "strategy.half_spread_bps=abc",
                          f"hydra.run.dir={tmp_path / 'bad'}"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "strategy.half_spread_bps must be a number" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "arbkit.sweep.hydra_app", f"data.path={BUNDLED}", *MM_FIXED, "+sweep.grid.half_spread_bps=[1]",
                          "sweep.backend=cloud", f"hydra.run.dir={tmp_path / 'bad2'}"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "sweep.backend must be 'local' or 'dask'" in bad.stderr


def test_arb_multirun_ranks_by_edge_and_costs_picks_the_objective(tmp_path):
    out = tmp_path / "arb"
    arbkit_sweep("-m", "strategy=arb", "strategy.asset_a=0", "strategy.asset_b=1", "allow_short=true", "strategy.net_of_fees=0",
                 "strategy.entry_bps=0.5,1.0", "strategy.tp_bps=1.0,2.0", "costs=conservative",
                 f"hydra.sweep.dir={out}", cwd=tmp_path)
    table = pl.read_parquet(out / "results.parquet")
    assert table.height == 4
    edges = table["edge_realistic"].to_list()
    assert edges == sorted(edges, reverse=True)  # the documented arbitrage order
    job = json.loads((out / "0" / "row.json").read_text())
    assert {"edge_optimistic", "edge_realistic", "edge_conservative"} <= set(job)
    spec = json.loads(next((out / "rows").glob("*.job.json")).read_text())
    assert spec["objective"] == ["edge_conservative"]


def test_progress_bar_counts_sets_and_is_quiet_in_ci(monkeypatch):
    from arbkit.sweep.progress import Progress, progress_wanted

    monkeypatch.setenv("CI", "true")
    assert progress_wanted(None) is False and progress_wanted(True) is True
    with Progress(10, 4, 1_000_000, enabled=True) as bar:
        bar.advance(3)
        assert bar.done == 7 and bar.events_per_second() > 0

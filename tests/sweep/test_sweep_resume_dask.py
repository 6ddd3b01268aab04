"""Sweeps survive a SIGKILL (resume, no duplicates, same table) and run the same on a Dask cluster."""
import json
import os
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

from arbkit.sweep import sweep
from helpers.paths import BUNDLED

MM = ["strategy=mm", "strategy.asset=1", "strategy.mode=1", "strategy.order_size=0.01", "strategy.max_position=0.05",
      "latency=colo_1ms"]
GRID = "+sweep.grid.half_spread_bps=[0.1,0.15,0.2,0.25,0.3,0.4,0.5,0.6,0.75,1.0,1.25,1.5,2.0,2.5,3.0]"
SKEW = "+sweep.grid.inventory_skew_bps=[0.0,0.5]"


def _cmd(run_dir):
    return [sys.executable, "-m", "arbkit.sweep.hydra_app", f"data.path={BUNDLED}", *MM, GRID, SKEW, "sweep.batched=false",
            f"hydra.run.dir={run_dir}"]


def _rows(run_dir):
    return [p for p in (run_dir / "rows").glob("*.json")] if (run_dir / "rows").is_dir() else []


def test_killed_sweep_resumes_to_the_same_table(tmp_path):
    env = {**os.environ, "CI": "true"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(killed), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 600
    while len(_rows(killed)) < 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = len(_rows(killed))
    assert 4 <= at_kill < 30, "the sweep should be killed midway"
    assert not (killed / "results.parquet").exists()
    for p in _rows(killed):  # every row on disk is whole
        json.loads(p.read_text())
    rerun = subprocess.run(_cmd(killed), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    clean = tmp_path / "clean"
    full = subprocess.run(_cmd(clean), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert full.returncode == 0, full.stderr[-2000:]
    a = pl.read_parquet(killed / "results.parquet")
    b = pl.read_parquet(clean / "results.parquet")
    assert a.height == 30 and a["param_id"].n_unique() == 30 and len(_rows(killed)) == 30
    assert a.drop("rank", "sweep_id").sort("param_id").equals(b.drop("rank", "sweep_id").sort("param_id"))  # two sweeps
    assert a["param_id"].to_list() == b["param_id"].to_list()  # same ranking
    assert not list((killed / "rows").glob("*.tmp"))


def test_dask_local_cluster_gives_the_local_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"half_spread_bps": [0.2, 0.5, 1.0, 2.0], "inventory_skew_bps": [0.0, 0.5]}
    base = {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05}
    lat = {"entry": 1_000_000, "response": 1_000_000}
    local = sweep(BUNDLED, "mm", grid, out_dir=tmp_path / "local", base_params=base, latency=lat, batch_size=8)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = sweep(BUNDLED, "mm", grid, out_dir=tmp_path / "dask", base_params=base, latency=lat,
                           backend="dask", scheduler=client, batch_size=2)
            workers = client.run(os.getpid)
    assert len(set(workers.values())) == 2 and os.getpid() not in workers.values()
    assert remote.computed == 8
    assert local.table().drop("rank", "sweep_id").equals(remote.table().drop("rank", "sweep_id"))  # two sweeps, two ids
    assert local.sweep_id != remote.sweep_id
    assert local.table()["fills_hash"].to_list() == remote.table()["fills_hash"].to_list()

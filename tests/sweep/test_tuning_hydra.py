"""The hydra app's tuning outputs: a -m grid and an Optuna TPE study each leave the plan (jobs.jsonl, grown a
batch at a time under Optuna), tuning_results.json against its schema, a CSV equal to results.parquet, and one
sweep id in every output and in every job's log line; sweep.plan_only writes the plan and runs nothing."""
import json
import os
import re
import subprocess
import sys

import jsonschema
import polars as pl

from arbkit.sweep.plan import read_plan
from arbkit.sweep.runner import sweep
from arbkit.sweep.tuning import TUNING_SCHEMA
from helpers.paths import BUNDLED

MM = ["strategy=mm", "strategy.asset=1", "strategy.mode=1", "strategy.order_size=0.01",
      "strategy.max_position=0.05", "latency=colo_1ms", "data.end_s=60", "sweep.csv=true"]


def arbkit_sweep(*args, cwd):
    env = {**os.environ, "CI": "true", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run([sys.executable, "-m", "arbkit.sweep.hydra_app", *args, f"data.path={BUNDLED}"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def check_outputs(out, proc, n, optimiser):
    plan = read_plan(out / "jobs.jsonl")
    sid = plan[0]["sweep_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", sid) and {ln["sweep_id"] for ln in plan} == {sid}
    assert len(plan) == n and len({ln["job_id"] for ln in plan}) == n
    table = pl.read_parquet(out / "results.parquet")
    assert table.height == n and set(table["sweep_id"]) == {sid}
    assert set(table["param_id"]) == {ln["job_id"] for ln in plan}
    assert json.loads((out / "candidates.json").read_text())["metadata"]["sweep_id"] == sid
    assert json.loads((out / "manifest.json").read_text())["sweep_id"] == sid
    for ln in plan:
        assert json.loads((out / "rows" / f"{ln['job_id']}.json").read_text())["sweep_id"] == sid
        assert json.loads((out / "rows" / f"{ln['job_id']}.job.json").read_text())["sweep_id"] == sid
    logged = re.findall(r"sweep (\S+) job ([0-9a-f]{16}) mm", proc.stdout + proc.stderr)
    assert len(logged) == n and {s for s, _ in logged} == {sid}  # each job's log line names the sweep
    doc = json.loads((out / "tuning_results.json").read_text())
    jsonschema.validate(doc, TUNING_SCHEMA)
    assert doc["sweep_id"] == sid and doc["optimiser"]["name"] == optimiser and doc["iterations"] == n
    assert [j["fills_hash"] for j in doc["jobs"]] == table["fills_hash"].to_list()
    assert pl.read_csv(out / "results.csv", schema=table.schema).equals(table)
    assert f"sweep {sid}: {n} sets done, 0 failed" in proc.stderr  # the end-of-sweep summary
    return plan, table, doc


def test_multirun_grid_plan_and_outputs(tmp_path):
    planned = tmp_path / "planned"
    arbkit_sweep("-m", *MM, "strategy.half_spread_bps=0.3,1.0", "sweep.plan_only=true", f"hydra.sweep.dir={planned}",
                 cwd=tmp_path)
    lines = read_plan(planned / "jobs.jsonl")
    assert len(lines) == 2 and not list((planned / "rows").glob("*.json"))  # planned, nothing replayed
    out = tmp_path / "grid"
    proc = arbkit_sweep("-m", *MM, "strategy.half_spread_bps=0.3,1.0", f"hydra.sweep.dir={out}", cwd=tmp_path)
    plan, table, doc = check_outputs(out, proc, 2, "grid")
    assert [ln["job_id"] for ln in plan] == [ln["job_id"] for ln in lines]  # the same jobs, planned or run
    again = sweep(plan=out / "jobs.jsonl", out_dir=tmp_path / "again", progress=False)
    assert again.table().drop("rank").sort("param_id").equals(table.drop("rank").sort("param_id"))


def test_optuna_tpe_plan_grows_per_batch(tmp_path):
    out = tmp_path / "tpe"
    proc = arbkit_sweep("-m", *MM, "hydra/sweeper=optuna", "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2",
                        "strategy.half_spread_bps=interval(0.1,3.0)", f"hydra.sweep.dir={out}", cwd=tmp_path)
    plan, table, doc = check_outputs(out, proc, 4, "tpe")
    assert [ln["batch"] for ln in plan] == [0, 0, 1, 1] and [ln["job_num"] for ln in plan] == [0, 1, 2, 3]
    assert doc["optimiser"]["settings"]["n_trials"] == 4 and doc["objective"]["directions"] == ["maximize"]
    best = max(doc["jobs"], key=lambda j: j["objective"][0] if j["objective"][0] is not None else -1e300)
    assert doc["best"]["job_id"] == best["job_id"]

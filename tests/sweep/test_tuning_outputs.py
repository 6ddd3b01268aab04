"""A sweep's tuning outputs: the job plan (jobs.jsonl) before any job, tuning_results.json against its schema,
the CSV equal to results.parquet, one sweep id in every output, a plan run on its own, apply-candidate."""
import json
import re

import jsonschema
import polars as pl
import pytest
import yaml

import arbkit.sweep.runner as runner
from arbkit.apps.cli import main as cli
from arbkit.core.errors import ConfigError
from arbkit.sweep import sweep
from arbkit.sweep.plan import read_plan
from arbkit.sweep.tuning import TUNING_SCHEMA
from helpers.paths import BUNDLED, ROOT

START = 1723161254087891268
WINDOW = {"start": START, "end": START + 60_000_000_000}  # one minute: the outputs, not the strategy, are tested
BASE = {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05}
LAT = {"entry": 1_000_000, "response": 1_000_000}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _sweep(out, grid, **kw):
    return sweep(BUNDLED, "mm", grid, out_dir=out, base_params=BASE, latency=LAT, progress=False, **WINDOW, **kw)


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """A grid sweep whose first job looks at the plan on disk before it runs."""
    out = tmp_path_factory.mktemp("grid")
    seen = {}
    real = runner._run_blocks

    def spy(blocks, *a, **k):
        seen["plan"] = read_plan(out / "jobs.jsonl")
        seen["rows_before"] = sorted(p.name for p in (out / "rows").glob("*.json"))
        return real(blocks, *a, **k)

    runner._run_blocks = spy
    try:
        res = _sweep(out, {"half_spread_bps": [0.3, 1.0], "inventory_skew_bps": [0.0, 0.5]}, gate="market_maker",
                     csv=out / "results.csv")
    finally:
        runner._run_blocks = real
    return out, res, seen


def _check_outputs(out, res, n, optimiser):
    """Every output of one sweep: the same sweep id, the plan's jobs, the schema, the CSV."""
    sid = res.sweep_id
    assert UUID.match(sid)
    plan = read_plan(out / "jobs.jsonl")
    assert len(plan) == n and {ln["sweep_id"] for ln in plan} == {sid}
    for ln in plan:
        assert ln["command"] == f"arbkit sweep-run {out / 'jobs.jsonl'} --jobs {ln['job_id']} -o {out / 'replayed'}"
        assert ln["window"] == {"start_ns": WINDOW["start"], "end_ns": WINDOW["end"]} and ln["seed"] == 0
    table = pl.read_parquet(out / "results.parquet")
    assert table["sweep_id"].to_list() == [sid] * n
    assert sorted(table["param_id"]) == sorted(ln["job_id"] for ln in plan)
    assert json.loads((out / "candidates.json").read_text())["metadata"]["sweep_id"] == sid
    assert json.loads((out / "manifest.json").read_text())["sweep_id"] == sid
    for row in (out / "rows").glob("*[!b].json"):  # rows/<id>.json
        assert json.loads(row.read_text())["sweep_id"] == sid
    doc = json.loads((out / "tuning_results.json").read_text())
    jsonschema.validate(doc, TUNING_SCHEMA)
    assert doc["sweep_id"] == sid and doc["optimiser"]["name"] == optimiser and doc["iterations"] == n
    assert [j["job_id"] for j in doc["jobs"]] == table["param_id"].to_list()  # ranked order
    assert [j["fills_hash"] for j in doc["jobs"]] == table["fills_hash"].to_list()
    assert [j["objective"][0] for j in doc["jobs"]] == table["total_pnl"].to_list()
    assert doc["best"]["job_id"] == table["param_id"][0]
    assert doc["recording"]["parts_sha256"] == json.loads((out / "manifest.json").read_text())["recording_parts_sha256"]
    return plan, table, doc


def test_grid_sweep_outputs(grid_sweep):
    out, res, seen = grid_sweep
    plan, table, doc = _check_outputs(out, res, 4, "grid")
    assert seen["rows_before"] == [] and [ln["job_id"] for ln in seen["plan"]] == [ln["job_id"] for ln in plan]
    assert doc["counts"] == {"done": 4, "resumed": 0, "failed": 0}
    assert not list(out.rglob("*.yaml"))  # a sweep writes no run config: only apply-candidate does, when asked
    assert doc["optimiser"]["settings"]["space"] == {"half_spread_bps": [0.3, 1.0], "inventory_skew_bps": [0.0, 0.5]}
    assert doc["best"]["params"] == {k: table[k][0] for k in ("half_spread_bps", "inventory_skew_bps")}
    # the CSV is results.parquet, column by column, values round-tripped
    back = pl.read_csv(out / "results.csv", schema=table.schema)
    assert back.columns == table.columns
    for name in table.columns:
        assert back[name].to_list() == table[name].to_list() or \
            back[name].fill_nan(None).to_list() == table[name].fill_nan(None).to_list(), name
    assert res.summary.startswith(f"sweep {res.sweep_id}: 4 sets done, 0 failed, 0 skipped")
    assert "set-events/s" in res.summary and table["param_id"][0] in res.summary


def test_plan_alone_gives_the_same_table(grid_sweep, tmp_path):
    out, res, _ = grid_sweep
    again = sweep(plan=out / "jobs.jsonl", out_dir=tmp_path / "again", progress=False)
    assert again.sweep_id == res.sweep_id and again.computed == 4
    assert again.table().equals(res.table())
    # one job of the plan, by its command line (a plan can be split)
    job = read_plan(out / "jobs.jsonl")[2]["job_id"]
    assert cli(["sweep-run", str(out / "jobs.jsonl"), "--jobs", job, "-o", str(tmp_path / "one"),
                "--csv", str(tmp_path / "one.csv")]) == 0
    one = pl.read_parquet(tmp_path / "one" / "results.parquet")
    assert one.drop("rank").equals(res.table().filter(pl.col("param_id") == job).drop("rank"))
    assert pl.read_csv(tmp_path / "one.csv")["param_id"].to_list() == [job]
    with pytest.raises(ConfigError, match="no job"):
        read_plan(out / "jobs.jsonl", ["feedbeef"])


def test_random_sweep_outputs_and_plan_only(tmp_path):
    space = {"half_spread_bps": [0.2, 2.0], "inventory_skew_bps": [0.0, 0.5, 1.0]}
    plan_path = _sweep(tmp_path / "r", space, random_samples=3, plan_only=True)
    plan = read_plan(plan_path)
    assert len(plan) == 3 and not list((tmp_path / "r" / "rows").glob("*.json"))  # planned, nothing run
    res = _sweep(tmp_path / "r", space, random_samples=3)
    assert res.sweep_id == plan[0]["sweep_id"]  # the run keeps the plan's id
    _, table, doc = _check_outputs(tmp_path / "r", res, 3, "random")
    assert doc["optimiser"]["settings"] == {"space": space, "n": 3, "seed": 0}
    assert all(0.2 <= x <= 2.0 for x in table["half_spread_bps"])
    res.to_csv(tmp_path / "r.csv")
    assert pl.read_csv(tmp_path / "r.csv", schema=table.schema).equals(table)


def test_apply_candidate_replays_to_its_fills_hash(grid_sweep, tmp_path, capsys):
    out, res, _ = grid_sweep
    run_yaml = tmp_path / "run.yaml"
    assert cli(["apply-candidate", str(out), "--rank", "2", "-o", str(run_yaml)]) == 0
    cfg = yaml.safe_load(run_yaml.read_text())
    cand = json.loads((out / "candidates.json").read_text())["candidates"][1]
    assert cfg["origin"]["sweep_id"] == res.sweep_id and cfg["origin"]["param_id"] == cand["param_id"]
    assert cfg["origin"]["rank"] == 2 and cfg["params"]["half_spread_bps"] == cand["half_spread_bps"]
    capsys.readouterr()
    assert cli(["replay", str(BUNDLED), "--config", str(run_yaml), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fills_hash"] == cand["fills_hash"]
    # never overwritten unless asked
    assert cli(["apply-candidate", str(out), "--rank", "1", "-o", str(run_yaml)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert yaml.safe_load(run_yaml.read_text())["origin"]["rank"] == 2
    assert cli(["apply-candidate", str(out), "--rank", "1", "-o", str(run_yaml), "--force"]) == 0
    assert yaml.safe_load(run_yaml.read_text())["origin"]["rank"] == 1
    assert cli(["apply-candidate", str(out), "--rank", "99", "-o", str(tmp_path / "x.yaml")]) == 2
    assert "no candidate ranked 99" in capsys.readouterr().err


def test_tuning_results_schema_is_documented():
    doc = (ROOT / "docs" / "sweeps.md").read_text()
    section = doc[doc.index("### tuning_results.json"):]
    for field in list(TUNING_SCHEMA["properties"]) + list(TUNING_SCHEMA["properties"]["jobs"]["items"]["properties"]):
        assert f"`{field}`" in section, field


def test_bad_plans_are_one_line(tmp_path, capsys):
    assert cli(["sweep-run", str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl: cannot read the job plan" in capsys.readouterr().err
    bad = tmp_path / "jobs.jsonl"
    bad.write_text('{"sweep_id": "x", "job_id": "a"}\nnot json\n')
    assert cli(["sweep-run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "jobs.jsonl, line 1: missing recording" in err and err.count("\n") == 1
    assert cli(["apply-candidate", str(tmp_path), "-o", str(tmp_path / "run.yaml")]) == 2
    assert "candidates.json: cannot read the sweep's candidates" in capsys.readouterr().err
    assert not (tmp_path / "run.yaml").exists()

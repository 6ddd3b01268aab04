"""Run a sweep: one replay per parameter set (locally, in joblib worker processes), resumable.

Each finished set is written to ``rows/<param_id>.json`` under a temporary name and renamed,
so an interrupted sweep leaves only whole rows; rerunning skips the sets whose row exists.
At the end the rows become ``results.parquet`` (every set, every KPI), ranked into
``candidates.json``, and ``manifest.json`` records what is needed to reproduce the sweep
(recording part hashes, settings, seed, package versions).
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import polars as pl

from arbkit.errors import ConfigError
from arbkit.sweep.grid import as_list, param_id
from arbkit.sweep.ranking import RANK_KEYS, rank, write_candidates

ROW_DIR = "rows"


@dataclass
class SweepResult:
    """The sweep's ranked table and where its files are."""

    out_dir: Path
    table: pl.DataFrame
    computed: int  # sets replayed in this call (the rest came from earlier rows)
    seconds: float

    def best(self) -> dict[str, Any]:
        return self.table.row(0, named=True)


def _flat_kpis(kpis: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in kpis.items():
        if k == "exit_reasons":
            for reason, d in v.items():
                out[f"exit_{reason}_count"] = d["count"]
                out[f"{reason}_exit_pct"] = d["pct"]
        elif k == "blocks":
            for g, n in v.items():
                out[f"blocks_{g}"] = n
        elif isinstance(v, (int, float)):
            out[k] = v
    return out


def run_one(recording: str, strategy: str, strategy_options: Mapping[str, Any], params: Mapping[str, float],
            settings: Mapping[str, Any], gate: str | None) -> dict[str, Any]:
    """Replay one parameter set; its result row (parameters, KPIs, edges, gate, fills_hash)."""
    from arbkit.engine import replay
    from arbkit.kpi import compute_kpis
    from arbkit.strategies import get_strategy

    strat = get_strategy(strategy, **strategy_options)
    res = replay(recording, strat, dict(params), fill=settings.get("fill"), latency=settings.get("latency"),
                 guards=settings.get("guards"), seed=int(settings.get("seed", 0)))
    trips = None
    row: dict[str, Any] = dict(params)
    if strategy == "arb":
        from arbkit.kpi.edge import edge_report
        from arbkit.strategies.arb import round_trips
        trips = round_trips(res)
        edge = edge_report(recording, res.params, result=res)
        row.update({f"edge_{n}": edge[f"edge_{n}"] for n in ("optimistic", "realistic", "conservative")})
        row.update({"realised_edge_bps": edge["realised_edge_bps"], "is_structurally_safe": edge["is_structurally_safe"],
                    "is_recommended": edge["is_recommended"], "paper_round_trips": edge["paper_round_trips"]})
    kpis = compute_kpis(res, round_trips=trips)
    row.update(_flat_kpis(kpis["total"]))
    row["events"] = res.counters["events"]
    row["fills_hash"] = res.fills_hash
    if gate:
        from arbkit.kpi.gates import Gate
        verdict = Gate.load(gate).evaluate(kpis["total"])
        row["gate_passed"] = verdict["passed"]
        row["gate_verdict"] = verdict["verdict"]
        row["gate_reason"] = verdict["reason"]
    return row


def _write_row(path: Path, row: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(row, default=float, allow_nan=True))
    os.replace(tmp, path)


def _worker(args: tuple) -> str:
    recording, strategy, options, params, settings, gate, pid, row_path = args
    row = run_one(recording, strategy, options, params, settings, gate)
    row["param_id"] = pid
    _write_row(Path(row_path), row)
    return pid


def _versions() -> dict[str, str]:
    import numba
    import numpy
    import pyarrow

    import arbkit
    return {"arbkit": arbkit.__version__, "numpy": numpy.__version__, "numba": numba.__version__,
            "polars": pl.__version__, "pyarrow": pyarrow.__version__, "python": platform.python_version()}


def sweep(recording: str | Path, strategy: str, grid: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
          out_dir: str | Path, strategy_options: Mapping[str, Any] | None = None, fill: Any = None,
          latency: Any = None, guards: Any = None, seed: int = 0, n_jobs: int = 1, gate: str | None = None,
          resume: bool = True, top: int = 10, base_params: Mapping[str, Any] | None = None) -> SweepResult:
    """Replay every parameter set of ``grid`` (over ``base_params``) and rank them; see the module doc."""
    from joblib import Parallel, delayed, parallel_config

    from arbkit.io.recording import load

    rec = load(recording)  # fail early, with the recording's own error
    sets = [{**(base_params or {}), **p} for p in as_list(grid)]
    names = list(dict.fromkeys(k for p in sets for k in p))
    settings = {"fill": fill, "latency": latency, "guards": guards, "seed": seed}
    out = Path(out_dir)
    rows_dir = out / ROW_DIR
    rows_dir.mkdir(parents=True, exist_ok=True)
    options = dict(strategy_options or {})
    extra = {"strategy": strategy, "options": options, "settings": settings, "gate": gate,
             "recording": str(Path(recording).resolve())}
    ids = [param_id(p, extra) for p in sets]
    if len(set(ids)) != len(ids):
        raise ConfigError("grid: the same parameter set appears twice")
    todo = [(str(rec.path), strategy, options, p, settings, gate, pid, str(rows_dir / f"{pid}.json"))
            for p, pid in zip(sets, ids) if not (resume and (rows_dir / f"{pid}.json").is_file())]
    t0 = time.perf_counter()
    if todo:
        if n_jobs == 1:
            for job in todo:
                _worker(job)
        else:
            # one numba thread per worker: the workers already use the cores
            with parallel_config(backend="loky", n_jobs=n_jobs, inner_max_num_threads=1):
                Parallel()(delayed(_worker)(job) for job in todo)
    seconds = time.perf_counter() - t0
    rows = [json.loads((rows_dir / f"{pid}.json").read_text()) for pid in ids]
    table = pl.DataFrame(rows, infer_schema_length=None)
    ranked = rank(table, strategy)
    tmp = out / f"results.{os.getpid()}.tmp.parquet"
    ranked.write_parquet(tmp)
    os.replace(tmp, out / "results.parquet")
    meta = {"source_recording": str(rec.path), "recording_parts_sha256": [p.sha256 for p in rec.manifest.parts],
            "strategy": strategy, "cost_profiles": ["optimistic", "realistic", "conservative"],
            "rank_keys": RANK_KEYS.get(strategy, RANK_KEYS["default"]), "code_version": _versions()["arbkit"]}
    write_candidates(out / "candidates.json", ranked, names, meta, top=top)
    manifest = {"recording": str(rec.path), "recording_parts_sha256": meta["recording_parts_sha256"],
                "strategy": strategy, "strategy_options": options, "settings": settings, "gate": gate,
                "grid": sets, "param_ids": ids, "seed": seed, "versions": _versions()}
    tmpm = out / f"manifest.{os.getpid()}.tmp"
    tmpm.write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    os.replace(tmpm, out / "manifest.json")
    return SweepResult(out, ranked, len(todo), seconds)

"""``tuning_results.json``: one file that says what a sweep tried, how, on what, and what came out.

Written beside ``results.parquet`` and ``candidates.json`` at the end of every sweep (the
schema is :data:`TUNING_SCHEMA`, documented in docs/sweeps.md). Also the end-of-sweep summary line.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.core.version import __version__

TUNING_FILE = "tuning_results.json"
SCHEMA_ID = "arbkit.tuning_results/1"
OPTIMISERS = ("grid", "random", "list", "tpe", "nsga2", "optuna_random")
STATUSES = ("done", "resumed", "failed")

_NUM = {"type": ["number", "null"]}
#: JSON Schema of tuning_results.json (the field table in docs/sweeps.md says the same in words).
TUNING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "sweep_id", "created_at", "code_version", "recording", "strategy", "optimiser",
                 "objective", "iterations", "counts", "best", "jobs"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "sweep_id": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
        "created_at": {"type": "string"},
        "code_version": {"type": "object", "required": ["arbkit", "git_commit"],
                         "properties": {"arbkit": {"type": "string"},
                                        "git_commit": {"type": ["string", "null"]}}},
        "recording": {"type": "object", "required": ["path", "parts_sha256"],
                      "properties": {"path": {"type": "string"},
                                     "parts_sha256": {"type": "array", "items": {"type": "string"}}}},
        "strategy": {"type": "string"},
        "optimiser": {"type": "object", "required": ["name", "settings"],
                      "properties": {"name": {"enum": list(OPTIMISERS)}, "settings": {"type": "object"}}},
        "objective": {"type": "object", "required": ["names", "directions"],
                      "properties": {"names": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                     "directions": {"type": "array",
                                                    "items": {"enum": ["maximize", "minimize"]}}}},
        "iterations": {"type": "integer", "minimum": 0},
        "counts": {"type": "object", "required": list(STATUSES),
                   "properties": {s: {"type": "integer", "minimum": 0} for s in STATUSES}},
        "best": {"type": ["object", "null"], "required": ["job_id", "params", "objective"],
                 "properties": {"job_id": {"type": "string"}, "params": {"type": "object"},
                                "objective": {"type": "array", "items": _NUM}}},
        "jobs": {"type": "array", "items": {
            "type": "object", "required": ["job_id", "params", "objective", "status", "fills_hash"],
            "additionalProperties": False,
            "properties": {"job_id": {"type": "string"}, "params": {"type": "object"},
                           "objective": {"type": "array", "items": _NUM}, "status": {"enum": list(STATUSES)},
                           "fills_hash": {"type": ["string", "null"]}, "rank": {"type": ["integer", "null"]},
                           "reason": {"type": "string"}}}},
    },
}


def git_commit() -> str | None:
    """The git commit of the arbkit checkout this code runs from, when it is one (else None)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def tuning_document(*, sweep_id: str, recording: str, parts_sha256: Sequence[str], strategy: str,
                    optimiser: Mapping[str, Any], objective: Sequence[str], directions: Sequence[str],
                    ranked_rows: Sequence[Mapping[str, Any]], status: Mapping[str, str],
                    failed: Sequence[Mapping[str, Any]] = (), param_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The tuning_results document: ``ranked_rows`` best first (``status``: job id -> done / resumed),
    ``failed``: jobs with no row (``job_id``, ``params``, ``reason``)."""
    def params_of(row: Mapping[str, Any]) -> dict[str, Any]:
        names = param_names if param_names is not None else []
        return {k: row[k] for k in names if k in row}

    jobs = [{"job_id": r["param_id"], "params": params_of(r), "objective": [_num(r.get(k)) for k in objective],
             "status": status.get(r["param_id"], "done"), "fills_hash": r.get("fills_hash"), "rank": r.get("rank")}
            for r in ranked_rows]
    jobs += [{"job_id": f["job_id"], "params": dict(f["params"]), "objective": [None for _ in objective],
              "status": "failed", "fills_hash": None, "rank": None, "reason": str(f.get("reason", ""))}
             for f in failed]
    counts = {s: sum(1 for j in jobs if j["status"] == s) for s in STATUSES}
    best = None
    if ranked_rows:
        b = jobs[0]
        best = {"job_id": b["job_id"], "params": b["params"], "objective": b["objective"]}
    return {"schema": SCHEMA_ID, "sweep_id": sweep_id, "created_at": datetime.now(timezone.utc).isoformat(),
            "code_version": {"arbkit": __version__, "git_commit": git_commit()},
            "recording": {"path": recording, "parts_sha256": list(parts_sha256)}, "strategy": strategy,
            "optimiser": {"name": optimiser["name"], "settings": dict(optimiser.get("settings") or {})},
            "objective": {"names": list(objective), "directions": list(directions)},
            "iterations": counts["done"] + counts["failed"] + counts["resumed"], "counts": counts, "best": best,
            "jobs": jobs}


def write_tuning_results(out_dir: Path, doc: Mapping[str, Any]) -> Path:
    """Write ``tuning_results.json`` atomically."""
    path = Path(out_dir) / TUNING_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def summary_line(doc: Mapping[str, Any], seconds: float, events_per_set: int) -> str:
    """The end-of-sweep summary: sets done / failed / skipped (resumed), best set, time, set-events/s."""
    n = doc["counts"]
    rate = n["done"] * events_per_set / seconds if seconds > 0 else 0.0
    best = doc["best"]
    shown = "none"
    if best is not None:
        obj = ", ".join(f"{k}={v:.6g}" if v is not None else f"{k}=nan"
                        for k, v in zip(doc["objective"]["names"], best["objective"]))
        shown = f"{best['job_id']} {json.dumps(best['params'])} ({obj})"
    return (f"sweep {doc['sweep_id']}: {n['done']} sets done, {n['failed']} failed, {n['resumed']} skipped (rows from "
            f"an earlier run); best {shown}; {seconds:.2f} s, {rate:,.0f} set-events/s")

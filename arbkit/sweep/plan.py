"""The job plan of a sweep: ``jobs.jsonl``, one line per parameter set, written before any job runs.

Each line is whole on its own (sweep id, job id, recording, strategy, parameters, window,
seed, run settings, gate, and the command that replays it alone), so a plan can be
reviewed, split by lines, or handed to another machine and run with
``arbkit sweep-run jobs.jsonl`` / ``sweep(plan=...)``. The file is replaced atomically
(a temporary file renamed over it): a reader sees the old plan or the new one, never half.
"""
from __future__ import annotations

import json
import os
import shlex
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from arbkit.core.errors import ConfigError

PLAN_FILE = "jobs.jsonl"
#: keys every plan line has (checked when a plan is read)
LINE_KEYS = ("sweep_id", "job_id", "recording", "strategy", "strategy_options", "params", "window", "seed",
             "settings", "gate", "command")


def new_sweep_id() -> str:
    """A fresh sweep id (a random UUID, as text)."""
    return str(uuid.uuid4())


def existing_sweep_id(out_dir: Path) -> str | None:
    """The sweep id of the plan already in ``out_dir`` (a resumed sweep keeps its id), or None."""
    path = Path(out_dir) / PLAN_FILE
    if not path.is_file():
        return None
    with path.open() as fh:
        first = fh.readline().strip()
    try:
        return str(json.loads(first)["sweep_id"]) if first else None
    except (ValueError, KeyError, TypeError):
        return None


def replay_command(plan_path: Path, job_id: str) -> str:
    """The shell command that replays one job of a plan on its own."""
    return f"arbkit sweep-run {shlex.quote(str(plan_path))} --jobs {job_id} -o {shlex.quote(str(plan_path.parent / 'replayed'))}"


def plan_line(sweep_id: str, job_id: str, recording: str, strategy: str, options: Mapping[str, Any],
              params: Mapping[str, Any], settings: Mapping[str, Any], gate: Any, plan_path: Path,
              **extra: Any) -> dict[str, Any]:
    """One line of a plan (``extra``: e.g. the optimiser and the batch it was asked in)."""
    return {"sweep_id": sweep_id, "job_id": job_id, "recording": recording, "strategy": strategy,
            "strategy_options": dict(options), "params": {k: float(v) for k, v in params.items()},
            "window": {"start_ns": settings.get("start"), "end_ns": settings.get("end")},
            "seed": int(settings.get("seed", 0)), "settings": dict(settings), "gate": gate,
            "command": replay_command(plan_path, job_id), **extra}


def write_plan(path: Path, lines: Iterable[Mapping[str, Any]], append: bool = False) -> Path:
    """Write (or, with ``append``, extend) ``jobs.jsonl`` atomically; lines whose job id is already there are kept once."""
    path = Path(path)
    old: list[str] = []
    seen: set[str] = set()
    if append and path.is_file():
        old = [ln for ln in path.read_text().splitlines() if ln.strip()]
        seen = {json.loads(ln)["job_id"] for ln in old}
    new = [json.dumps(dict(ln), default=str, allow_nan=True) for ln in lines if ln["job_id"] not in seen]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(ln + "\n" for ln in old + new))
    os.replace(tmp, path)
    return path


def read_plan(path: str | Path, jobs: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The lines of a plan (only ``jobs``, by job id, when given); a ConfigError naming the file and line."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the job plan ({exc.strerror or exc})") from None
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{p}, line {n}: not a JSON object ({exc})") from None
        if not isinstance(line, dict):
            raise ConfigError(f"{p}, line {n}: not a JSON object")
        missing = [k for k in LINE_KEYS if k not in line]
        if missing:
            raise ConfigError(f"{p}, line {n}: missing {', '.join(missing)}")
        out.append(line)
    if not out:
        raise ConfigError(f"{p}: the job plan has no jobs")
    if jobs is not None:
        wanted = list(dict.fromkeys(jobs))
        have = {ln["job_id"] for ln in out}
        unknown = [j for j in wanted if j not in have]
        if unknown:
            raise ConfigError(f"{p}: no job(s) {', '.join(unknown)} in the plan")
        out = [ln for ln in out if ln["job_id"] in set(wanted)]
    return out

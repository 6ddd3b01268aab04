"""Apply a sweep's candidate, with approval: write a run config (``run.yaml``) from one ranked candidate.

Nothing in a sweep, a validation or a campaign writes or changes a run configuration by
itself: this is the one path, run by a person (``arbkit apply-candidate SWEEP_DIR --rank 1
-o run.yaml``). The file records where it came from (``origin``: sweep id, rank, job id,
fills_hash, the sweep directory) and is never overwritten unless asked (``force``).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import yaml

from arbkit.core.errors import ConfigError
from arbkit.run.config import RunConfig


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sweep's {what} ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: the sweep's {what} is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the sweep's {what} is not a JSON object")
    return doc


def candidate_run_config(sweep_dir: str | Path, rank: int = 1) -> dict[str, Any]:
    """The run config (``run.yaml`` keys, with ``origin``) of the candidate ranked ``rank`` in ``sweep_dir``."""
    d = Path(sweep_dir)
    cands = _read_json(d / "candidates.json", "candidates")
    manifest = _read_json(d / "manifest.json", "manifest")
    meta: Mapping[str, Any] = cands.get("metadata", cands)  # the envelope {"metadata", "candidates"} or flat
    listed = cands.get("candidates") or []
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ConfigError(f"--rank must be a whole number >= 1, got {rank!r}")
    chosen = next((c for c in listed if c.get("rank") == rank), None)
    if chosen is None:
        raise ConfigError(f"{d / 'candidates.json'}: no candidate ranked {rank} (ranks {[c.get('rank') for c in listed]})")
    pid = chosen["param_id"]
    try:
        params = dict(manifest["grid"][list(manifest["param_ids"]).index(pid)])
    except (KeyError, ValueError):
        raise ConfigError(f"{d / 'manifest.json'}: no parameter set {pid} (candidate ranked {rank})") from None
    st = manifest.get("settings") or {}
    sweep_id = manifest.get("sweep_id") or meta.get("sweep_id")
    cfg: dict[str, Any] = {"strategy": manifest["strategy"], "strategy_options": manifest.get("strategy_options") or {},
                           "params": params, "fill": st.get("fill") or {}, "latency": st.get("latency") or {},
                           "guards": st.get("guards") or {}, "seed": int(st.get("seed", 0))}
    if st.get("start") is not None:
        cfg["start_ns"] = int(st["start"])
    if st.get("end") is not None:
        cfg["end_ns"] = int(st["end"])
    if st.get("allow_crossed"):
        cfg["allow_crossed"] = True
    if st.get("mark", "mid") != "mid":
        cfg["mark"] = st["mark"]
    if st.get("allow_short") is not None:
        cfg["allow_short"] = bool(st["allow_short"])
    if st.get("rewards"):
        cfg["rewards"] = dict(st["rewards"])
    cfg["origin"] = {"sweep_id": sweep_id, "sweep_dir": str(d.resolve()), "rank": rank, "param_id": pid,
                     "fills_hash": chosen.get("fills_hash"), "recording": manifest.get("recording"),
                     "applied_at": datetime.now(timezone.utc).isoformat()}
    RunConfig.from_dict(cfg, where=f"candidate ranked {rank} of {d}")  # the file will load
    return cfg


def apply_candidate(sweep_dir: str | Path, out: str | Path, rank: int = 1, force: bool = False) -> Path:
    """Write the candidate ranked ``rank`` of ``sweep_dir`` as a run config at ``out`` (refused when ``out``
    exists, unless ``force``)."""
    path = Path(out)
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; pass --force to overwrite it")
    cfg = candidate_run_config(sweep_dir, rank)
    text = ("# written by `arbkit apply-candidate` from sweep " f"{cfg['origin']['sweep_id']}, candidate ranked {rank}\n"
            + yaml.safe_dump(cfg, sort_keys=False))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the run config ({exc.strerror or exc})") from None
    return path

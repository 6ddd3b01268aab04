"""``candidates.json``: the parameter sets a sweep (or another tool) proposes, and where they came from.

``{"metadata": {...}, "candidates": [{<parameters flat>, "edge_optimistic", "edge_realistic",
"edge_conservative", "is_structurally_safe", "is_recommended", "rationale", ...}]}`` — the schema
is ``arbkit/conf/schemas/candidates.schema.json``, documented in docs/validation.md. The
metadata names the recording (path and part hashes) and the sweep's data window, so staged
validation can tell out-of-sample data from in-sample data.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.core.errors import ConfigError, DataError
from arbkit.core.json_file import read_json
from arbkit.core.version import code_version
from arbkit.kpi.edge import COSTS_DIR, PROFILES, CostProfile

FILE_NAME = "candidates.json"
#: fields of a candidate that are not parameters
RESERVED = ("rank", "param_id", "edge_optimistic", "edge_realistic", "edge_conservative", "realised_edge_bps",
            "is_structurally_safe", "is_recommended", "rationale", "kpis", "fills_hash", "gate_verdict")


def iso(ns: int | None) -> str | None:
    """An epoch-ns time as ISO-8601 UTC (milliseconds), None for None."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat(timespec="milliseconds")


def scenarios(profiles: Sequence[str] = PROFILES) -> list[dict[str, Any]]:
    """The cost profiles the edges are priced under, with their settings."""
    out = []
    for name in profiles:
        p = CostProfile.load(name)
        out.append({"name": p.name, "fee_scale": p.fee_scale, "slippage_bps": p.slippage_bps})
    return out


def metadata(*, source: str, strategy: str, options: Mapping[str, Any], param_names: Sequence[str], recording: Any,
             settings: Mapping[str, Any], gate: Any, rank_keys: Sequence[Sequence[Any]], top: int) -> dict[str, Any]:
    """The ``metadata`` block of a sweep's candidates.json (``recording``: the sweep's Recording)."""
    m = recording.manifest
    start = settings.get("start") if settings.get("start") is not None else m.start_ns
    end = settings.get("end") if settings.get("end") is not None else m.end_ns + 1  # [start, end): ts_local
    start, end = max(int(start), int(m.start_ns)), min(int(end), int(m.end_ns) + 1)
    run_settings = {k: settings.get(k) for k in ("fill", "latency", "guards", "seed", "allow_crossed", "mark", "allow_short",
                                                      "rewards")
                    if settings.get(k) is not None}
    return {
        "schema_version": 1, "source": source, "created_at": datetime.now(timezone.utc).isoformat(),
        "strategy": strategy, "strategy_options": dict(options), "param_names": list(param_names),
        "scenarios": scenarios(), "cost_profile_source": str(COSTS_DIR), "code_version": code_version(),
        "recording": {"path": str(recording.path), "parts_sha256": [p.sha256 for p in m.parts],
                      "instruments": [i.key for i in recording.instruments]},
        "data_window": {"start_ns": start, "end_ns": end, "start": iso(start), "end": iso(end)},
        "settings": run_settings, "rank_keys": [list(k) for k in rank_keys], "gate": gate, "top": int(top),
    }


@dataclass(frozen=True)
class Candidate:
    """One candidate: its parameters (the strategy's, by name), rank, id and the file's other fields."""

    rank: int
    param_id: str | None
    params: dict[str, float]
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class CandidateFile:
    """A checked candidates.json."""

    path: Path
    metadata: Mapping[str, Any]
    raw: list[Mapping[str, Any]]
    sha256: str

    @property
    def window(self) -> tuple[int, int]:
        """The sweep's data window [start_ns, end_ns)."""
        w = self.metadata["data_window"]
        return int(w["start_ns"]), int(w["end_ns"])

    def candidates(self, strategy: Any) -> list[Candidate]:
        """The candidates with their parameters checked against ``strategy`` (a Strategy): the names in
        ``metadata.param_names``, else every field that is one of the strategy's parameters."""
        known = list(strategy.params)
        names = self.metadata.get("param_names")
        if names is not None:
            bad = [n for n in names if n not in known]
            if bad:
                raise DataError(f"parameter(s) {bad} are not parameters of strategy {strategy.name} (known: {known})",
                                path=self.path, field="metadata/param_names")
        out = []
        for i, c in enumerate(self.raw):
            use = names if names is not None else [k for k in c if k in known and k not in RESERVED]
            params: dict[str, float] = {}
            for n in use:
                v = c.get(n)
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise DataError(f"parameter {n} must be a number, got {v!r}", path=self.path,
                                    field=f"candidates/{i}/{n}")
                params[n] = float(v)
            if not params:
                raise DataError(f"no parameter of strategy {strategy.name} in this candidate (known: {known})",
                                path=self.path, field=f"candidates/{i}")
            out.append(Candidate(int(c.get("rank", i + 1)), c.get("param_id"), params, c))
        return out


def load(path: str | Path) -> CandidateFile:
    """A candidates.json (or the one in a sweep directory), checked against its schema."""
    p = Path(path)
    if p.is_dir():
        p = p / FILE_NAME
    if not p.is_file():
        raise ConfigError(f"{p}: no candidates file (give a sweep directory or a candidates.json)")
    doc = read_json(p, "candidates")
    start, end = (int(doc["metadata"]["data_window"][k]) for k in ("start_ns", "end_ns"))
    if end < start:
        raise DataError(f"data_window ends ({end}) before it starts ({start})", path=p, field="metadata/data_window")
    return CandidateFile(p, doc["metadata"], list(doc["candidates"]), hashlib.sha256(p.read_bytes()).hexdigest())

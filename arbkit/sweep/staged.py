"""Staged out-of-sample validation of a sweep's top candidates, with a GO / NO-GO verdict.

The candidates (``candidates.json``) are replayed on windows that start where the sweep's
data ended and grow stage by stage (``stages_s``, e.g. the next 10, 20, 60 minutes). A
candidate goes on to the next stage only if it passed the gate on the last one. The verdict
is GO when at least one candidate passes every stage; otherwise NO-GO, with the reason each
candidate stopped (its failed thresholds, or a stage the data does not cover). Each stage
replays all remaining candidates in one pass of the batched kernel.

Settings come from ``arbkit/conf/validation/default.yaml`` (top, stages_s, gate, min_coverage)
and can be overridden per call. The report is written to ``validation.json`` in the sweep
directory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError
from arbkit.io.recording import load
from arbkit.kpi.evaluation import as_gate, evaluate
from arbkit.run.replay import replay_batch
from arbkit.strategies import get_strategy

DEFAULTS_FILE = conf_path("validation", "default.yaml")


def load_settings(path: str | Path | None = None) -> dict[str, Any]:
    """Validation settings from YAML (default arbkit/conf/validation/default.yaml)."""
    import yaml

    p = Path(path) if path else DEFAULTS_FILE
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read validation settings ({exc})") from None
    unknown = sorted(set(data) - {"top", "stages_s", "gate", "min_coverage"})
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {unknown}")
    return data


def _check(settings: Mapping[str, Any]) -> None:
    stages = settings.get("stages_s")
    if not isinstance(stages, (list, tuple)) or not stages or any(
            isinstance(s, bool) or not isinstance(s, (int, float)) or s <= 0 for s in stages):
        raise ConfigError(f"validation.stages_s must be a list of positive durations in seconds, got {stages!r}")
    if list(stages) != sorted(stages):
        raise ConfigError(f"validation.stages_s must grow stage by stage, got {list(stages)}")
    top = settings.get("top")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ConfigError(f"validation.top must be a positive integer, got {top!r}")
    cov = settings.get("min_coverage")
    if not isinstance(cov, (int, float)) or not 0 < cov <= 1:
        raise ConfigError(f"validation.min_coverage must be in (0, 1], got {cov!r}")


def validate_candidates(sweep_dir: str | Path, *, recording: str | Path | None = None, top: int | None = None,
                        stages_s: Sequence[float] | None = None, gate: str | Mapping[str, Any] | None = None,
                        min_coverage: float | None = None, settings_file: str | Path | None = None) -> dict[str, Any]:
    """Run the stages (see the module doc); returns the report (also written to ``validation.json``)."""

    d = Path(sweep_dir)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
        cands = json.loads((d / "candidates.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{d}: not a finished sweep directory (manifest.json / candidates.json: {exc})") from None
    settings = {**load_settings(settings_file)}
    for key, val in (("top", top), ("stages_s", stages_s), ("gate", gate), ("min_coverage", min_coverage)):
        if val is not None:
            settings[key] = list(val) if key == "stages_s" else val
    _check(settings)
    gate_spec = settings.get("gate") or manifest.get("gate")
    if not gate_spec:
        raise ConfigError("validation needs a gate (validation.gate, --gate, or the sweep's own gate)")
    the_gate = as_gate(gate_spec)
    run = manifest["settings"]
    same_data = recording is None
    rec = load(recording if recording is not None else manifest["recording"])
    t0 = (run.get("end") or rec.manifest.end_ns) if same_data else rec.manifest.start_ns
    strategy = get_strategy(manifest["strategy"], **manifest.get("strategy_options", {}))
    alive = [{"param_id": c["param_id"], "params": c["params"], "stages": [], "stopped": None}
             for c in cands["candidates"][:settings["top"]]]
    stages = []
    for k, length in enumerate(settings["stages_s"]):
        start, end = t0, t0 + int(float(length) * 1e9)
        covered = (min(end, rec.manifest.end_ns) - start) / (end - start)
        stage = {"stage": k + 1, "window_s": float(length), "start_ns": int(start), "end_ns": int(end),
                 "coverage": max(0.0, covered), "passed": []}
        stages.append(stage)
        todo = [c for c in alive if c["stopped"] is None]
        if not todo:
            continue
        if covered < settings["min_coverage"]:
            for c in todo:
                c["stopped"] = (f"stage {k + 1}: the data covers {max(covered, 0.0):.0%} of the next {length:g} s "
                                f"(needs {settings['min_coverage']:.0%})")
            continue
        results = replay_batch(rec, strategy, [c["params"] for c in todo], fill=run.get("fill"),
                               latency=run.get("latency"), guards=run.get("guards"), seeds=int(run.get("seed", 0)),
                               start=start, end=end, allow_crossed=bool(run.get("allow_crossed", False)))
        for c, res in zip(todo, results):
            verdict = evaluate(res, gate=the_gate).gates[0]
            c["stages"].append({"stage": k + 1, "verdict": verdict["verdict"], "reason": verdict["reason"],
                                "total_pnl": res.pnl, "fills": int(len(res.fills)), "fills_hash": res.fills_hash})
            if verdict["passed"]:
                stage["passed"].append(c["param_id"])
            else:
                c["stopped"] = f"stage {k + 1} ({length:g} s): {verdict['reason']}"
    survivors = [c["param_id"] for c in alive if c["stopped"] is None]
    report = {"sweep_dir": str(d), "recording": str(rec.path), "out_of_sample_from_ns": int(t0),
              "gate": the_gate.name, "settings": settings, "stages": stages, "candidates": alive,
              "verdict": "GO" if survivors else "NO-GO", "go_candidates": survivors,
              "reasons": ([f"{len(survivors)} candidate(s) passed all {len(stages)} stages"] if survivors else
                          [f"{c['param_id']}: {c['stopped']}" for c in alive] or ["no candidates in the sweep"])}
    tmp = d / f"validation.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(report, indent=1, default=float) + "\n")
    os.replace(tmp, d / "validation.json")
    return report

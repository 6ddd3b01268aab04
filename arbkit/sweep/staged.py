"""Staged validation of a sweep's candidates: stages with their own length, gate and top-N; GO / NO-GO.

The stages come from ``arbkit/conf/validation/<name>.yaml`` (docs/validation.md): each has a
duration, a gate (with extra thresholds for replayed or live stages) and how many candidates
it takes. Stage 1 takes the best ``top`` of ``candidates.json``; each later stage takes the
best ``top`` of those that passed the stage before, ranked by the strategy's rank keys on
that stage's own results. GO when at least one candidate passes every stage, else NO-GO
with the reason each candidate stopped.

Where the stages run:

* **forward** (default): on a recording, stage 1 on the data right after the sweep's data
  window, each later stage on the data right after the previous one;
* **nested**: every stage starts at the same time, each window longer than the last;
* **paper**: each stage a live paper run (``arbkit.live.paper_stages``, ``--paper``): the
  candidates of a stage trade side by side on one live feed.

Data that overlaps the sweep's window (in-sample) is refused, or with ``allow_in_sample``
labelled ``in_sample: true`` in every output. Each stage writes ``summary_<duration>.json``
and one ``runs/<run_id>_kpi.json`` per candidate run (schemas in ``arbkit/conf/schemas``);
``validation.json`` holds the whole journey and the verdict. Run ids are
``<prefix>-<duration>-<label>-<timestamp>``, the label from the strategy's ``run_label`` hook
(the arbitrage's: ``E<entry_bps>_TP<tp_bps>``).
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import polars as pl

from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError
from arbkit.core.json_file import write_json
from arbkit.core.version import code_version
from arbkit.core.yaml_file import read_yaml_mapping
from arbkit.io.recording import load
from arbkit.kpi.evaluation import as_gate, evaluate
from arbkit.kpi.gates import Gate, Threshold
from arbkit.kpi.ops import replay_timing_kpis
from arbkit.run.replay import replay_batch
from arbkit.strategies import get_strategy
from arbkit.sweep.candidates import Candidate, CandidateFile, iso
from arbkit.sweep.candidates import load as load_candidates
from arbkit.sweep.ranking import rank

SETTINGS_DIR = conf_path("validation")
SETTINGS_KEYS = {"name", "prefix", "min_coverage", "stages"}
STAGE_KEYS = {"duration", "duration_s", "top", "gate", "replay_gate", "paper_gate", "timeout_s"}
#: the KPIs every stage summary shows for each candidate (besides the terms of the stage's gate)
SUMMARY_KPIS = ("round_trips", "win_rate_pct", "total_pnl", "fills", "max_drawdown", "avg_pnl_per_rt")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")
_UNIT_S = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class InSampleError(ConfigError):
    """A stage's data overlaps the sweep's data window and in-sample data was not allowed."""


# -- settings --------------------------------------------------------------------------------------

def parse_duration(value: Any, where: str) -> float:
    """Seconds from a number (seconds) or text such as ``90s``, ``10m``, ``1.5h``."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(f"{where}: {value!r} is not a duration (seconds, or e.g. 90s, 10m, 1h)")
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"{where}: a duration must be positive, got {value!r}")
    return seconds


def duration_label(seconds: float) -> str:
    """``10m``, ``1h``, ``90s`` (whole hours, then whole minutes, else seconds)."""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class StageSpec:
    """One stage: how long, how many candidates, and the gate they must pass."""

    number: int
    duration_s: float
    top: int
    gate: Gate
    replay_gate: tuple[Threshold, ...] = ()  # added when the stage is replayed
    paper_gate: tuple[Threshold, ...] = ()  # added when the stage runs live (paper)
    timeout_s: float | None = None  # wall-time budget of one run; longer is status "timeout"

    @property
    def label(self) -> str:
        """The duration as file names show it (``10m``)."""
        return duration_label(self.duration_s)

    def gate_for(self, paper: bool) -> Gate:
        """The stage's gate with the thresholds of the mode it runs in."""
        extra = self.paper_gate if paper else self.replay_gate
        return Gate(self.gate.name, self.gate.thresholds + tuple(extra))


@dataclass(frozen=True)
class Settings:
    """A validation settings file: run-id prefix, data coverage a replayed stage needs, the stages."""

    name: str
    prefix: str
    min_coverage: float
    stages: tuple[StageSpec, ...]
    source: str


def _thresholds(value: Any, where: str) -> tuple[Threshold, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of thresholds such as 'round_trips >= 5'")
    return tuple(Threshold.parse(t, f"{where}[{i}]") for i, t in enumerate(value))


def _stage_gate(value: Any, where: str, number: int) -> Gate:
    if isinstance(value, (list, tuple)):
        return Gate(f"stage{number}", _thresholds(value, where))
    if isinstance(value, Mapping):
        return Gate.from_dict({"name": value.get("name", f"stage{number}"), **{k: v for k, v in value.items()
                                                                               if k != "name"}}, where=where)
    if isinstance(value, str):
        return as_gate(value)
    raise ConfigError(f"{where}: a gate is a list of thresholds, a {{name, thresholds}} mapping or a gate name")


def settings_from_dict(data: Mapping[str, Any], where: str) -> Settings:
    """Settings from a mapping (the YAML file's contents); a ConfigError naming the key when one is wrong."""
    unknown = sorted(set(data) - SETTINGS_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(SETTINGS_KEYS)}")
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{where}: 'stages' must be a non-empty list of {{duration, top, gate}}")
    cov = data.get("min_coverage", 0.9)
    if isinstance(cov, bool) or not isinstance(cov, (int, float)) or not 0 < cov <= 1:
        raise ConfigError(f"{where}: min_coverage must be in (0, 1], got {cov!r}")
    prefix = str(data.get("prefix", "val"))
    if not re.fullmatch(r"[A-Za-z0-9_.]+", prefix):
        raise ConfigError(f"{where}: prefix must be letters, digits, '_' or '.', got {prefix!r}")
    out = []
    for i, st in enumerate(stages):
        w = f"{where}: stages[{i}]"
        if not isinstance(st, Mapping):
            raise ConfigError(f"{w}: expected a mapping with duration, top and gate")
        bad = sorted(set(st) - STAGE_KEYS)
        if bad:
            raise ConfigError(f"{w}: unknown key(s) {bad}; known: {sorted(STAGE_KEYS)}")
        if ("duration" in st) == ("duration_s" in st):
            raise ConfigError(f"{w}: give one of duration (e.g. 10m) or duration_s")
        dur = parse_duration(st.get("duration", st.get("duration_s")), f"{w}.duration")
        top = st.get("top")
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ConfigError(f"{w}.top: must be a positive integer, got {top!r}")
        if "gate" not in st:
            raise ConfigError(f"{w}: needs a gate (thresholds such as 'round_trips >= 5')")
        timeout = st.get("timeout_s")
        if timeout is not None:
            timeout = parse_duration(timeout, f"{w}.timeout_s")
        out.append(StageSpec(i + 1, dur, top, _stage_gate(st["gate"], f"{w}.gate", i + 1),
                             _thresholds(st.get("replay_gate"), f"{w}.replay_gate"),
                             _thresholds(st.get("paper_gate"), f"{w}.paper_gate"), timeout))
    return Settings(str(data.get("name", where)), prefix, float(cov), tuple(out), where)


def load_settings(spec: str | Path | Mapping[str, Any] | Settings | None = None) -> Settings:
    """Settings by name (``arbkit/conf/validation/<name>.yaml``), YAML path or mapping; default ``default``."""
    if isinstance(spec, Settings):
        return spec
    if isinstance(spec, Mapping):
        return settings_from_dict(spec, "validation settings")
    name = "default" if spec is None else str(spec)
    p = Path(name)
    if not p.suffix:
        p = SETTINGS_DIR / f"{name}.yaml"
        if not p.is_file():
            known = sorted(x.stem for x in SETTINGS_DIR.glob("*.yaml"))
            raise ConfigError(f"validation settings {name!r}: no such file {p} (known: {known})")
    data = read_yaml_mapping(p, "validation settings", "a mapping with prefix, min_coverage and stages")
    return settings_from_dict(data, str(p))


# -- runs ------------------------------------------------------------------------------------------

@dataclass
class StageRun:
    """One candidate's run in one stage, as a stage runner returns it."""

    result: Any = None  # the RunResult; None when the run failed
    status: str | None = None  # "error" / "timeout"; None: ok or no_trades, decided from the result
    error: str | None = None
    ops: dict[str, Any] = field(default_factory=dict)  # operations KPIs measured outside the result
    wall_s: float | None = None
    window: tuple[int | None, int | None] = (None, None)  # the data the run saw [start_ns, end_ns)


#: ``runner(stage, [(run_id, params)], out_dir) -> [StageRun]`` in the same order
StageRunner = Callable[[StageSpec, Sequence[tuple[str, Mapping[str, float]]], Path], Sequence[StageRun]]


@dataclass
class ReplayStages:
    """Replays each stage's candidates on its window of a recording in one batched pass."""

    recording: Any
    strategy: Any
    settings: Mapping[str, Any]  # fill, latency, guards, seed, allow_crossed, mark, allow_short, rewards
    windows: Mapping[int, tuple[int, int]]  # stage number -> [start_ns, end_ns)

    def __call__(self, stage: StageSpec, jobs: Sequence[tuple[str, Mapping[str, float]]], out_dir: Path
                 ) -> list[StageRun]:
        start, end = self.windows[stage.number]
        s = self.settings
        t0 = time.perf_counter()
        try:
            results = replay_batch(self.recording, self.strategy, [dict(p) for _, p in jobs], fill=s.get("fill"),
                                   latency=s.get("latency"), guards=s.get("guards"), seeds=int(s.get("seed", 0)),
                                   start=start, end=end, **({"allow_crossed": True} if s.get("allow_crossed") else {}),
                                   mark=s.get("mark") or "mid", allow_short=s.get("allow_short"),
                                   rewards=s.get("rewards"))
        except Exception as exc:  # a replay that fails is that stage's runs' error, not the validation's end
            return [StageRun(status="error", error=f"{type(exc).__name__}: {exc}", window=(start, end)) for _ in jobs]
        wall = time.perf_counter() - t0
        out = []
        for res in results:
            late = stage.timeout_s is not None and wall > stage.timeout_s
            out.append(StageRun(res, "timeout" if late else None,
                                f"the pass took {wall:.1f} s, over the stage's timeout_s {stage.timeout_s:g}" if late
                                else None, replay_timing_kpis(res), wall, (start, end)))
        return out


# -- the plan ----------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What a validation will do: stages with their windows, the candidates of stage 1, where files go."""

    candidates_file: CandidateFile
    strategy: Any
    strategy_name: str
    run_settings: dict[str, Any]
    settings: Settings
    mode: str  # forward / nested / paper
    out_dir: Path
    candidates: list[Candidate]
    timestamp: str
    recording: Any = None
    windows: dict[int, tuple[int, int]] = field(default_factory=dict)
    coverage: dict[int, float] = field(default_factory=dict)
    overlap_s: dict[int, float] = field(default_factory=dict)
    allow_in_sample: bool = False

    @property
    def in_sample(self) -> bool:
        """True when some stage's data overlaps the sweep's window."""
        return any(v > 0 for v in self.overlap_s.values())

    def refusal(self) -> str | None:
        """Why the validation may not run (in-sample data without ``allow_in_sample``), else None."""
        if self.allow_in_sample or not self.in_sample:
            return None
        s0, s1 = self.candidates_file.window
        k = next(k for k, v in sorted(self.overlap_s.items()) if v > 0)
        a, b = self.windows[k]
        return (f"stage {k}'s data [{iso(a)}, {iso(b)}) overlaps the sweep's data window [{iso(s0)}, {iso(s1)}) "
                f"by {self.overlap_s[k]:g} s: that is in-sample. Give data after the sweep's (--recording), "
                f"or --allow-in-sample to run it labelled in-sample")

    def run_id(self, stage: StageSpec, cand: Candidate, others: Sequence[Candidate]) -> str:
        """``<prefix>-<duration>-<label>-<timestamp>``; a set whose label another shares gets its id's head."""
        label = self.label(cand)
        if any(self.label(o) == label and o.params != cand.params for o in others):
            label += f"_{(cand.param_id or str(cand.rank))[:6]}"
        return f"{self.settings.prefix}-{stage.label}-{label}-{self.timestamp}"

    def label(self, cand: Candidate) -> str:
        """The strategy's ``run_label`` of the candidate's parameters, else the parameters that vary."""
        full = {**self.strategy.params, **cand.params}
        if self.strategy.run_label is not None:
            text = self.strategy.run_label(full)
        else:
            vary = [k for k in cand.params if len({c.params.get(k) for c in self.candidates}) > 1]
            text = "_".join(f"{k}{cand.params[k]:g}" for k in vary) or (cand.param_id or f"R{cand.rank}")[:8]
        return re.sub(r"[^A-Za-z0-9_.+=-]", "_", text)

    def describe(self) -> dict[str, Any]:
        """The plan as plain data (what ``--dry-run`` prints)."""
        stages = []
        for st in self.settings.stages:
            w = self.windows.get(st.number)
            stages.append({
                "stage": st.number, "duration_s": st.duration_s, "label": st.label, "top": st.top,
                "gate": [str(t) for t in st.gate_for(self.mode == "paper").thresholds],
                "window": None if w is None else {"start_ns": w[0], "end_ns": w[1], "start": iso(w[0]),
                                                  "end": iso(w[1])},
                "coverage": self.coverage.get(st.number), "in_sample_overlap_s": self.overlap_s.get(st.number, 0.0),
                "summary_file": str(self.out_dir / summary_name(self.settings.stages, st)),
            })
        first = self.settings.stages[0]
        picked = self.candidates[:first.top]
        return {
            "candidates_file": str(self.candidates_file.path), "strategy": self.strategy_name, "mode": self.mode,
            "recording": None if self.recording is None else str(self.recording.path),
            "sweep_window": window_doc(self.candidates_file.window), "settings": self.settings.source,
            "out_dir": str(self.out_dir), "in_sample": self.in_sample, "refused": self.refusal(),
            "stages": stages,
            "stage1_runs": [{"run_id": self.run_id(first, c, picked), "rank": c.rank, "param_id": c.param_id,
                             "params": c.params} for c in picked],
        }


def window_doc(w: tuple[int | None, int | None]) -> dict[str, Any]:
    """``{start_ns, end_ns, start, end}`` of a window."""
    return {"start_ns": w[0], "end_ns": w[1], "start": iso(w[0]), "end": iso(w[1])}


def _stage_name(stages: Sequence[StageSpec], stage: StageSpec) -> str:
    shared = sum(1 for s in stages if s.label == stage.label) > 1
    return f"{stage.label}{f'-s{stage.number}' if shared else ''}"


def summary_name(stages: Sequence[StageSpec], stage: StageSpec) -> str:
    """``summary_<duration>.json``; ``summary_<duration>-s<k>.json`` when two stages share a duration."""
    return f"summary_{_stage_name(stages, stage)}.json"


def paper_dir_name(stages: Sequence[StageSpec], stage: StageSpec) -> str:
    """A live stage's paper run directory: ``paper_<duration>`` (``-s<k>`` as for the summary)."""
    return f"paper_{_stage_name(stages, stage)}"


def _overlap_s(a: tuple[int, int], b: tuple[int, int]) -> float:
    return max(0, min(a[1], b[1]) - max(a[0], b[0])) / 1e9


def plan_validation(candidates: str | Path, *, recording: str | Path | None = None,
                    settings: str | Path | Mapping[str, Any] | Settings | None = None, nested: bool = False,
                    paper: bool = False, allow_in_sample: bool = False, out_dir: str | Path | None = None,
                    start_ns: int | None = None, strategy: str | None = None,
                    run_settings: Mapping[str, Any] | None = None, prefix: str | None = None) -> Plan:
    """Read the candidates and settings and lay out the stages (see the module doc); runs nothing."""
    cf = load_candidates(candidates)
    meta = cf.metadata
    name = strategy or meta.get("strategy")
    if not name:
        raise ConfigError(f"{cf.path}: metadata names no strategy; give one (--strategy)")
    strat = get_strategy(name, **(meta.get("strategy_options") or {}))
    cands = sorted(cf.candidates(strat), key=lambda c: c.rank)
    if not cands:
        raise ConfigError(f"{cf.path}: no candidates to validate")
    st = load_settings(settings)
    if prefix is not None:
        if not re.fullmatch(r"[A-Za-z0-9_.]+", prefix):
            raise ConfigError(f"--prefix must be letters, digits, '_' or '.', got {prefix!r}")
        st = replace(st, prefix=prefix)
    if nested and paper:
        raise ConfigError("--nested and --paper do not go together: live stages follow each other")
    mode = "paper" if paper else "nested" if nested else "forward"
    run = {**(meta.get("settings") or {}), **{k: v for k, v in (run_settings or {}).items() if v is not None}}
    out = Path(out_dir) if out_dir is not None else cf.path.parent / "validation"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    plan = Plan(cf, strat, name, run, st, mode, out, cands, stamp, allow_in_sample=allow_in_sample)
    if paper:
        return plan
    rec = load(recording if recording is not None else meta["recording"]["path"])
    plan.recording = rec
    r0, r1 = rec.manifest.start_ns, rec.manifest.end_ns + 1
    s0, s1 = cf.window
    t = start_ns if start_ns is not None else (s1 if r0 < s1 < r1 else r0)
    for stage in st.stages:
        length = int(round(stage.duration_s * 1e9))
        plan.windows[stage.number] = (t, t + length)
        a, b = plan.windows[stage.number]
        plan.coverage[stage.number] = max(0.0, (min(b, r1) - max(a, r0)) / (b - a))
        plan.overlap_s[stage.number] = _overlap_s((a, b), (s0, s1))
        if not nested:
            t += length
    return plan


# -- running ---------------------------------------------------------------------------------------

def _status(res: Any) -> str:
    return "ok" if res.n_trades else "no_trades"


def _summary_kpis(total: Mapping[str, Any], gate_result: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {k: total.get(k) for k in SUMMARY_KPIS}
    for th in (gate_result or {}).get("thresholds", []):
        out.setdefault(th["threshold"].split()[0], th["value"])
    return out


def _ranked(rows: list[dict[str, Any]], keys: Sequence[tuple[str, bool]]) -> list[str]:
    """The run ids of ``rows`` best first by ``keys`` (then their order so far)."""
    if not rows:
        return []
    table = pl.DataFrame([{"run_id": r["run_id"], "order": float(i), **{k: r.get(k) for k, _ in keys}}
                          for i, r in enumerate(rows)], infer_schema_length=None)
    return rank(table, [*keys, ("order", False)])["run_id"].to_list()


def run_validation(plan: Plan, runner: StageRunner | None = None) -> dict[str, Any]:
    """Run the planned stages (``runner``: a live stage runner for paper mode; default: replays); returns the
    report that ``validation.json`` holds."""
    refused = plan.refusal()
    if refused:
        raise InSampleError(refused)
    if runner is None:
        if plan.mode == "paper":
            raise ConfigError("paper stages need a live stage runner (arbkit validate-candidates --paper)")
        runner = ReplayStages(plan.recording, plan.strategy, plan.run_settings, plan.windows)
    stages = plan.settings.stages
    out = plan.out_dir
    (out / "runs").mkdir(parents=True, exist_ok=True)
    journeys = {id(c): {"rank": c.rank, "param_id": c.param_id, "params": c.params, "stages": [], "stopped": None}
                for c in plan.candidates}
    alive = list(plan.candidates[:stages[0].top])
    for c in plan.candidates[stages[0].top:]:
        journeys[id(c)]["stopped"] = f"not in the top {stages[0].top} of candidates.json"
    stage_docs = []
    for k, stage in enumerate(stages):
        if not alive:
            break
        paper = plan.mode == "paper"
        gate = stage.gate_for(paper)
        run_ids = [plan.run_id(stage, c, alive) for c in alive]
        covered = plan.coverage.get(stage.number, 1.0)
        if not paper and covered < plan.settings.min_coverage:
            why = (f"not run: the recording covers {covered:.0%} of stage {stage.number}'s window "
                   f"(needs {plan.settings.min_coverage:.0%})")
            runs = [StageRun(status="error", error=why, window=plan.windows[stage.number]) for _ in alive]
        else:
            runs = list(runner(stage, list(zip(run_ids, [c.params for c in alive])), out))
        rows, entries = [], []
        for cand, run_id, run in zip(alive, run_ids, runs):
            entry = _judge(plan, stage, gate, cand, run_id, run)
            entries.append(entry)
            if entry["verdict"] == "PASS":
                rows.append({"run_id": run_id, **entry.pop("_row")})
            else:
                entry.pop("_row")
        nxt = stages[k + 1] if k + 1 < len(stages) else None
        order = _ranked(rows, plan.strategy.rank_keys)
        keep = set(order[:nxt.top]) if nxt is not None else set(order)
        for cand, entry in zip(alive, entries):
            entry["advanced"] = entry["run_id"] in keep
            j = journeys[id(cand)]
            j["stages"].append({"stage": stage.number, "run_id": entry["run_id"], "status": entry["status"],
                                "verdict": entry["verdict"], "reason": entry["reason"],
                                "total_pnl": entry["kpi_summary"].get("total_pnl"),
                                "fills": entry["kpi_summary"].get("fills")})
            if entry["verdict"] != "PASS":
                j["stopped"] = f"stage {stage.number} ({stage.label}): {entry['reason']}"
            elif not entry["advanced"]:
                j["stopped"] = f"stage {stage.number} ({stage.label}): passed, but not in the best {nxt.top} for stage " \
                               f"{nxt.number}"
        doc = _stage_summary(plan, stage, gate, entries, runs)
        name = summary_name(stages, stage)
        write_json(out / name, doc, "stage_summary")
        stage_docs.append({"stage": stage.number, "label": stage.label, "summary": name,
                           "window": doc["metadata"]["window"], "in_sample": doc["metadata"]["in_sample"],
                           "top": stage.top,
                           "gate": doc["metadata"]["gate"], "ran": [e["run_id"] for e in entries],
                           "passed": [e["run_id"] for e in entries if e["verdict"] == "PASS"],
                           "advanced": [e["run_id"] for e in entries if e["advanced"]]})
        by_id = {e["run_id"]: c for c, e in zip(alive, entries)}
        alive = [by_id[r] for r in order if r in keep]
    go = [j for j in journeys.values() if j["stopped"] is None and len(j["stages"]) == len(stages)]
    for j in journeys.values():
        if j["stopped"] is None and len(j["stages"]) < len(stages):
            j["stopped"] = "no stage left to run it"
    in_sample = plan.in_sample or any(d["in_sample"] for d in stage_docs)
    report = {
        "candidates_file": str(plan.candidates_file.path), "strategy": plan.strategy_name, "mode": plan.mode,
        "recording": None if plan.recording is None else str(plan.recording.path),
        "settings": plan.settings.source, "sweep_window": window_doc(plan.candidates_file.window),
        "in_sample": in_sample, "out_dir": str(out), "stages": stage_docs,
        "candidates": list(journeys.values()), "verdict": "GO" if go else "NO-GO",
        "go_candidates": [j["stages"][-1]["run_id"] for j in go],
        "reasons": ([f"{len(go)} candidate(s) passed all {len(stages)} stages"
                     + (" (IN-SAMPLE data)" if in_sample else "")] if go else
                    [f"rank {j['rank']} ({j['param_id']}): {j['stopped']}" for j in journeys.values()
                     if j["stages"]] or ["no candidates"]),
        "created_at": datetime.now(timezone.utc).isoformat(), "code_version": code_version(),
    }
    write_json(out / "validation.json", report)
    return report


def _judge(plan: Plan, stage: StageSpec, gate: Gate, cand: Candidate, run_id: str, run: StageRun) -> dict[str, Any]:
    """Evaluate one run, write its ``runs/<run_id>_kpi.json``; the stage summary's entry for it."""
    window = run.window
    overlap = _overlap_s((window[0], window[1]), plan.candidates_file.window) if None not in window else 0.0
    in_sample = overlap > 0
    ev = None
    status = run.status
    error = run.error
    if run.result is not None:
        try:
            ev = evaluate(run.result, gate=gate, strategy=plan.strategy, ops=run.ops)
        except Exception as exc:  # a KPI that cannot be computed is this run's error
            status, error = "error", f"evaluation failed: {type(exc).__name__}: {exc}"
    if status is None:
        status = _status(run.result) if ev is not None else "error"
    gate_result = ev.gates[0] if ev is not None else None
    if status in ("error", "timeout"):
        verdict, reason = "FAIL", f"{status}: {error}"
    else:
        verdict, reason = gate_result["verdict"], gate_result["reason"]
    total = dict(ev.total) if ev is not None else {}
    kpi_doc = {
        "schema_version": 1, "run_id": run_id, "stage": stage.number, "duration_s": stage.duration_s,
        "param_id": cand.param_id, "rank": cand.rank, "strategy": plan.strategy_name,
        "params": {**plan.strategy.params, **cand.params} if ev is None else dict(run.result.params),
        "window": window_doc(window), "in_sample": in_sample, "status": status, "error": error,
        "wall_s": run.wall_s,
        "kpis": {} if ev is None else {"total": total, "instruments": ev.kpis["instruments"],
                                       "counters": ev.kpis["counters"]},
        "ops": dict(ev.ops) if ev is not None else dict(run.ops), "edge": ev.edge if ev is not None else None,
        "gate": gate_result, "fills_hash": run.result.fills_hash if run.result is not None else None,
        "events": int(run.result.counters["events"]) if run.result is not None else None,
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    kpi_path = f"runs/{run_id}_kpi.json"
    write_json(plan.out_dir / kpi_path, kpi_doc, "run_kpi")
    return {"run_id": run_id, "param_id": cand.param_id, "rank": cand.rank, "params": kpi_doc["params"],
            "kpi_path": kpi_path, "kpi_summary": _summary_kpis(total, gate_result), "status": status,
            "verdict": verdict, "reason": reason, "error": error, "in_sample": in_sample,
            "_row": ev.row() if ev is not None else {}}


def _stage_summary(plan: Plan, stage: StageSpec, gate: Gate, entries: list[dict[str, Any]],
                   runs: Sequence[StageRun]) -> dict[str, Any]:
    starts = [r.window[0] for r in runs if r.window[0] is not None]
    ends = [r.window[1] for r in runs if r.window[1] is not None]
    window = window_doc((min(starts) if starts else None, max(ends) if ends else None))
    window["coverage"] = plan.coverage.get(stage.number)
    in_sample = any(e["in_sample"] for e in entries) or plan.overlap_s.get(stage.number, 0.0) > 0
    done = [e for e in entries if e["status"] in ("ok", "no_trades")]
    rec = plan.recording
    data = ({"recording": str(rec.path), "parts_sha256": [p.sha256 for p in rec.manifest.parts]} if rec is not None
            else {"paper_run": str(plan.out_dir / paper_dir_name(plan.settings.stages, stage))})
    return {
        "metadata": {
            "schema_version": 1, "stage": stage.number, "stages": len(plan.settings.stages),
            "duration_s": stage.duration_s, "duration_label": stage.label, "mode": plan.mode, "window": window,
            "in_sample": in_sample, "in_sample_overlap_s": plan.overlap_s.get(stage.number, 0.0), "top": stage.top,
            "gate": {"name": gate.name, "thresholds": [str(t) for t in gate.thresholds]},
            "strategy": plan.strategy_name, "settings": plan.run_settings,
            "candidates_file": str(plan.candidates_file.path), "candidates_sha256": plan.candidates_file.sha256,
            "data": data, "sweep_window": window_doc(plan.candidates_file.window), "run_prefix": plan.settings.prefix,
            "created_at": datetime.now(timezone.utc).isoformat(), "code_version": code_version(),
        },
        "candidates": entries,
        "summary_stats": {
            "total_runs": len(entries), "successful_runs": len(done),
            "failed_runs": sum(1 for e in entries if e["status"] in ("error", "timeout")),
            "no_trade_runs": sum(1 for e in entries if e["status"] == "no_trades"),
            "passed": sum(1 for e in entries if e["verdict"] == "PASS"),
            "round_trips": int(sum(e["kpi_summary"].get("round_trips") or 0 for e in done)),
            "total_pnl": float(sum(e["kpi_summary"].get("total_pnl") or 0.0 for e in done)),
        },
    }


def validate_candidates(candidates: str | Path, *, runner: StageRunner | None = None, **plan_options: Any
                        ) -> dict[str, Any]:
    """Plan (:func:`plan_validation`, same options; a ``runner`` means live paper stages) and run the stages;
    the report (also written to ``validation.json``)."""
    return run_validation(plan_validation(candidates, paper=runner is not None, **plan_options), runner)

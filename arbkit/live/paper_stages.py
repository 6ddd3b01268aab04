"""Staged validation's live stages: each stage one paper run, its candidates side by side on one feed.

:class:`PaperStages` is the stage runner ``arbkit validate-candidates --paper`` hands to
:func:`arbkit.sweep.staged.run_validation`. A stage runs for its duration as one
:class:`~arbkit.live.paper.PaperRun` in ``OUT/paper_<duration>/``: the first candidate is the
run's own parameter set, the others trade beside it, each with its own engine and account on
the same batches of the same live feed. The stages follow each other, so each sees the data
after the previous one. Each candidate's result comes with this process's live figures: its
own loop and quote latency, and the process's CPU, memory and log records of the stage.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.kpi.ops import paper_ops_kpis
from arbkit.live.paper import MAIN, PaperRun
from arbkit.live.record.recorder import RecorderError, VenueSpec
from arbkit.run.config import RunConfig
from arbkit.sweep.staged import Plan, StageRun, StageSpec, paper_dir_name


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class PaperStages:
    """Runs each validation stage live (see the module doc)."""

    def __init__(self, venues: Sequence[VenueSpec], plan: Plan, *, flush_s: float = 0.5, silence_s: float = 15.0,
                 grace_s: float = 30.0, **recorder_options: Any) -> None:
        self.venues = list(venues)
        self.plan = plan
        self.flush_s, self.silence_s, self.grace_s = flush_s, silence_s, grace_s
        self.recorder_options = recorder_options

    def config(self, params: Mapping[str, float]) -> RunConfig:
        """The run config of one candidate: the plan's strategy and settings, its parameters."""
        s = self.plan.run_settings
        meta = self.plan.candidates_file.metadata
        return RunConfig(strategy=self.plan.strategy_name, strategy_options=dict(meta.get("strategy_options") or {}),
                         params=dict(params), fill=dict(s.get("fill") or {}), latency=dict(s.get("latency") or {}),
                         guards=dict(s.get("guards") or {}), seed=int(s.get("seed", 0)),
                         mark=s.get("mark") or "mid", allow_short=s.get("allow_short"),
                         rewards=dict(s["rewards"]) if s.get("rewards") else None)

    def __call__(self, stage: StageSpec, jobs: Sequence[tuple[str, Mapping[str, float]]], out_dir: Path
                 ) -> list[StageRun]:
        run_dir = Path(out_dir) / paper_dir_name(self.plan.settings.stages, stage)
        names = {run_id: (MAIN if i == 0 else run_id) for i, (run_id, _) in enumerate(jobs)}
        first = jobs[0][1]
        others = {run_id: dict(p) for run_id, p in jobs[1:]}
        t0 = time.monotonic()
        try:
            run = PaperRun(self.config(first), self.venues, run_dir, duration_s=stage.duration_s, flush_s=self.flush_s,
                           silence_s=self.silence_s, overwrite=True, status=False, candidates=others,
                           **self.recorder_options)
            run.run()
        except (RecorderError, OSError) as exc:
            return [StageRun(status="error", error=f"paper run failed: {exc}") for _ in jobs]
        wall = time.monotonic() - t0
        limit = stage.timeout_s if stage.timeout_s is not None else stage.duration_s + self.grace_s
        process = paper_ops_kpis(_jsonl(run_dir / "ops.jsonl"), _jsonl(run_dir / "paper.log"))
        out = []
        for run_id, _ in jobs:
            res = run.results.get(names[run_id])
            ops = {**{k: v for k, v in process.items() if not k.startswith(("loop_", "quote_"))},
                   **run.live_ops(names[run_id])}
            if res is None or run.errors:
                out.append(StageRun(status="error", error="; ".join(run.errors) or "the paper run produced no result",
                                    ops=ops, wall_s=wall))
                continue
            late = wall > limit
            out.append(StageRun(res, "timeout" if late else None,
                                f"the stage took {wall:.1f} s (wall), over {limit:g} s" if late else None,
                                ops, wall, (int(res.span_ns[0]), int(res.span_ns[1]) + 1)))
        return out

"""Where a campaign's runs come from: a window of a recording (offline) or a paper run on live data (live).

Both give the same record (``runs/<run_id>.result.json``): the run's window, fills, fills_hash
and its KPIs (the standard total block, flat, plus :mod:`arbkit.kpi.campaign`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from arbkit.core.errors import ConfigError
from arbkit.io.recording import load
from arbkit.kpi.campaign import campaign_kpis
from arbkit.kpi.evaluation import evaluate, flat_kpis
from arbkit.run.config import RunConfig
from arbkit.run.result import RunResult


def run_record(result: RunResult, *, inventory_limit: float | None) -> dict[str, Any]:
    """A finished run's figures: window, fills, fills_hash, KPIs (flat: standard total and campaign)."""
    ev = evaluate(result)
    spec = result.spec
    kpis = flat_kpis(ev.total)
    kpis.update(campaign_kpis(result, total_pnl=float(ev.total["total_pnl"]), inventory_limit=inventory_limit,
                              internals=getattr(spec, "internals", None)))
    return {"start_ns": int(result.span_ns[0]), "end_ns": int(result.span_ns[1]), "events": int(result.counters["events"]),
            "fills": int(len(result.fills)), "fills_hash": result.fills_hash, "kpis": kpis,
            "notices": list(result.notices)}


class OfflineSource:
    """Each run replays the next window of one recording (consecutive windows are the periods; the windows
    start over at the recording's start when the next one would run past its end)."""

    def __init__(self, source: Mapping[str, Any], durations_s: tuple[float, ...]) -> None:
        self.recording = str(source["recording"])
        rec = load(self.recording)
        self.start_ns = int(source.get("start_ns") or rec.manifest.start_ns)
        self.end_ns = int(rec.manifest.end_ns)
        span_s = (self.end_ns - self.start_ns) / 1e9
        if durations_s[-1] > span_s:
            raise ConfigError(f"durations_s: the longest run ({durations_s[-1]:g} s) is longer than the recording "
                              f"from its start ({span_s:.1f} s)")

    def window(self, cursor_ns: int | None, duration_s: float) -> tuple[int, int]:
        """The next window of ``duration_s`` from ``cursor_ns`` (the recording's start when it would not fit)."""
        dur = int(round(duration_s * 1e9))
        start = self.start_ns if cursor_ns is None else int(cursor_ns)
        if start + dur > self.end_ns + 1:
            start = self.start_ns
        return start, start + dur

    def run(self, config: Mapping[str, Any], run_dir: Path, inventory_limit: float | None) -> dict[str, Any]:
        """Replay the window the config names; the run's record."""
        result = RunConfig.from_dict(config, where=str(run_dir)).replay(self.recording)
        record = run_record(result, inventory_limit=inventory_limit)
        record["recording"] = self.recording
        return record


class LiveSource:
    """Each run is a paper run on live data for the rung's duration (``arbkit paper`` under its supervisor)."""

    def __init__(self, source: Mapping[str, Any], durations_s: tuple[float, ...]) -> None:
        raise ConfigError("source.kind live: live campaigns are not available in this version (use kind: offline)")

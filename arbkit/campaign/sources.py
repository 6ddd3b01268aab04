"""Where a campaign's runs come from: a window of a recording (offline) or a paper run on live data (live).

Both give the same record (``runs/<run_id>.result.json``): the run's window, fills, fills_hash
and its KPIs (the standard total block, flat, plus :mod:`arbkit.kpi.campaign`). A live run's
record adds the paper run's wall-clock KPIs (``LIVE_KPIS``: quote latency, RSS and its slope)
and its RSS series; an offline run has them as None (a replay has no wall clock).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from arbkit.campaign.store import write_json
from arbkit.core.errors import ConfigError
from arbkit.io.lock import LOCK_NAME, DirectoryLock, DirectoryLocked
from arbkit.io.recording import load
from arbkit.kpi.campaign import LIVE_KPIS, campaign_kpis, live_kpis, market_pnl_vs_single
from arbkit.kpi.evaluation import evaluate, flat_kpis
from arbkit.kpi.markets import market_kpis
from arbkit.kpi.ops import rss_series
from arbkit.live.run_ops import read_jsonl
from arbkit.run.config import RunConfig, read_yaml
from arbkit.run.result import RunResult


INTERNALS_POINTS = 600


def internals_series(result: RunResult, points: int = INTERNALS_POINTS) -> dict[str, list[float]] | None:
    """The strategy's internals over the run (its ``internals`` hook), thinned to at most ``points`` evenly spaced
    decisions for the dashboard; None for a strategy without the hook."""
    hook = getattr(result.spec, "internals", None)
    if hook is None:
        return None
    inner = hook(result)
    n = len(inner["ts"])
    keep = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.int64)) if n else np.zeros(0, np.int64)
    return {k: [float(x) for x in np.asarray(v)[keep]] for k, v in inner.items()}


def write_internals(result: RunResult, path: Path) -> None:
    """``runs/<run_id>.internals.json`` (written before the run's result, so a result always has it)."""
    series = internals_series(result)
    if series is not None:
        write_json(path, series)


def run_record(result: RunResult, *, inventory_limit: float | None) -> dict[str, Any]:
    """A finished run's figures: window, fills, fills_hash, KPIs (flat: standard total and campaign)."""
    ev = evaluate(result)
    spec = result.spec
    kpis = flat_kpis(ev.total)
    kpis.update(campaign_kpis(result, total_pnl=float(ev.total["total_pnl"]), inventory_limit=inventory_limit,
                              internals=getattr(spec, "internals", None)))
    return {"start_ns": int(result.span_ns[0]), "end_ns": int(result.span_ns[1]), "events": int(result.counters["events"]),
            "fills": result.n_trades, "fills_hash": result.fills_hash, "kpis": kpis,
            "notices": list(result.notices)}


def market_baseline(run: Mapping[str, Any], recording: Any, result: RunResult) -> dict[str, Any] | None:
    """``market_pnl_vs_single`` and ``worst_market_degradation`` of a multi-market run: each market replayed alone
    (the strategy's ``single_market_params``) with the run's config over the same recording and window; None for a
    strategy without the hook. A run quoting one market is its own baseline (0, no replay)."""
    hook = getattr(result.spec, "single_market_params", None)
    if hook is None:
        return None
    together = market_kpis(result)
    alone = {m: p for m, p in hook(result.params, result.instruments).items() if m in together}
    if len(alone) <= 1:
        return market_pnl_vs_single(together, {m: together[m] for m in alone})
    blocks = {}
    for market, params in alone.items():
        single = RunConfig.from_dict({**run, "params": params}, where=f"{market} alone").replay(recording)
        blocks[market] = market_kpis(single)[market]
    return market_pnl_vs_single(together, blocks)


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
        run = {k: v for k, v in config.items() if k != "duration_s"}
        result = RunConfig.from_dict(run, where=str(run_dir)).replay(self.recording)
        write_internals(result, run_dir.with_name(run_dir.name + ".internals.json"))
        record = run_record(result, inventory_limit=inventory_limit)
        record["kpis"].update({k: None for k in LIVE_KPIS})
        record["kpis"].update(market_baseline(run, self.recording, result) or {})
        record["recording"] = self.recording
        return record



class LiveSource:
    """Each run is ``arbkit paper`` under its supervisor on live data for the rung's duration (wall seconds); its
    record comes from the replay of the paper run's own recording, which must give the paper run's fills_hash."""

    def __init__(self, source: Mapping[str, Any], durations_s: tuple[float, ...]) -> None:
        self.venues = [dict(v) for v in source["venues"]]
        self.flush_s = float(source.get("flush_s", 0.5))
        self.supervise = int(source.get("supervise", 2))
        self.checkpoint_s = float(source.get("checkpoint_s", 5.0))
        self.ops_sample_s = float(source.get("ops_sample_s", 5.0))

    def window(self, cursor_ns: int | None, duration_s: float) -> None:
        """Live runs have no window: they last ``duration_s`` of wall time from when they start."""
        return None

    def run(self, config: Mapping[str, Any], run_dir: Path, inventory_limit: float | None,
            duration_s: float | None = None) -> dict[str, Any]:
        """Run the paper trader (restarted by its supervisor after a crash, resuming its checkpoint); the record."""
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg_path, venues_path = run_dir / "campaign_run.yaml", run_dir / "venues.yaml"
        cfg_path.write_text(yaml.safe_dump({k: v for k, v in config.items() if k != "duration_s"}, sort_keys=False))
        venues_path.write_text(yaml.safe_dump({"venues": self.venues}, sort_keys=False))
        cmd = [sys.executable, "-m", "arbkit.apps.cli", "paper", "--config", str(cfg_path), "--venues", str(venues_path),
               "-o", str(run_dir / "paper"), "--duration", f"{float(config['duration_s']):g}", "--flush-s",
               f"{self.flush_s:g}", "--checkpoint-s", f"{self.checkpoint_s:g}", "--quiet",
               "--supervise", str(self.supervise), "--ops-sample-s", f"{self.ops_sample_s:g}"]
        paper = run_dir / "paper"
        _wait_unlocked(paper, float(config["duration_s"]) + 120.0)  # a paper run left by a killed campaign ends first
        if not (paper / "paper_result.json").is_file():  # finished already: its result stands (no second run)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0 or not (paper / "paper_result.json").is_file():
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"paper run exited with {proc.returncode}: {last}")
        live_hash = json.loads((paper / "paper_result.json").read_text())["fills_hash"]
        replay_run = read_yaml(paper / "run.yaml")
        result = RunConfig.from_dict(replay_run, where=str(paper / "run.yaml")).replay(str(paper / "recording"))
        if result.fills_hash != live_hash:
            raise RuntimeError(f"the replay of {paper / 'recording'} gives fills_hash {result.fills_hash[:12]}…, "
                               f"the paper run {str(live_hash)[:12]}…")
        write_internals(result, run_dir.with_name(run_dir.name + ".internals.json"))
        record = run_record(result, inventory_limit=inventory_limit)
        ops = read_jsonl(paper / "ops.jsonl")
        record["kpis"].update(live_kpis(ops))
        record["kpis"].update(market_baseline(replay_run, str(paper / "recording"), result) or {})
        record["rss_mb_series"] = thin([[(t - ops_start(ops)) / 1e9, mb] for t, mb in rss_series(ops)])
        record["recording"] = str(paper / "recording")
        record["replay_config"] = str(paper / "run.yaml")
        return record


def ops_start(records: list[dict[str, Any]]) -> int:
    """Wall time (ns) the paper run's first process started (0 when unknown)."""
    return next((int(r["ts_ns"]) for r in records if r.get("kind") == "start" and r.get("ts_ns")), 0)


def thin(rows: list[Any], points: int = INTERNALS_POINTS) -> list[Any]:
    """At most ``points`` evenly spaced rows (the first and last kept)."""
    if len(rows) <= points:
        return rows
    keep = np.unique(np.linspace(0, len(rows) - 1, points).round().astype(np.int64))
    return [rows[i] for i in keep]


def _wait_unlocked(directory: Path, timeout_s: float) -> None:
    """Wait until no process holds ``directory``'s lock (a paper run still going), at most ``timeout_s``."""
    if not (directory / LOCK_NAME).exists():
        return
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            DirectoryLock(directory, "arbkit campaign").acquire().release()
            return
        except DirectoryLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)

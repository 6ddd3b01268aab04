"""Operations KPIs (see ``OPS_KPI_DEFINITIONS``): risk-guard figures, timing, and a live run's health.

Three sources, one vocabulary a gate or an acceptance criterion can name:

* :func:`guard_kpis` — from any Result (replay or paper): entry attempts and entries, the
  budget guard's caps, each guard's blocks ÷ entry attempts, its longest run of blocks, and
  the windows in which it kept entries at zero for the guards' ``stuck_window_ms``;
* :func:`replay_timing_kpis` — a replay's engine time per strategy call (``replay_call_ns_avg``);
* :func:`paper_ops_kpis` — a paper run's records (``ops.jsonl`` samples, ``paper.log`` records,
  every process segment's start and end): loop and quote latency percentiles, CPU, memory and
  its slope over wall time (:func:`rss_slope_mb_per_h`), log records by level, abnormal exits
  and restarts, run time across restarts.

Latencies are counted in a fixed log-spaced histogram (:class:`LatencyHistogram`, 20 bins a
decade from 1 µs to 100 s) that merges across batches and restarts; a percentile is the
upper edge of the bin it falls in, so it is never reported lower than it was (up to 12 %
higher).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from arbkit.engine.codes import GUARDS

#: every guard the engine has, in its order (budget, exposure, cooldown, kill switch, volume)
GUARD_NAMES = GUARDS
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _pct(num: float, den: float) -> float | None:
    return float(num / den * 100.0) if den > 0 else None


def guard_kpis(result: Any) -> dict[str, Any]:
    """Entry and guard figures of a Result (its ``counters`` and ``guards``); None where the engine did not count."""
    counters = result.counters
    guards = result.guards or {}
    attempts = counters.get("entry_attempts")
    entries = counters.get("entries")
    blocks = {g: int((guards.get(g) or {}).get("blocks", 0)) for g in GUARD_NAMES}
    out: dict[str, Any] = {
        "entry_attempts": attempts, "entries": entries,
        "entry_success_pct": _pct(entries, attempts) if attempts is not None and entries is not None else None,
        "cap_applied": int((guards.get("budget") or {}).get("cap_applied", counters.get("guard_budget_capped", 0))),
        "guard_blocks": {**blocks, "all": sum(blocks.values())},
    }
    if attempts is not None:
        out["block_ratio_pct"] = {g: _pct(n, attempts) if attempts else 0.0 for g, n in out["guard_blocks"].items()}
    else:
        out["block_ratio_pct"] = {g: None for g in out["guard_blocks"]}
    runs = {g: float((guards.get(g) or {}).get("longest_block_run_s", 0.0)) for g in GUARD_NAMES}
    out["longest_block_run_s"] = runs
    out["max_block_run_s"] = max(runs.values()) if runs else 0.0
    windows = {g: (guards.get(g) or {}).get("stuck_windows") for g in GUARD_NAMES}
    out["stuck_guard_windows"] = (sum(int(w) for w in windows.values()) if all(w is not None for w in windows.values())
                                  else sum(bool((guards.get(g) or {}).get("stuck")) for g in GUARD_NAMES))
    ks = guards.get("kill_switch") or {}
    out["kill_switch_tripped"] = bool(ks.get("tripped", False))
    return out


def replay_timing_kpis(result: Any) -> dict[str, Any]:
    """``replay_call_ns_avg``: the engine's wall time per strategy call in a replay (None when not timed)."""
    ns = getattr(result, "engine_ns", None)
    calls = getattr(result, "engine_calls", None)
    if calls is None:
        calls = result.counters.get("strategy_calls")
    return {"replay_call_ns_avg": float(ns) / calls if ns is not None and calls else None}


# -- latency histogram -----------------------------------------------------------------------------

BINS_PER_DECADE = 20
LOW_MS = 1e-3  # 1 µs
DECADES = 8  # up to 100 s
N_BINS = BINS_PER_DECADE * DECADES


def bin_upper_ms(k: int) -> float:
    """The upper edge of bin ``k``, ms."""
    return LOW_MS * 10 ** ((k + 1) / BINS_PER_DECADE)


@dataclass
class LatencyHistogram:
    """Counts of latencies (ms) in log-spaced bins; mergeable, JSON-able as ``{bin: count}``."""

    counts: dict[int, int] = field(default_factory=dict)

    def add(self, values_ms: Iterable[float] | np.ndarray) -> None:
        """Count these latencies (ms); NaN and negative values are skipped."""
        v = np.asarray(list(values_ms) if not isinstance(values_ms, np.ndarray) else values_ms, dtype=np.float64)
        v = v[np.isfinite(v) & (v >= 0)]
        if not len(v):
            return
        k = np.floor(np.log10(np.maximum(v, LOW_MS) / LOW_MS) * BINS_PER_DECADE + 1e-9).astype(np.int64)
        k = np.clip(k, 0, N_BINS - 1)
        for b, n in zip(*np.unique(k, return_counts=True)):
            self.counts[int(b)] = self.counts.get(int(b), 0) + int(n)

    def merge(self, other: "LatencyHistogram | Mapping[Any, int]") -> None:
        """Add another histogram's counts (or its JSON form)."""
        counts = other.counts if isinstance(other, LatencyHistogram) else other
        for b, n in counts.items():
            self.counts[int(b)] = self.counts.get(int(b), 0) + int(n)

    @property
    def n(self) -> int:
        """Latencies counted."""
        return sum(self.counts.values())

    def percentile(self, q: float) -> float | None:
        """The upper edge (ms) of the bin holding the ``q``-th percentile; None when empty."""
        total = self.n
        if not total:
            return None
        rank = max(1, math.ceil(q / 100.0 * total))
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                return bin_upper_ms(b)
        return bin_upper_ms(max(self.counts))

    def to_json(self) -> dict[str, int]:
        """``{bin index: count}`` with string keys."""
        return {str(b): n for b, n in sorted(self.counts.items())}


# -- a paper run's records -------------------------------------------------------------------------

NS_PER_HOUR = 3.6e12


def rss_series(records: Sequence[Mapping[str, Any]]) -> list[tuple[int, float]]:
    """``(wall time ns, RSS MB)`` of every ``ops.jsonl`` record that sampled memory (samples and ends), in order."""
    return [(int(r["ts_ns"]), float(r["rss_mb"])) for r in records
            if r.get("kind") in ("sample", "end") and r.get("rss_mb") is not None and r.get("ts_ns") is not None]


def rss_slope_mb_per_h(times_ns: Sequence[int] | np.ndarray, rss_mb: Sequence[float] | np.ndarray) -> float | None:
    """Least-squares slope of RSS (MB) over wall time, MB per hour; None with fewer than 2 samples (or all at one
    time). A steady leak shows as a positive slope whatever the level the process started at."""
    t = np.asarray(times_ns, dtype=np.float64)
    y = np.asarray(rss_mb, dtype=np.float64)
    if len(t) < 2:
        return None
    x = (t - t[0]) / NS_PER_HOUR
    dx = x - x.mean()
    den = float(np.dot(dx, dx))
    if not den > 0:
        return None
    return float(np.dot(dx, y - y.mean()) / den)


def paper_ops_kpis(records: Sequence[Mapping[str, Any]], log_records: Sequence[Mapping[str, Any]] = ()
                   ) -> dict[str, Any]:
    """Live figures of a paper run from its ``ops.jsonl`` records (``start`` / ``sample`` / ``end`` of every
    process segment, in order) and its ``paper.log`` records (see :mod:`arbkit.live.paper` for the fields).

    A segment is one process on the run directory; the ones after the first are restarts (by
    the supervisor or ``--resume``). A segment without an ``end`` record, or whose end status is
    not ``finished``, is an abnormal exit. Wall and CPU time add up over the segments.
    """
    loop, quote = LatencyHistogram(), LatencyHistogram()
    rss = [float(r["rss_mb"]) for r in records if r.get("rss_mb") is not None]
    series = rss_series(records)
    starts: list[int] = []
    ends: dict[int, str] = {}
    wall: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for r in records:
        seg = int(r.get("segment", 0))
        kind = r.get("kind")
        if kind == "start":
            starts.append(seg)
            continue
        if kind == "end":
            ends[seg] = str(r.get("status", ""))
        loop.merge(r.get("loop_ms_hist") or {})
        quote.merge(r.get("quote_ms_hist") or {})
        wall[seg] = max(wall.get(seg, 0.0), float(r.get("uptime_s") or 0.0))  # cumulative within a segment
        cpu[seg] = max(cpu.get(seg, 0.0), float(r.get("cpu_s") or 0.0))
    counts = {lvl: 0 for lvl in LOG_LEVELS}
    for r in log_records:
        lvl = str(r.get("level", "")).upper()
        counts[lvl] = counts.get(lvl, 0) + 1
    wall_s, cpu_s = sum(wall.values()), sum(cpu.values())
    abnormal = sum(1 for s in starts if ends.get(s) != "finished")
    return {
        "loop_latency_ms_p50": loop.percentile(50), "loop_latency_ms_p99": loop.percentile(99),
        "loop_latency_samples": loop.n,
        "quote_latency_ms_p50": quote.percentile(50), "quote_latency_ms_p99": quote.percentile(99),
        "quote_latency_samples": quote.n,
        "cpu_pct": _pct(cpu_s, wall_s),
        "rss_mb_max": max(rss) if rss else None, "rss_mb_last": rss[-1] if rss else None,
        "rss_samples": len(rss), "rss_slope_mb_per_h": rss_slope_mb_per_h([t for t, _ in series], [mb for _, mb in series]),
        "log_counts": counts, "log_warnings": counts.get("WARNING", 0),
        "log_errors": counts.get("ERROR", 0) + counts.get("CRITICAL", 0),
        "abnormal_exits": abnormal, "restarts": max(0, len(starts) - 1),
        "segments": len(starts), "wall_s_total": wall_s,
    }

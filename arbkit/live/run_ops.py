"""What a paper run records about itself as it goes: operations figures, log records, KPI checkpoints.

Three files in the run directory, appended line by line (a killed process leaves every line
it finished), read back by ``arbkit acceptance`` (:mod:`arbkit.report.acceptance`) and
:func:`arbkit.kpi.ops.paper_ops_kpis`:

* ``ops.jsonl`` — per process segment (the first run, then each restart): a ``start`` record
  (pid, clock ``live`` or ``recording``, the source, resumed or not), a ``sample`` every
  ``sample_s`` of wall time (uptime, CPU seconds, RSS, the engine's clock and events, and the
  loop- and quote-latency histograms of the batches since the last sample) and an ``end``
  record (status). Loop latency: for each batch fed to the engine, its wall time divided by
  the strategy calls it made. Quote latency (live clock only): for each order sent or
  modified, the wall time when the batch was done minus the order's engine time — the time
  the market data it answered was received.
* ``paper.log`` — every WARNING, ERROR and CRITICAL log record of the process, one JSON line
  each (time, segment, level, logger, message).
* ``checkpoints.jsonl`` — the total KPIs when the engine's clock passes 5, 10 and 30 minutes
  and every hour after the run's first event, computed for the exact time (fills, round trips
  and equity samples up to it), once per checkpoint across restarts.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from arbkit.core.terminal import rss_mb
from arbkit.kpi.evaluation import kpis_at
from arbkit.kpi.ops import LatencyHistogram, guard_kpis

#: the checkpoints a paper run records: 5, 10, 30 minutes, then every hour (seconds after its first event)
FIRST_CHECKPOINTS_S = (300, 600, 1800)


def checkpoint_label(elapsed_s: int) -> str:
    """``M5``, ``M10``, ``M30``, ``H1``, ``H2`` …"""
    return f"H{elapsed_s // 3600}" if elapsed_s >= 3600 and elapsed_s % 3600 == 0 else f"M{elapsed_s // 60}"


def checkpoint_due(elapsed_s: float) -> list[int]:
    """Every checkpoint (s) at or before ``elapsed_s``."""
    out = [s for s in FIRST_CHECKPOINTS_S if s <= elapsed_s]
    out += [3600 * k for k in range(1, int(elapsed_s // 3600) + 1)]
    return out


def _append(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record, default=float) + "\n")
        fh.flush()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` file, one a line (a line a killed process left half-written is skipped)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line a killed process left half-written
        if isinstance(rec, dict):
            out.append(rec)
    return out


class _JsonlLogHandler(logging.Handler):
    """WARNING and worse log records to ``paper.log``, one JSON line each."""

    def __init__(self, path: Path, segment: int) -> None:
        super().__init__(level=logging.WARNING)
        self.path, self.segment = path, segment

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _append(self.path, {"ts_ns": int(record.created * 1e9), "segment": self.segment,
                                "level": record.levelname, "logger": record.name, "message": record.getMessage()})
        except Exception:  # a log record must never take the run down
            self.handleError(record)


class RunOps:
    """The operations record of one process segment of a paper run (see the module doc)."""

    def __init__(self, run_dir: Path, *, clock: str, source: Mapping[str, Any], resumed: bool,
                 sample_s: float = 5.0) -> None:
        self.dir = Path(run_dir)
        self.ops_path = self.dir / "ops.jsonl"
        self.live_clock = clock == "live"
        self.segment = sum(1 for r in read_jsonl(self.ops_path) if r.get("kind") == "start")
        self.sample_s = sample_s
        self._t0 = time.monotonic()
        self._cpu0 = time.process_time()
        self._next = self._t0 + sample_s
        self.loop = LatencyHistogram()
        self.quote = LatencyHistogram()
        _append(self.ops_path, {"kind": "start", "segment": self.segment, "pid": os.getpid(), "ts_ns": time.time_ns(),
                                "clock": clock, "source": dict(source), "resumed": bool(resumed)})
        self._handler = _JsonlLogHandler(self.dir / "paper.log", self.segment)
        logging.getLogger().addHandler(self._handler)
        self.closed = False

    def batch(self, wall_ns: int, calls: int, order_ts: np.ndarray | None = None) -> None:
        """One batch fed to the engine: its wall time (ns), the strategy calls it made, the engine times of the
        orders it sent or modified."""
        if calls > 0:
            self.loop.add(np.array([wall_ns / 1e6 / calls]))
        if self.live_clock and order_ts is not None and len(order_ts):
            self.quote.add((time.time_ns() - np.asarray(order_ts, dtype=np.int64)) / 1e6)

    def _figures(self) -> dict[str, Any]:
        return {"segment": self.segment, "ts_ns": time.time_ns(), "uptime_s": time.monotonic() - self._t0,
                "cpu_s": time.process_time() - self._cpu0, "rss_mb": rss_mb()}

    def _flush_hists(self, rec: dict[str, Any]) -> dict[str, Any]:
        rec["loop_ms_hist"] = self.loop.to_json()
        rec["quote_ms_hist"] = self.quote.to_json()
        self.loop, self.quote = LatencyHistogram(), LatencyHistogram()
        return rec

    def maybe_sample(self, clock_ns: int | None, events: int) -> None:
        """Append a ``sample`` record when ``sample_s`` of wall time has passed since the last."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.sample_s
        _append(self.ops_path, self._flush_hists({"kind": "sample", **self._figures(), "clock_ns": clock_ns,
                                                  "events": events}))

    def close(self, status: str, clock_ns: int | None = None, events: int | None = None) -> None:
        """Append the ``end`` record (``finished`` or ``failed``) and detach the log handler."""
        if self.closed:
            return
        self.closed = True
        logging.getLogger().removeHandler(self._handler)
        _append(self.ops_path, self._flush_hists({"kind": "end", **self._figures(), "status": status,
                                                  "clock_ns": clock_ns, "events": events}))


class KpiCheckpoints:
    """Appends the total KPIs to ``checkpoints.jsonl`` as the engine's clock passes each checkpoint."""

    def __init__(self, run_dir: Path, strategy: Any) -> None:
        self.path = Path(run_dir) / "checkpoints.jsonl"
        self.strategy = strategy
        self.done = {int(r["elapsed_s"]) for r in read_jsonl(self.path) if "elapsed_s" in r}

    def due(self, start_ns: int | None, clock_ns: int | None) -> list[int]:
        """Checkpoints (s) the clock has passed that are not recorded yet."""
        if start_ns is None or clock_ns is None or clock_ns < start_ns:
            return []
        return [s for s in checkpoint_due((clock_ns - start_ns) / 1e9) if s not in self.done]

    def record(self, start_ns: int | None, clock_ns: int | None, snapshot: Callable[[], Any], segment: int) -> None:
        """Record every due checkpoint from one ``snapshot()`` of the run so far (a RunResult)."""
        due = self.due(start_ns, clock_ns)
        if not due:
            return
        result = snapshot()
        for s in due:
            t = start_ns + s * 10**9
            _append(self.path, {"label": checkpoint_label(s), "elapsed_s": s, "clock_ns": t, "start_ns": start_ns,
                                "ts_ns": time.time_ns(), "segment": segment,
                                "kpis": kpis_at(result, t, strategy=self.strategy),
                                "guards_as_of_clock_ns": clock_ns, "ops": guard_kpis(result)})
            self.done.add(s)

"""A paper run's feed from a recording, on the recording's clock: long runs in short wall time.

:class:`RecordingFeed` stands where the live recorder stands in a paper run
(:class:`arbkit.live.paper.PaperRun` with ``feed=``): it hands the engine the recording's rows
(played ``loops`` times in a row, :mod:`arbkit.run.looped`) in batches of ``flush_s`` of the
*recording's* time, and after each batch tells the run its clock reached the batch's end, as
the recorder does at each flush. The engine's clock is therefore the recording's: timers,
checkpoints (5 min … 12 h) and every KPI happen at the recording's times, while the process
runs as fast as it can (or ``speed`` times real time). The events are exactly the recording's,
so the run's fills equal a replay of the same looped stream with the same config and seed,
and ``run.yaml`` plus ``ops.jsonl`` say where they came from. Wall-clock figures (CPU, memory,
loop latency per strategy call) are measured for real on the compressed time; quote latency,
which compares wall time with the data's time, is not measured on this clock.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError
from arbkit.core.schema import Kind
from arbkit.io.recording import Recording, load
from arbkit.run.looped import loop_period_ns, looped_chunks, looped_rows


@dataclass
class FeedStats:
    """The recorder's counters a paper run's state shows, for a recording feed."""
    messages: int = 0
    events: int = 0
    malformed: int = 0
    gaps: int = 0
    reconnects: int = 0
    silent_drops: int = 0
    parts: int = 0
    started: float = field(default_factory=time.monotonic)


class RecordingFeed:
    """Plays a recording into a paper run in batches of ``flush_s`` of its own clock (see the module doc)."""

    clock = "recording"

    def __init__(self, recording: str | Path | Recording, *, loops: int = 1, gap_s: float = 1.0, flush_s: float = 1.0,
                 speed: float | None = None, duration_s: float | None = None) -> None:
        self.recording = recording if isinstance(recording, Recording) else load(recording)
        if not (flush_s > 0):
            raise ConfigError(f"--flush-s must be positive, got {flush_s!r}")
        if speed is not None and not speed > 0:
            raise ConfigError(f"--speed must be positive, got {speed!r}")
        self.loops, self.gap_s, self.flush_s, self.speed = int(loops), float(gap_s), float(flush_s), speed
        self.duration_s = duration_s  # wall seconds, as for a live run
        self.on_events: Callable[[EventColumns], None] | None = None
        self.on_tick: Callable[[int], None] | None = None
        self.start_row = 0  # rows of the stream already fed (a resumed run starts after them)
        self.stats = FeedStats()
        self._stop = False
        self.out_dir = self.recording.path

    @property
    def instruments(self) -> list:
        """The recording's instruments."""
        return list(self.recording.instruments)

    @property
    def total_rows(self) -> int:
        """Rows of the whole looped stream."""
        return looped_rows(self.recording, self.loops)

    def describe(self) -> dict[str, Any]:
        """What the run's records say about its source."""
        m = self.recording.manifest
        return {"recording": str(self.recording.path), "parts_sha256": [p.sha256 for p in m.parts],
                "loops": self.loops, "gap_s": self.gap_s, "period_ns": loop_period_ns(self.recording, self.gap_s),
                "flush_s": self.flush_s, "speed": self.speed, "rows": self.total_rows}

    def stop(self) -> None:
        """Stop after the current batch (what SIGINT/SIGTERM do to a live run)."""
        self._stop = True

    def release(self) -> None:
        """Nothing to release (a recording feed holds no lock)."""

    async def run(self) -> dict[str, Any]:
        """Feed the batches; returns the counters."""
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await self._run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        return {"events": self.stats.events, "gaps": self.stats.gaps}

    async def _run(self) -> None:
        step = int(round(self.flush_s * 1e9))
        t_wall0 = time.monotonic()
        t_data0: int | None = None
        edge: int | None = None  # the end of the batch being filled
        pending: list[EventColumns] = []
        for chunk in looped_chunks(self.recording, self.loops, gap_s=self.gap_s, start_row=self.start_row):
            ts = chunk.ts_local
            i = 0
            while i < len(chunk):
                if self._stop or (self.duration_s is not None and time.monotonic() - t_wall0 >= self.duration_s):
                    return
                if edge is None:
                    edge = (int(ts[i]) // step + 1) * step
                    t_data0 = int(ts[i]) if t_data0 is None else t_data0
                j = int(np.searchsorted(ts, edge, side="left", sorter=None)) if ts[-1] >= edge else len(chunk)
                j = max(j, i)
                if j > i:
                    pending.append(chunk.take(slice(i, j)))
                i = j
                if i < len(chunk):  # the batch is complete: every later row is at or after ``edge``
                    await self._deliver(pending, edge, t_wall0, t_data0)
                    pending = []
                    edge = (int(ts[i]) // step + 1) * step
        if pending and not self._stop:
            last = int(pending[-1].ts_local[-1])
            await self._deliver(pending, last, t_wall0, t_data0)

    async def _deliver(self, pending: list[EventColumns], tick: int, t_wall0: float, t_data0: int | None) -> None:
        if pending:
            cols = EventColumns.concat(pending) if len(pending) > 1 else pending[0]
            self.stats.events += len(cols)
            self.stats.messages += len(cols)
            self.stats.gaps += int(np.sum(cols.kind == int(Kind.GAP)))
            if self.on_events is not None:
                self.on_events(cols)
        if self.on_tick is not None and not self._stop:
            self.on_tick(tick)
        if self.speed is not None and t_data0 is not None:
            ahead = (tick - t_data0) / 1e9 / self.speed - (time.monotonic() - t_wall0)
            if ahead > 0:
                await asyncio.sleep(ahead)
                return
        await asyncio.sleep(0)

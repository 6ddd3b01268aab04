"""The sweep's progress bar: parameter sets done, replayed events per second, time left.

Drawn with rich on a terminal; off in CI (``CI`` set), when stderr is not a terminal, or
when asked (``progress=False`` / ``sweep.progress=false``). Sets taken from earlier rows
count as done from the start but not towards the rate.
"""
from __future__ import annotations

import time
from types import TracebackType

from arbkit.core.terminal import progress_wanted


class Progress:
    """Context manager; ``advance(n)`` after ``n`` more sets have finished."""

    def __init__(self, total_sets: int, already_done: int, events_per_set: int, enabled: bool | None = None) -> None:
        self.total = total_sets
        self.done = already_done
        self.start_done = already_done
        self.events_per_set = events_per_set
        self.enabled = progress_wanted(enabled)
        self._t0 = time.perf_counter()
        self._bar = None
        self._task = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
                TimeElapsedColumn, TimeRemainingColumn

            self._bar = RichProgress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("sets"),
                                     TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                     transient=False)
            self._bar.start()
            self._task = self._bar.add_task("sweep", total=self.total, completed=self.done, rate="")
        return self

    def events_per_second(self) -> float:
        """Replayed events per second since the start."""
        dt = time.perf_counter() - self._t0
        return (self.done - self.start_done) * self.events_per_set / dt if dt > 0 else 0.0

    def advance(self, n: int) -> None:
        """``n`` more sets finished."""
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{self.events_per_second() / 1e6:,.1f} M events/s")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

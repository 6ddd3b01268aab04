"""Replay recordings: open them, stream their chunks through the engine, return RunResults.

:func:`replay` runs one parameter set, :func:`replay_batch` many in one pass (the sweep's
fast path); both read a path, a :class:`~arbkit.io.Recording`, or EventColumns plus
instruments. The engine below only ever sees EventColumns.
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine.batch import BatchReplayer
from arbkit.engine.replayer import Replayer
from arbkit.engine.strategy import Strategy
from arbkit.io.recording import Recording, load
from arbkit.run.result import RunResult
from arbkit.strategies import get_strategy

DEFAULT_CHUNK_ROWS = 1 << 16
_INT64_MIN = np.iinfo(np.int64).min


def prefetch(chunks: Iterable[EventColumns], depth: int = 2) -> Iterator[EventColumns]:
    """Decode the next chunks on a background thread while the engine (which releases the GIL) runs."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)
            return
        q.put(done)

    worker = threading.Thread(target=produce, name="arbkit-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def as_strategy(strategy: Strategy | str) -> Strategy:
    """A Strategy as given, or the registry's by name (``"mm"``, ``"arb"``, or ``package.module:factory``)."""
    return get_strategy(strategy) if isinstance(strategy, str) else strategy


def replay(recording: Any, strategy: Strategy | str, params: Any = None, *, fill: Any = None, latency: Any = None,
           seed: int = 0, schedule: Any = None, guards: Any = None, chunk_rows: int = DEFAULT_CHUNK_ROWS, equity_interval_ms: float = 1000.0,
           start: int | None = None, end: int | None = None, trace: tuple[int, int] | None = None,
           instruments: Sequence[Instrument] | None = None, warmup: bool = True, allow_crossed: bool = False,
           clock_end: int | None = None) -> RunResult:
    """Replay ``strategy`` (a Strategy or a registry name) over a recording (a path, a
    :class:`~arbkit.io.Recording`, or EventColumns + ``instruments``).

    The events stream through the engine ``chunk_rows`` at a time; fills, ``fills_hash`` and
    accounts do not depend on the chunk size. ``start``/``end`` bound the window [start, end)
    of ts_local (ns); with ``warmup`` the events before ``start`` build the books first, so
    the strategy starts on the book as recorded, not on an empty one. Timers stop at the last
    event; ``clock_end`` (ns) lets them run on to that time (a paper run's recording replays
    with the clock end the run wrote). A crossed book after a complete book message stops the
    replay with a DataError naming the row unless ``allow_crossed`` (then they are counted).
    """
    strategy = as_strategy(strategy)
    chunks, instruments, source, warm = event_source(recording, chunk_rows, start, end, instruments, warmup)
    runner = Replayer(instruments, strategy, params, fill=fill, latency=latency, seed=seed, schedule=schedule,
                      guards=guards, equity_interval_ms=equity_interval_ms, source=source, trace_window=trace,
                      allow_crossed=allow_crossed)
    for chunk in warm:
        runner.warm(chunk)
    for chunk in chunks:
        runner.feed(chunk)
    return RunResult.of(runner.finish(clock_end=clock_end), strategy)


def event_source(recording: Any, chunk_rows: int, start: int | None, end: int | None,
                 instruments: Sequence[Instrument] | None, warmup: bool = False
                 ) -> tuple[Iterable[EventColumns], Sequence[Instrument], str | None, Iterable[EventColumns]]:
    """Chunks of ``recording`` (a path, a Recording, or EventColumns + instruments) in [start, end), its
    instruments and source path, and (``warmup`` with a ``start``) the chunks before ``start``."""
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows <= 0:
        raise ConfigError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    chunks: Iterable[EventColumns]
    warm: Iterable[EventColumns] = ()
    if isinstance(recording, EventColumns):
        if instruments is None:
            raise ConfigError("replaying bare EventColumns needs instruments=[...]")
        cols = recording
        if start is not None and warmup:
            before = cols.take(cols.ts_local < start)
            warm = (before.take(slice(i, i + chunk_rows)) for i in range(0, len(before), chunk_rows))
        if start is not None or end is not None:
            lo = start if start is not None else _INT64_MIN
            hi = end if end is not None else np.iinfo(np.int64).max
            cols = cols.take((cols.ts_local >= lo) & (cols.ts_local < hi))
        chunks = (cols.take(slice(i, i + chunk_rows)) for i in range(0, len(cols), chunk_rows))
        source = None
    else:
        rec = recording if isinstance(recording, Recording) else load(Path(recording))
        instruments = rec.instruments
        if start is not None and warmup:
            warm = rec.iter_chunks(chunk_rows, end=start)
        chunks = prefetch(rec.iter_chunks(chunk_rows, start=start, end=end))
        source = str(rec.path)
    return chunks, instruments, source, warm


def replay_batch(recording: Any, strategy: Strategy | str, param_sets: Sequence[Any], *, fill: Any = None,
                 latency: Any = None, seeds: int | Sequence[int] = 0, schedule: Any = None, guards: Any = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, equity_interval_ms: float = 1000.0, start: int | None = None,
                 end: int | None = None, instruments: Sequence[Instrument] | None = None,
                 buffers: dict[str, int] | None = None, warmup: bool = True, allow_crossed: bool = False
                 ) -> list[RunResult]:
    """Replay ``strategy`` once per parameter set in one pass; ``[replay(recording, strategy, p, ...) for p in param_sets]``.

    The recording is read once; each Result (fills, ``fills_hash``, accounts, counters)
    equals that set's own :func:`replay`.
    """
    strategy = as_strategy(strategy)
    chunks, instruments, source, warm = event_source(recording, chunk_rows, start, end, instruments, warmup)
    batch = BatchReplayer(instruments, strategy, param_sets, fill=fill, latency=latency, seeds=seeds,
                          schedule=schedule, equity_interval_ms=equity_interval_ms, guards=guards, source=source,
                          buffers=buffers, allow_crossed=allow_crossed)
    for chunk in warm:
        batch.warm(chunk)
    for chunk in chunks:
        batch.feed(chunk)
    return [RunResult.of(r, strategy) for r in batch.finish()]

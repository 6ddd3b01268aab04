"""Replay recordings: open them, stream their chunks through the engine, return RunResults.

:func:`replay` runs one parameter set, :func:`replay_batch` many in one pass (the sweep's
fast path); both read a path, a :class:`~arbkit.io.Recording`, or EventColumns plus
instruments. The engine below only ever sees EventColumns.
"""
from __future__ import annotations

import queue
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine.batch import BatchReplayer
from arbkit.engine.replayer import Replayer
from arbkit.engine.strategy import Strategy
from arbkit.io.read_checks import RowGuard, checked_stream, verify_parts
from arbkit.io.recording import Recording, load
from arbkit.run.result import RunResult
from arbkit.strategies import get_strategy

DEFAULT_CHUNK_ROWS = 1 << 16


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
           instruments: Sequence[Instrument] | None = None, warmup: bool = True, allow_bad_rows: bool = False,
           verify: bool = False, allow_crossed: bool = False, clock_end: int | None = None,
           mark: str = "mid", allow_short: bool | None = None, rewards: Any = None) -> RunResult:
    """Replay ``strategy`` (a Strategy or a registry name) over a recording (a path, a
    :class:`~arbkit.io.Recording`, or EventColumns + ``instruments``).

    The events stream through the engine ``chunk_rows`` at a time; fills, ``fills_hash`` and
    accounts do not depend on the chunk size. ``start``/``end`` bound the window [start, end)
    of ts_local (ns); with ``warmup`` the events before ``start`` build the books first, so
    the strategy starts on the book as recorded, not on an empty one.

    Every row read from a recording is checked by the rules of ``arbkit validate``
    (:mod:`arbkit.io.read_checks`): the first bad one is a DataError naming the part file, row
    and field, unless ``allow_bad_rows`` (then such rows are left out and counted:
    ``counters["bad_rows_skipped"]``). ``verify`` checks every part's sha256 against the
    manifest first. (EventColumns given directly meet the engine's own input checks.) A window
    or a trace window that holds no events is said in ``result.notices`` (and warned).

    Timers stop at the last event; ``clock_end`` (ns) lets them run on to that time (a paper
    run's recording replays with the clock end the run wrote). A book left crossed after a
    complete book message stops the replay with a DataError naming the row unless
    ``allow_crossed`` (then the crossings are counted). ``allow_short``: None lets perpetuals and
    futures go short and not spot or outcome tokens (a sell beyond the tokens held is rejected
    ``insufficient_position``); true / false for every instrument.

    FUNDING rows pay perpetual funding at each funding time on the position held
    (``result.funding``, ``funding`` in the account table; docs/engine.md). ``mark``: what
    equity and unrealised PnL mark positions at, ``"mid"`` or ``"mark_price"`` (the last MARK
    row, the mid before the first). ``rewards``: liquidity rewards of outcome markets, off by default
    (:class:`arbkit.engine.config.Rewards` or its mapping; docs/prediction_markets.md).
    """
    strategy = as_strategy(strategy)
    source = event_source(recording, chunk_rows, start, end, instruments, warmup, allow_bad_rows=allow_bad_rows,
                          verify=verify)
    runner = Replayer(source.instruments, strategy, params, fill=fill, latency=latency, seed=seed, schedule=schedule,
                      guards=guards, equity_interval_ms=equity_interval_ms, source=source.path, trace_window=trace,
                      allow_crossed=allow_crossed, mark=mark, allow_short=allow_short, rewards=rewards)
    for warm, chunk, origin in source.stream:
        if warm:
            runner.warm(chunk)
        else:
            runner.feed(chunk, origin)
    result = RunResult.of(runner.finish(clock_end=clock_end), strategy)
    source.report(result, trace)
    return result


class EventSource:
    """A replay's input: the checked ``(warm, chunk, origin)`` stream (origin: which file rows, None for columns
    in memory), the instruments, where it came from, the bad-row tally."""

    def __init__(self, stream: Iterable[tuple[bool, EventColumns, Any]], instruments: Sequence[Instrument],
                 path: str | None, guard: RowGuard | None, window: tuple[int | None, int | None],
                 span: tuple[int | None, int | None]) -> None:
        self.stream, self.path, self.guard = stream, path, guard
        self.window, self.span = window, span
        self.instruments, self.unresolved = resolutions_in_window(instruments, window[1])

    def report(self, result: RunResult, trace: tuple[int, int] | None = None, *, warn: bool = True) -> None:
        """Put what the run should know into ``result`` (and warn): rows left out, an empty window, a trace that missed."""
        said: list[tuple[type[Warning], str]] = []
        if self.guard is not None and self.guard.skip_bad:
            tally = self.guard.tally
            result.counters["bad_rows_skipped"] = tally.total
            if tally.total:
                checks = ", ".join(f"{k}={v}" for k, v in tally.by_check.items())
                said.append((BadRowsWarning, f"{tally.total} bad rows left out ({checks}); the first: {tally.first}"))
        said += [(EmptyRunWarning, text) for text in empty_notices(result, self.window, self.span, trace)]
        result.notices.extend(self.unresolved)  # said in the notices and the report, no warning: nothing is wrong
        for category, text in said:
            result.notices.append(text)
            if warn:
                warnings.warn(text, category, stacklevel=3)


def resolutions_in_window(instruments: Sequence[Instrument], end: int | None) -> tuple[list[Instrument], list[str]]:
    """The instruments as a window ending at ``end`` knows them: a resolution at or after the window's end is
    dropped (no payout, no winner: the tokens are marked to mid), so a run on a window never settles on an outcome
    that was known only after it. Also the notices saying which markets."""
    out, notices = [], {}
    for inst in instruments:
        if end is not None and inst.resolution_ts is not None and int(inst.resolution_ts) >= int(end):
            notices.setdefault(inst.market_id or inst.key,
                               f"market {inst.market_id or inst.key} resolves at {int(inst.resolution_ts)}, not before "
                               f"the window's end {int(end)}: its tokens are marked to mid, not settled")
            inst = replace(inst, resolution_ts=None, winner=None)
        out.append(inst)
    return out, list(notices.values())


class EmptyRunWarning(UserWarning):
    """A replay window, or a trace window, that holds no events."""


class BadRowsWarning(UserWarning):
    """Rows a replay left out because it was asked to go on past them."""


def _ns_text(ns: int | None) -> str:
    return "open" if ns is None else str(int(ns))


def window_notice(window: tuple[int | None, int | None], span: tuple[int | None, int | None],
                  events: int | None = None) -> str | None:
    """Why the window [start, end) holds no events of a recording spanning ``span`` (None when it may hold
    some; ``events``: how many a run actually saw)."""
    start, end = window
    lo, hi = span
    if start is not None and end is not None and start >= end:
        return f"no events: the window is empty (start_ns {start} is not before end_ns {end})"
    outside = lo is None or (start is not None and hi is not None and start > hi) or (end is not None and end <= lo)
    if events == 0 or (events is None and outside):
        data = f"the recording spans [{_ns_text(lo)}, {_ns_text(hi)}]" if lo is not None else "the recording has no events"
        return f"no events in the window [{_ns_text(start)}, {_ns_text(end)}): {data}"
    return None


def empty_notices(result: Any, window: tuple[int | None, int | None], span: tuple[int | None, int | None],
                  trace: tuple[int, int] | None) -> list[str]:
    """Why a run, or its trace, saw no events (none when it saw some)."""
    out = []
    notice = window_notice(window, span, result.counters.get("events", 0))
    if notice:
        out.append(notice)
    if trace is not None and result.counters.get("events", 0) and not result.trace:
        first, last = result.span_ns
        out.append(f"no events in the trace window [{trace[0]}, {trace[1]}]: the replayed events span [{first}, {last}]")
    return out


def event_source(recording: Any, chunk_rows: int, start: int | None, end: int | None,
                 instruments: Sequence[Instrument] | None, warmup: bool = False, *, allow_bad_rows: bool = False,
                 verify: bool = False) -> EventSource:
    """The checked chunks of ``recording`` (a path, a Recording, or EventColumns + instruments) in [start, end),
    preceded (``warmup`` with a ``start``) by the chunks before ``start`` flagged ``warm``."""
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows <= 0:
        raise ConfigError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
            raise ConfigError(f"{name} must be an integer time in ns, got {value!r}")
    if isinstance(recording, EventColumns):
        if instruments is None:
            raise ConfigError("replaying bare EventColumns needs instruments=[...]")
        cols = recording
        span = (int(cols.ts_local[0]), int(cols.ts_local[-1])) if len(cols) else (None, None)
        return EventSource(_split_window(cols, chunk_rows, start, end, warmup), instruments, None, None,
                           (start, end), span)
    rec = recording if isinstance(recording, Recording) else load(Path(recording))
    if verify:
        verify_parts(rec)
    guard = RowGuard([i.tick_size for i in rec.instruments], skip_bad=allow_bad_rows)
    stream = prefetch(checked_stream(rec, chunk_rows, start=start, end=end, warmup=warmup, guard=guard))
    return EventSource(stream, rec.instruments, str(rec.path), guard, (start, end),
                       (rec.manifest.start_ns, rec.manifest.end_ns))


def _split_window(cols: EventColumns, chunk_rows: int, start: int | None, end: int | None,
                  warmup: bool) -> Iterator[tuple[bool, EventColumns]]:
    if end is not None:
        cols = cols.take(cols.ts_local < end)
    first = 0 if start is None else int(np.searchsorted(cols.ts_local, start, side="left"))
    if warmup:
        for i in range(0, first, chunk_rows):
            yield True, cols.take(slice(i, min(i + chunk_rows, first))), None
    for i in range(first, len(cols), chunk_rows):
        yield False, cols.take(slice(i, i + chunk_rows)), None


def replay_batch(recording: Any, strategy: Strategy | str, param_sets: Sequence[Any], *, fill: Any = None,
                 latency: Any = None, seeds: int | Sequence[int] = 0, schedule: Any = None, guards: Any = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, equity_interval_ms: float = 1000.0, start: int | None = None,
                 end: int | None = None, instruments: Sequence[Instrument] | None = None,
                 buffers: dict[str, int] | None = None, warmup: bool = True, allow_bad_rows: bool = False,
                 verify: bool = False, allow_crossed: bool = False, mark: str = "mid",
                 allow_short: bool | None = None, rewards: Any = None) -> list[RunResult]:
    """Replay ``strategy`` once per parameter set in one pass; ``[replay(recording, strategy, p, ...) for p in param_sets]``.

    The recording is read once; each Result (fills, ``fills_hash``, accounts, counters)
    equals that set's own :func:`replay`.
    """
    strategy = as_strategy(strategy)
    source = event_source(recording, chunk_rows, start, end, instruments, warmup, allow_bad_rows=allow_bad_rows,
                          verify=verify)
    batch = BatchReplayer(source.instruments, strategy, param_sets, fill=fill, latency=latency, seeds=seeds,
                          schedule=schedule, equity_interval_ms=equity_interval_ms, guards=guards, source=source.path,
                          buffers=buffers, allow_crossed=allow_crossed, mark=mark, allow_short=allow_short,
                          rewards=rewards)
    for warm, chunk, origin in source.stream:
        if warm:
            batch.warm(chunk)
        else:
            batch.feed(chunk, origin)
    results = [RunResult.of(r, strategy) for r in batch.finish()]
    for k, res in enumerate(results):
        source.report(res, warn=k == 0)
    return results

"""A recording played several times in a row on one clock: long runs (12 h acceptance) from short real data.

Loop ``k`` (0, 1, …) is the recording's events with ``ts_local`` and ``ts_exch`` moved by
``k · period``, where ``period`` = the recording's span + ``gap_s``. Every loop after the first
opens with a GAP row for every instrument at its first event's time, so each book is unusable
until the loop's own snapshot rebuilds it — the seam is a feed gap and a resync, as after a
reconnect, never a jump of prices inside a book the strategy trusts. Nothing else changes: the
rows between seams are the recording's, in its order.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError
from arbkit.core.schema import Kind
from arbkit.io.recording import Recording, load

DEFAULT_CHUNK_ROWS = 1 << 18


def loop_period_ns(recording: Recording, gap_s: float) -> int:
    """The time between two loops' starts: the recording's span plus ``gap_s``."""
    m = recording.manifest
    return int(m.end_ns - m.start_ns) + int(round(gap_s * 1e9))


def looped_rows(recording: Recording, loops: int) -> int:
    """Rows of the looped stream (the seams' GAP rows included)."""
    return loops * recording.n_events + (loops - 1) * len(recording.instruments)


def looped_chunks(recording: str | Any, loops: int, *, gap_s: float = 1.0, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                  start_row: int = 0) -> Iterator[EventColumns]:
    """The looped stream (see the module doc) in chunks, from row ``start_row`` of the stream on."""
    rec = recording if isinstance(recording, Recording) else load(recording)
    if not isinstance(loops, int) or loops < 1:
        raise ConfigError(f"loops must be a positive integer, got {loops!r}")
    if not gap_s >= 0:
        raise ConfigError(f"gap_s must be >= 0, got {gap_s!r}")
    period = loop_period_ns(rec, gap_s)
    n_inst = len(rec.instruments)
    row = 0  # stream row of the next row produced
    for k in range(loops):
        shift = k * period
        if k:
            t = int(rec.manifest.start_ns) + shift
            gap = EventColumns.from_arrays(
                ts_exch=np.full(n_inst, t), ts_local=np.full(n_inst, t), asset=np.arange(n_inst),
                kind=np.full(n_inst, int(Kind.GAP)), side=np.zeros(n_inst), price=np.zeros(n_inst),
                qty=np.zeros(n_inst), seq=np.full(n_inst, -1))
            if row + n_inst > start_row:
                yield gap.take(slice(max(0, start_row - row), n_inst))
            row += n_inst
        if row + rec.n_events <= start_row:
            row += rec.n_events
            continue
        for chunk in rec.iter_chunks(chunk_rows):
            n = len(chunk)
            if row + n <= start_row:
                row += n
                continue
            if row < start_row:
                chunk = chunk.take(slice(start_row - row, n))
                row = start_row
            row += len(chunk)
            if shift:
                chunk = chunk.replace(ts_local=chunk.ts_local + shift, ts_exch=chunk.ts_exch + shift)
            yield chunk

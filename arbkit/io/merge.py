"""Merge several recordings into one multi-asset recording on one clock.

Tie-break (documented, stable): rows are ordered by ``ts_local``; rows with equal
``ts_local`` keep the order of the recordings as given, then their order inside
their own recording. Instruments are concatenated in the same order, so asset
``k`` of the second recording becomes ``len(first.instruments) + k``.

A recording that ends while another goes on gets a GAP row for each of its books at its
last ``ts_local``: after its last message nothing is known of them, and without the GAP a
replay would keep treating its last book as live (an arbitrage against a book an hour
old). The manifest lists these GAPs (``provenance.end_gaps``).

``align_starts`` moves every recording so that it starts when the first one does (its
``ts_local``, ``ts_exch`` and FUNDING times shifted by one constant). That is for
recordings of *different* times (test fixtures, demonstrations): the result is not data
that happened together, and its manifest says so (``provenance.time_shifted`` and each
source's ``time_shift_ns``); a warning is raised too.

Every input is checked first as ``arbkit validate`` checks it (without the crossed-book
replay): an input with an error (a NaN price, timestamps out of order, a part whose hash
differs, ...) is refused with its first error, so a merge never hides a bad row among good
ones.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.io.check import validate
from arbkit.io.recording import Recording
from arbkit.io.writer import write_recording
from arbkit.core.schema import Kind


def merge_events(tables: Sequence[EventColumns], asset_offsets: Sequence[int]) -> EventColumns:
    """Concatenate event tables (asset ids shifted by the offsets) and stable-sort by ts_local."""
    shifted = []
    for cols, off in zip(tables, asset_offsets):
        shifted.append(cols.replace(asset=(cols.asset + np.int32(off)).astype(np.int32)))
    allcols = EventColumns.concat(shifted)
    order = np.argsort(allcols.ts_local, kind="stable")
    return allcols.take(order)


def shift_time(cols: EventColumns, shift_ns: int) -> EventColumns:
    """``cols`` moved by ``shift_ns`` (receive and exchange times, FUNDING times)."""
    if shift_ns == 0:
        return cols
    seq = cols.seq.copy()
    funding = cols.kind == Kind.FUNDING
    seq[funding] += np.int64(shift_ns)
    return cols.replace(ts_local=cols.ts_local + np.int64(shift_ns), ts_exch=cols.ts_exch + np.int64(shift_ns), seq=seq)


def with_end_gaps(cols: EventColumns, instruments: Sequence) -> tuple[EventColumns, list[str]]:
    """``cols`` plus a GAP row, at its last ts_local, for every asset that has book rows (and the keys of those)."""
    book = np.isin(cols.kind, np.array([Kind.SNAPSHOT, Kind.DEPTH, Kind.CLEAR], dtype=np.uint8))
    assets = np.unique(cols.asset[book])
    if len(assets) == 0:
        return cols, []
    n, t = len(assets), cols.ts_local[-1]
    gaps = EventColumns(np.full(n, t, np.int64), np.full(n, t, np.int64), assets.astype(np.int32),
                        np.full(n, Kind.GAP, np.uint8), np.zeros(n, np.int8), np.zeros(n), np.zeros(n),
                        np.full(n, -1, np.int64))
    return EventColumns.concat([cols, gaps]), [instruments[int(a)].key for a in assets]


def check_input(rec: Recording) -> None:
    """Refuse a merge input that ``arbkit validate`` finds errors in (rows, parts, manifest), naming its first one."""
    report = validate(rec.path, check_books=False)
    if not report.ok:
        first = report.errors[0]
        more = f" (and {report.error_count - 1} more: arbkit validate {rec.path})" if report.error_count > 1 else ""
        raise DataError(f"merge input refused: {first.message}{more}", path=first.path or rec.path, row=first.row,
                        field=first.field)


def merge_recordings(sources: Sequence[str | Path | Recording], out: str | Path, *, overwrite: bool = False,
                     align_starts: bool = False) -> Recording:
    """Write the merge of ``sources`` to ``out`` and open it (``align_starts``: see the module doc)."""
    recs = [s if isinstance(s, Recording) else Recording(s) for s in sources]
    if len(recs) < 2:
        raise DataError("merging needs at least two recordings", path=out)
    for rec in recs:
        check_input(rec)
    instruments, offsets, seen = [], [], {}
    for rec in recs:
        offsets.append(len(instruments))
        for inst in rec.instruments:
            if inst.key in seen:
                raise DataError(f"instrument {inst.key} appears in both {seen[inst.key]} and {rec.path}", path=rec.path)
            seen[inst.key] = rec.path
            instruments.append(inst)
    tables = [r.to_numpy() for r in recs]
    shifts = [0] * len(recs)
    if align_starts:
        t0 = int(tables[0].ts_local[0])
        shifts = [t0 - int(t.ts_local[0]) if len(t) else 0 for t in tables]
        tables = [shift_time(t, s) for t, s in zip(tables, shifts)]
        warnings.warn(f"merge: recordings moved onto the first one's start (shifts {shifts} ns): the merged "
                      f"recording is not data that happened together", stacklevel=2)
    end = max(int(t.ts_local[-1]) for t in tables if len(t))
    end_gaps: dict[str, list[str]] = {}
    for i, (rec, t) in enumerate(zip(recs, tables)):
        if len(t) and int(t.ts_local[-1]) < end:
            tables[i], keys = with_end_gaps(t, rec.instruments)
            if keys:
                end_gaps[str(rec.path)] = keys
    events = merge_events(tables, offsets)
    provenance = {
        "merged_from": [
            {"path": str(r.path), "parts_sha256": [p.sha256 for p in r.manifest.parts], "provenance": r.manifest.provenance,
             **({"time_shift_ns": s} if align_starts else {})}
            for r, s in zip(recs, shifts)
        ],
        "tie_break": "ts_local, then source order, then row order within the source",
        "end_gaps": end_gaps,
    }
    if align_starts:
        provenance["time_shifted"] = True
        provenance["note"] = ("sources recorded at different times, moved onto one start: not simultaneous data; "
                              "cross-source prices were never live together")
    conversion = {"merged": {str(r.path): r.manifest.conversion for r in recs}}
    write_recording(out, events, instruments, provenance=provenance, conversion=conversion, overwrite=overwrite)
    return Recording(out)

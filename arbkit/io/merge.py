"""Merge several recordings into one multi-asset recording on one clock.

Tie-break (documented, stable): rows are ordered by ``ts_local``; rows with equal
``ts_local`` keep the order of the recordings as given, then their order inside
their own recording. Instruments are concatenated in the same order, so asset
``k`` of the second recording becomes ``len(first.instruments) + k``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.io.recording import Recording
from arbkit.io.writer import write_recording


def merge_events(tables: Sequence[EventColumns], asset_offsets: Sequence[int]) -> EventColumns:
    """Concatenate event tables (asset ids shifted by the offsets) and stable-sort by ts_local."""
    shifted = []
    for cols, off in zip(tables, asset_offsets):
        shifted.append(cols.replace(asset=(cols.asset + np.int32(off)).astype(np.int32)))
    allcols = EventColumns.concat(shifted)
    order = np.argsort(allcols.ts_local, kind="stable")
    return allcols.take(order)


def merge_recordings(sources: Sequence[str | Path | Recording], out: str | Path, *, overwrite: bool = False) -> Recording:
    """Write the merge of ``sources`` to ``out`` and open it."""
    recs = [s if isinstance(s, Recording) else Recording(s) for s in sources]
    if len(recs) < 2:
        raise DataError("merging needs at least two recordings", path=out)
    instruments, offsets, seen = [], [], {}
    for rec in recs:
        offsets.append(len(instruments))
        for inst in rec.instruments:
            if inst.key in seen:
                raise DataError(f"instrument {inst.key} appears in both {seen[inst.key]} and {rec.path}", path=rec.path)
            seen[inst.key] = rec.path
            instruments.append(inst)
    events = merge_events([r.to_numpy() for r in recs], offsets)
    provenance = {
        "merged_from": [
            {"path": str(r.path), "parts_sha256": [p.sha256 for p in r.manifest.parts], "provenance": r.manifest.provenance}
            for r in recs
        ],
        "tie_break": "ts_local, then source order, then row order within the source",
    }
    conversion = {"merged": {str(r.path): r.manifest.conversion for r in recs}}
    write_recording(out, events, instruments, provenance=provenance, conversion=conversion, overwrite=overwrite)
    return Recording(out)

"""Write a recording directory part by part, crash-safe.

Events are buffered and flushed to ``parts/part-NNNNN.parquet`` (zstd, fixed row
groups). Each part is written under a temporary name and renamed when complete,
then the manifest is rewritten atomically, so a killed writer leaves a recording
holding every part flushed before the kill. A writer holds the directory's lock
(:mod:`arbkit.io.lock`) from before it clears or writes anything until it closes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.io.lock import LOCK_NAME, DirectoryLock, dir_has_files
from arbkit.io.manifest import Manifest, PartInfo, read_manifest, sha256_file, write_manifest
from arbkit.io.parts import DEFAULT_PART_ROWS, DEFAULT_ROW_GROUP_ROWS, PARTS_DIR, iter_part_columns
from arbkit.core.schema import KIND_NAMES, Instrument, Kind


class _InstrumentStats:
    """Running per-instrument counters kept while writing."""

    def __init__(self, n: int) -> None:
        self.events = np.zeros(n, dtype=np.int64)
        self.by_kind = np.zeros((n, 256), dtype=np.int64)
        self.price_min = np.full(n, np.inf)
        self.price_max = np.full(n, -np.inf)
        self.first_ns = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.last_ns = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)

    def update(self, cols: EventColumns) -> None:
        """Count a batch's rows per instrument and kind, price range and times."""
        n = self.events.shape[0]
        a = cols.asset.astype(np.int64)
        self.events += np.bincount(a, minlength=n)[:n]
        np.add.at(self.by_kind, (a, cols.kind.astype(np.int64)), 1)
        priced = np.isin(cols.kind, (Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE, Kind.BBO)) & (cols.price > 0)
        if priced.any():
            np.minimum.at(self.price_min, a[priced], cols.price[priced])
            np.maximum.at(self.price_max, a[priced], cols.price[priced])
        np.minimum.at(self.first_ns, a, cols.ts_local)
        np.maximum.at(self.last_ns, a, cols.ts_local)

    def to_list(self, instruments: list[Instrument]) -> list[dict[str, Any]]:
        """The manifest's per-instrument entries."""
        out = []
        for i, inst in enumerate(instruments):
            kinds = {KIND_NAMES[k]: int(self.by_kind[i, k]) for k in KIND_NAMES if self.by_kind[i, k]}
            out.append({
                "asset": i,
                "key": inst.key,
                "events": int(self.events[i]),
                "by_kind": kinds,
                "gaps": kinds.get("GAP", 0),
                "price_min": float(self.price_min[i]) if np.isfinite(self.price_min[i]) else None,
                "price_max": float(self.price_max[i]) if np.isfinite(self.price_max[i]) else None,
                "start_ns": int(self.first_ns[i]) if self.events[i] else None,
                "end_ns": int(self.last_ns[i]) if self.events[i] else None,
            })
        return out


class RecordingWriter:
    """Append sorted event batches to a new recording directory.

    ``append`` takes :class:`EventColumns` whose ``ts_local`` continues the order of
    what came before; ``close`` (or leaving the ``with`` block) flushes the rest.
    """

    def __init__(self, directory: str | Path, instruments: list[Instrument], *,
                 provenance: dict[str, Any] | None = None, conversion: dict[str, Any] | None = None,
                 part_rows: int = DEFAULT_PART_ROWS, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
                 overwrite: bool = False, lock: DirectoryLock | None = None) -> None:
        self.directory = Path(directory)
        if not instruments:
            raise DataError("a recording needs at least one instrument", path=self.directory)
        keys = [i.key for i in instruments]
        if len(set(keys)) != len(keys):
            raise DataError(f"duplicate instrument keys {sorted({k for k in keys if keys.count(k) > 1})}", path=self.directory)
        self._take_lock(lock)
        try:
            if dir_has_files(self.directory):
                if not overwrite:
                    raise DataError("output directory exists and is not empty (pass overwrite=True / --force)",
                                    path=self.directory)
                _clear_recording_dir(self.directory)
            (self.directory / PARTS_DIR).mkdir(parents=True, exist_ok=True)
        except BaseException:
            self._release_lock()
            raise
        self.instruments = list(instruments)
        self.part_rows = int(part_rows)
        self.row_group_rows = int(row_group_rows)
        self._buffer: list[EventColumns] = []
        self._buffered = 0
        self._last_ts = np.iinfo(np.int64).min
        self._rows_in = 0
        self._stats = _InstrumentStats(len(instruments))
        self.manifest = Manifest(instruments=self.instruments, provenance=provenance or {},
                                 conversion=conversion or {}, complete=False)
        write_manifest(self.directory, self.manifest)

    def _take_lock(self, lock: DirectoryLock | None) -> None:
        """Hold the directory's lock: the caller's (a recorder holds it for its whole run) or our own."""
        self._own_lock = lock is None
        self._lock = DirectoryLock(self.directory, "writing a recording").acquire() if lock is None else lock

    def _release_lock(self) -> None:
        if getattr(self, "_own_lock", False):
            self._lock.release()

    @classmethod
    def reopen(cls, directory: str | Path, *, part_rows: int = DEFAULT_PART_ROWS,
               row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, lock: DirectoryLock | None = None) -> "RecordingWriter":
        """Continue an existing recording (a resumed live run): new parts follow the listed ones.

        Only the parts the manifest lists count (a temporary part left by a kill is removed);
        the manifest stays incomplete until :meth:`close`.
        """
        directory = Path(directory)
        manifest = read_manifest(directory)
        self = cls.__new__(cls)
        self.directory = directory
        self._take_lock(lock)
        try:
            self.instruments = list(manifest.instruments)
            self.part_rows, self.row_group_rows = int(part_rows), int(row_group_rows)
            self._buffer, self._buffered, self._rows_in = [], 0, manifest.events
            self._stats = _InstrumentStats(len(self.instruments))
            for part in manifest.parts:
                for chunk in iter_part_columns(directory / part.path):
                    self._stats.update(chunk)
            self._last_ts = int(manifest.end_ns) if manifest.end_ns is not None else np.iinfo(np.int64).min
            for stray in (directory / PARTS_DIR).glob(".*.tmp"):
                stray.unlink(missing_ok=True)
            manifest.complete = False
            self.manifest = manifest
            write_manifest(directory, manifest)
        except BaseException:
            self._release_lock()
            raise
        return self

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Close on success; on an error keep every row already given but leave the manifest incomplete."""
        if exc_type is None:
            self.close()
        else:
            self.abandon()

    def abandon(self) -> Manifest:
        """Write what is buffered and give up the lock, the manifest left incomplete (the writer did not finish)."""
        try:
            self.flush()
            self.manifest.complete = False
            self._update_manifest()
        finally:
            self._release_lock()
        return self.manifest

    def append(self, cols: EventColumns) -> None:
        """Add a sorted batch; full parts are written as they fill."""
        n = len(cols)
        if n == 0:
            return
        self._check(cols)
        self._buffer.append(cols)
        self._buffered += n
        self._rows_in += n
        self._last_ts = int(cols.ts_local[-1])
        while self._buffered >= self.part_rows:
            self._flush(self.part_rows)

    def flush(self) -> None:
        """Write everything buffered as a part now (the recorder calls this on its time rotation)."""
        if self._buffered:
            self._flush(self._buffered)

    def close(self, conversion: dict[str, Any] | None = None) -> Manifest:
        """Write the rest, mark the manifest complete and give up the directory's lock (if ours)."""
        try:
            self.flush()
            if conversion:
                self.manifest.conversion.update(conversion)
            self.manifest.complete = True
            self._update_manifest()
        finally:
            self._release_lock()
        return self.manifest

    # -- internals -------------------------------------------------------------------------

    def _check(self, cols: EventColumns) -> None:
        ts = cols.ts_local
        if ts[0] < self._last_ts:
            raise DataError(f"ts_local {int(ts[0])} goes back before the previous batch's {self._last_ts}",
                            path=self.directory, row=self._rows_in, field="ts_local")
        bad = np.flatnonzero(ts[1:] < ts[:-1])
        if bad.size:
            r = int(bad[0]) + 1
            raise DataError(f"ts_local not sorted: {int(ts[r])} after {int(ts[r - 1])}",
                            path=self.directory, row=self._rows_in + r, field="ts_local")
        nassets = len(self.instruments)
        bad = np.flatnonzero((cols.asset < 0) | (cols.asset >= nassets))
        if bad.size:
            r = int(bad[0])
            raise DataError(f"asset {int(cols.asset[r])} is not one of the {nassets} instruments",
                            path=self.directory, row=self._rows_in + r, field="asset")

    def _flush(self, rows: int) -> None:
        cols = EventColumns.concat(self._buffer)
        head, tail = cols.take(slice(0, rows)), cols.take(slice(rows, None))
        self._buffer = [tail] if len(tail) else []
        self._buffered = len(tail)
        index = len(self.manifest.parts)
        rel = f"{PARTS_DIR}/part-{index:05d}.parquet"
        final = self.directory / rel
        tmp = final.with_name(f".{final.name}.tmp")
        self._stats.update(head)
        table = head.to_arrow()
        pq.write_table(table, tmp, compression="zstd", row_group_size=self.row_group_rows,
                       write_statistics=True, use_dictionary=["asset", "kind", "side"])
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        meta = pq.ParquetFile(final).metadata
        self.manifest.parts.append(PartInfo(
            path=rel, rows=len(head), sha256=sha256_file(final), bytes=final.stat().st_size,
            start_ns=int(head.ts_local[0]), end_ns=int(head.ts_local[-1]), row_groups=meta.num_row_groups,
        ))
        self._update_manifest()

    def _update_manifest(self) -> None:
        m = self.manifest
        m.events = sum(p.rows for p in m.parts)
        per = self._stats.to_list(self.instruments)
        m.per_instrument = per
        totals: dict[str, int] = {}
        for entry in per:
            for k, v in entry["by_kind"].items():
                totals[k] = totals.get(k, 0) + v
        m.by_kind = totals
        m.gaps = totals.get("GAP", 0)
        m.start_ns = m.parts[0].start_ns if m.parts else None
        m.end_ns = m.parts[-1].end_ns if m.parts else None
        write_manifest(self.directory, m)


def _clear_recording_dir(directory: Path) -> None:
    """Remove a previous recording's files (manifest, parts, raw) — and refuse if anything else is there."""
    leftovers = [p.name for p in directory.iterdir() if p.name not in (PARTS_DIR, "raw", "manifest.json", LOCK_NAME)]
    if leftovers:
        raise DataError(f"refusing to overwrite: directory holds files that are not a recording's: {leftovers[:5]}",
                        path=directory)
    for sub in (PARTS_DIR, "raw"):
        d = directory / sub
        if d.is_dir():
            for f in d.iterdir():
                f.unlink()
    m = directory / "manifest.json"
    if m.exists():
        m.unlink()


def write_recording(directory: str | Path, events: EventColumns | np.ndarray, instruments: list[Instrument], *,
                    provenance: dict[str, Any] | None = None, conversion: dict[str, Any] | None = None,
                    part_rows: int = DEFAULT_PART_ROWS, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
                    overwrite: bool = False) -> Manifest:
    """Write a whole in-memory event table as a recording directory."""
    if isinstance(events, np.ndarray):
        events = EventColumns.from_structured(events)
    with RecordingWriter(directory, instruments, provenance=provenance, conversion=conversion,
                         part_rows=part_rows, row_group_rows=row_group_rows, overwrite=overwrite) as w:
        w.append(events)
    return w.manifest


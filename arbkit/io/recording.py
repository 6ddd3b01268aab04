"""Read a recording directory: instruments, lazy polars queries, numpy columns, chunks."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns, arrow_to_numpy
from arbkit.io.manifest import Manifest, read_manifest
from arbkit.io.parts import DEFAULT_PART_ROWS, DEFAULT_ROW_GROUP_ROWS, iter_part_columns, open_part
from arbkit.io.writer import write_recording
from arbkit.core.schema import COLUMNS, Instrument


class Recording:
    """A recording directory opened for reading (see ``arbkit.load``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: Manifest = read_manifest(self.path)
        for part in self.manifest.parts:
            p = self.path / part.path
            if not p.is_file():
                raise DataError("part listed in manifest.json is missing", path=p)

    # -- metadata ---------------------------------------------------------------------------

    @property
    def instruments(self) -> list[Instrument]:
        """The recording's instruments (index = asset)."""
        return self.manifest.instruments

    @property
    def part_paths(self) -> list[Path]:
        """The Parquet parts, in order."""
        return [self.path / p.path for p in self.manifest.parts]

    @property
    def n_events(self) -> int:
        """Number of events in the recording."""
        return self.manifest.events

    def asset_index(self, key: str | int) -> int:
        """Index of an instrument given as ``venue:symbol``, bare ``symbol`` (if unique) or index."""
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(self.instruments):
                raise KeyError(f"asset {key} out of range (recording has {len(self.instruments)} instruments)")
            return int(key)
        keys = [i.key for i in self.instruments]
        if key in keys:
            return keys.index(key)
        matches = [n for n, i in enumerate(self.instruments) if i.symbol == key]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(f"no unique instrument {key!r} in {keys}")

    def __repr__(self) -> str:
        insts = ", ".join(i.key for i in self.instruments)
        return f"Recording({str(self.path)!r}, events={self.n_events}, instruments=[{insts}])"

    # -- events -----------------------------------------------------------------------------

    def events(self, assets: Sequence[str | int] | None = None, start: int | None = None,
               end: int | None = None) -> pl.LazyFrame:
        """A polars LazyFrame of the events, optionally filtered by assets and ``start <= ts_local < end``."""
        paths = [str(p) for p in self.part_paths]
        if not paths:
            lf = pl.DataFrame(schema={c.name: _polars_dtype(c.numpy) for c in COLUMNS}).lazy()
        else:
            lf = pl.scan_parquet(paths)
        return _filter(lf, self._asset_ids(assets), start, end)

    def to_numpy(self, assets: Sequence[str | int] | None = None, start: int | None = None,
                 end: int | None = None) -> EventColumns:
        """All (or the selected) events as contiguous numpy columns."""
        if assets is None and start is None and end is None:
            return self._read_all()
        parts = [c for c in self.iter_chunks(DEFAULT_ROW_GROUP_ROWS, assets=assets, start=start, end=end)]
        return EventColumns.concat(parts)

    def iter_chunks(self, rows: int = DEFAULT_ROW_GROUP_ROWS, assets: Sequence[str | int] | None = None,
                    start: int | None = None, end: int | None = None) -> Iterator[EventColumns]:
        """Yield the events in order as EventColumns of at most ``rows`` rows, reading one batch at a time."""
        if rows <= 0:
            raise ValueError(f"rows must be positive, got {rows}")
        ids = self._asset_ids(assets)
        for part, info in zip(self.part_paths, self.manifest.parts):
            if start is not None and info.end_ns < start:
                continue
            if end is not None and info.start_ns >= end:
                continue
            for cols in iter_part_columns(part, rows):
                if ids is not None or start is not None or end is not None:
                    cols = cols.take(_mask(cols, ids, start, end))
                if len(cols):
                    yield cols

    def _read_all(self) -> EventColumns:
        total = self.manifest.events
        out = EventColumns.empty(total)
        pos = 0
        for part, info in zip(self.part_paths, self.manifest.parts):
            pf = open_part(part)
            if pf.metadata.num_rows != info.rows:
                raise DataError(f"part has {pf.metadata.num_rows} rows but manifest.json says {info.rows}",
                                path=part, field="rows")
            try:
                table = pf.read(use_threads=True)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"corrupt or truncated Parquet data ({exc})", path=part) from None
            n = table.num_rows
            jobs = [(table.column(c.name).chunks, dst, pos) for c, dst in zip(COLUMNS, out)]
            list(_copy_pool().map(_copy_chunks, jobs))
            pos += n
        if pos != total:
            raise DataError(f"parts hold {pos} rows but manifest.json says {total}", path=self.path / "manifest.json",
                            field="events")
        return out

    def _asset_ids(self, assets: Sequence[str | int] | None) -> np.ndarray | None:
        if assets is None:
            return None
        if isinstance(assets, (str, int)):
            assets = [assets]
        return np.array([self.asset_index(a) for a in assets], dtype=np.int32)

    # -- writing ----------------------------------------------------------------------------

    @staticmethod
    def write(path: str | Path, events: EventColumns | np.ndarray, instruments: list[Instrument], *,
              provenance: dict[str, Any] | None = None, conversion: dict[str, Any] | None = None,
              part_rows: int = DEFAULT_PART_ROWS, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
              overwrite: bool = False) -> "Recording":
        """Write events (sorted by ts_local) and instruments as a recording directory and open it."""
        write_recording(path, events, instruments, provenance=provenance, conversion=conversion,
                        part_rows=part_rows, row_group_rows=row_group_rows, overwrite=overwrite)
        return Recording(path)


_POOL = None


def _copy_pool():
    """Threads for the column copies (numpy releases the GIL while copying)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="arbkit-load")
    return _POOL


def _copy_chunks(job) -> None:
    chunks, dst, off = job
    for chunk in chunks:
        m = len(chunk)
        dst[off:off + m] = arrow_to_numpy(chunk)
        off += m


def load(path: str | Path) -> Recording:
    """Open a recording directory."""
    return Recording(path)


def _polars_dtype(np_dtype: str) -> Any:
    return {"int64": pl.Int64, "int32": pl.Int32, "uint8": pl.UInt8, "int8": pl.Int8, "float64": pl.Float64}[np_dtype]


def _filter(lf: pl.LazyFrame, ids: np.ndarray | None, start: int | None, end: int | None) -> pl.LazyFrame:
    if ids is not None:
        lf = lf.filter(pl.col("asset").is_in([int(i) for i in ids]))
    if start is not None:
        lf = lf.filter(pl.col("ts_local") >= int(start))
    if end is not None:
        lf = lf.filter(pl.col("ts_local") < int(end))
    return lf


def _mask(cols: EventColumns, ids: np.ndarray | None, start: int | None, end: int | None) -> np.ndarray:
    m = np.ones(len(cols), dtype=bool)
    if ids is not None:
        m &= np.isin(cols.asset, ids)
    if start is not None:
        m &= cols.ts_local >= start
    if end is not None:
        m &= cols.ts_local < end
    return m

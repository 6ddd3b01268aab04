"""A recording's Parquet parts: where they live, their sizes, opening one with its schema checked, reading its batches.

Shared by the reader (:mod:`arbkit.io.recording`), the writer (which reads the parts
back when it resumes a recording) and the checks (:mod:`arbkit.io.check`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from arbkit.core.columns import EventColumns
from arbkit.core.errors import DataError
from arbkit.core.schema import ARROW_SCHEMA, COLUMNS

PARTS_DIR = "parts"
DEFAULT_ROW_GROUP_ROWS = 65_536
DEFAULT_PART_ROWS = 1_048_576


def check_part_schema(schema: pa.Schema, path: Path) -> None:
    """Raise a DataError naming the first column whose name or type differs from the event schema."""
    names = schema.names
    for i, col in enumerate(COLUMNS):
        if col.name not in names:
            raise DataError(f"column {col.name!r} is missing (found {names})", path=path, field=col.name)
        found = schema.field(col.name).type
        if found != col.arrow:
            raise DataError(f"column {col.name!r} has type {found}, expected {col.arrow}", path=path, field=col.name)
    extra = [n for n in names if n not in ARROW_SCHEMA.names]
    if extra:
        raise DataError(f"unexpected columns {extra}", path=path, field=extra[0])


def open_part(path: Path) -> pq.ParquetFile:
    """One part opened for reading, its schema checked; a DataError naming it when it is missing or unreadable."""
    if not path.is_file():
        raise DataError("part listed in manifest.json is missing", path=path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise DataError(f"corrupt or truncated Parquet file ({exc})", path=path) from None
    check_part_schema(pf.schema_arrow, path)
    return pf


def iter_part_columns(path: Path, rows: int = DEFAULT_ROW_GROUP_ROWS) -> Iterator[EventColumns]:
    """The part's events in order, at most ``rows`` at a time, read one batch at a time."""
    pf = open_part(path)
    try:
        for batch in pf.iter_batches(batch_size=rows):
            yield EventColumns.from_arrow(batch)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"corrupt or truncated Parquet data ({exc})", path=path) from None

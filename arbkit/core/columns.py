"""Contiguous per-column event arrays: the form the numba engine reads."""
from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np
import pyarrow as pa

from arbkit.core.schema import ARROW_SCHEMA, COLUMNS, EVENT_DTYPE


#: Arrow fixed-width number types read straight from their data buffer
_NUMPY_OF_ARROW = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
                   pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
                   pa.float32(): np.float32, pa.float64(): np.float64}


def arrow_to_numpy(arr: pa.Array) -> np.ndarray:
    """An Arrow array as numpy: a view of the data buffer for a number column without nulls (pyarrow's own
    ``to_numpy`` imports pandas on first use, ~0.4 s of every fresh process's first replay), else ``to_numpy``."""
    dtype = _NUMPY_OF_ARROW.get(arr.type)
    if dtype is None or arr.null_count:
        return arr.to_numpy(zero_copy_only=False)
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * np.dtype(dtype).itemsize)


class EventColumns(NamedTuple):
    """One contiguous numpy array per schema column, all of the same length."""

    ts_exch: np.ndarray
    ts_local: np.ndarray
    asset: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    seq: np.ndarray

    def __len__(self) -> int:  # type: ignore[override]
        return int(self.ts_local.shape[0])

    @property
    def nrows(self) -> int:
        """Number of rows."""
        return int(self.ts_local.shape[0])

    @classmethod
    def empty(cls, n: int = 0) -> "EventColumns":
        """An empty table."""
        return cls(*(np.zeros(n, dtype=c.numpy) for c in COLUMNS))

    @classmethod
    def from_arrays(cls, **arrays: Iterable) -> "EventColumns":
        """Build from array-likes keyed by column name, casting each to the schema dtype."""
        missing = [c.name for c in COLUMNS if c.name not in arrays]
        if missing:
            raise ValueError(f"missing event columns: {missing}")
        return cls(*(np.ascontiguousarray(np.asarray(arrays[c.name]), dtype=c.numpy) for c in COLUMNS))

    @classmethod
    def from_structured(cls, events: np.ndarray) -> "EventColumns":
        """Columns from a structured array of the schema."""
        return cls(*(np.ascontiguousarray(events[c.name]) for c in COLUMNS))

    @classmethod
    def from_arrow(cls, table: pa.Table | pa.RecordBatch) -> "EventColumns":
        """Columns of an Arrow table/batch as numpy (zero-copy where the column is one chunk)."""
        out = []
        for c in COLUMNS:
            col = table.column(c.name)
            if isinstance(col, pa.ChunkedArray):
                if col.num_chunks == 1:
                    arr = arrow_to_numpy(col.chunk(0))
                elif col.num_chunks == 0:
                    arr = np.zeros(0, dtype=c.numpy)
                else:
                    arr = np.concatenate([arrow_to_numpy(ch) for ch in col.chunks])
            else:
                arr = arrow_to_numpy(col)
            out.append(np.ascontiguousarray(arr, dtype=c.numpy))
        return cls(*out)

    def to_structured(self) -> np.ndarray:
        """The rows as a structured array."""
        out = np.empty(len(self), dtype=EVENT_DTYPE)
        for c in COLUMNS:
            out[c.name] = getattr(self, c.name)
        return out

    def to_arrow(self) -> pa.Table:
        """The columns as an Arrow table (the Parquet schema)."""
        return pa.Table.from_arrays([pa.array(getattr(self, c.name)) for c in COLUMNS], schema=ARROW_SCHEMA)

    def replace(self, **columns: np.ndarray) -> "EventColumns":
        """A copy with some columns swapped (NamedTuple._replace is unusable: __len__ counts rows here)."""
        return EventColumns(*(columns.get(c.name, getattr(self, c.name)) for c in COLUMNS))

    def take(self, index: np.ndarray | slice) -> "EventColumns":
        """Rows selected by a mask, indices or a slice."""
        return EventColumns(*(np.ascontiguousarray(a[index]) for a in self))

    @classmethod
    def concat(cls, parts: list["EventColumns"]) -> "EventColumns":
        """Tables one after another."""
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, c.name) for p in parts]) for c in COLUMNS))

    def equals(self, other: "EventColumns") -> bool:
        """Exact equality, NaN-safe for the float columns (bitwise)."""
        return all(
            a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
            for a, b in zip(self, other)
        )

"""Reading source files line by line with errors that name the file and line, and their clocks checked.

Clock rule (every capture reader: Binance and Bybit captures, cryptofeed, the Polymarket
collector, tardis, LOBSTER): the local receive time of one stream (a file, or one
connection of a cryptofeed capture) must never go back. A line whose time is before the
line above it means the capture machine's clock was set back (an NTP step, a VM resume):
the times on the two sides of the step cannot both be right, and sorting the events by
them would interleave messages received seconds apart, building books that never existed.
Any repair (holding the clock, shifting it, dropping the overlap) would invent the receive
times that latency, time limits and fills are computed from, so conversion stops at that
line with an error naming it and the size of the step; cut the file there and convert the
two parts as separate recordings.
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any, Iterator

from arbkit.core.errors import DataError
from arbkit.io.manifest import sha256_file


def open_text(path: str | Path):
    """A text reader for a plain or gzipped file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("source file does not exist", path=path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, "rt", encoding="utf-8", newline="")


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without newline); truncated/corrupt gzip raises DataError."""
    lineno = 0
    try:
        with open_text(path) as fh:
            for line in fh:
                lineno += 1
                line = line.rstrip("\r\n")
                if line:
                    yield lineno, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"truncated or corrupt compressed file after line {lineno} ({exc})", path=path,
                        row=lineno + 1) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path=path, row=lineno + 1) from None


class LocalClock:
    """The clock rule of the module doc for one source file: per stream, receive times never go back."""

    def __init__(self, path: str | Path, field: str = "local_ts") -> None:
        self.path = path
        self.field = field
        self._last: dict[Any, tuple[int, int]] = {}

    def check(self, ts_ns: int, row: int, stream: Any = None) -> int:
        """``ts_ns`` (the receive time of line ``row``), or a DataError when it is before the stream's previous one."""
        last = self._last.get(stream)
        if last is not None and ts_ns < last[0]:
            of = f" of stream {stream}" if stream is not None else ""
            raise DataError(f"local time{of} steps back {(last[0] - ts_ns) / 1e9:.3f} s ({ts_ns} after {last[0]} on "
                            f"line {last[1]}): the capture's clock was set back, so its events cannot be put in one "
                            f"order; cut the file at this line and convert the two parts separately",
                            path=self.path, row=row, field=self.field)
        self._last[stream] = (ts_ns, row)
        return ts_ns


def loads(text: str, *, path: str | Path, row: int) -> Any:
    """Parse JSON text; a DataError naming file and row."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at column {exc.colno})", path=path, row=row) from None


def read_json_document(path: str | Path) -> Any:
    """A whole (possibly gzipped) JSON document."""
    try:
        with open_text(path) as fh:
            text = fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"truncated or corrupt compressed file ({exc})", path=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", path=path,
                        row=exc.lineno) from None


def source_provenance(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Name, size and sha256 of every source file, for the manifest."""
    out = []
    for p in paths:
        p = Path(p)
        out.append({"file": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    return out

"""Reading source files line by line with errors that name the file and line."""
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

"""The recorder's raw message log: gzip NDJSON, one line per message as received.

Each line is ``{"ts": <local receive ns>, "venue": ..., "conn": <connection number>, "msg": <raw text>}``
(REST snapshots too, with ``"rest": url``). Every line is followed by a gzip sync flush, so
a killed recorder leaves a file whose every complete line can be read back
(:func:`read_raw_log` stops quietly at a torn end). Files rotate with the Parquet parts.
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any, Iterator


class RawLog:
    """Append-only raw message log with per-line sync flush."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = gzip.open(self.path, "ab", compresslevel=3)
        self.bytes_in = 0
        self.lines = 0

    def write(self, ts: int, venue: str, conn: int, text: str, **extra: Any) -> None:
        """Append one frame (or REST body) with its receive time; flushed at once."""
        rec = {"ts": ts, "venue": venue, "conn": conn, "msg": text, **extra}
        data = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        self._fh.write(data)
        self._fh.flush()  # Z_SYNC_FLUSH: the line is decodable from disk even if the process dies now
        self.bytes_in += len(data)
        self.lines += 1

    def close(self) -> None:
        """Close the file (the gzip trailer)."""
        if not self._fh.closed:
            self._fh.close()


def read_raw_log(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every complete line of a raw log; a torn last line (or missing gzip trailer) after a kill is skipped.

    Decompresses with zlib directly so that everything up to the last sync flush is kept (a
    gzip reader would raise on the truncated stream and drop its last buffer).
    """
    pending = b""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            while chunk:
                try:
                    out = d.decompress(chunk)
                except zlib.error:
                    return  # corrupt from here on: what came before was yielded
                pending += out
                chunk = b""
                if d.eof:  # next gzip member (the file is appended to after a restart)
                    chunk = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line:
                    yield json.loads(line)

"""The recorder's raw message log: gzip NDJSON, one line per message as received.

Each line is ``{"ts": <local receive ns>, "venue": ..., "conn": <connection number>, "msg": <raw text>}``
(REST snapshots too, with ``"rest": url``). Binary frames are kept byte for byte: as text
with ``"binary": true`` when they are UTF-8, else base64 in ``"b64"`` with
``"marker": "binary-not-utf8"`` and a ``"reason"`` (never with U+FFFD in place of their bytes). Marker lines
record what the recorder could not keep: ``{"ts", "venue", "conn", "marker": "oversize",
"size", "limit", "reason"}`` for a frame over the size limit (its bytes were never read),
``"marker": "protocol-error"`` with the close ``code`` when websockets failed the connection
(e.g. 1007: a text frame that is not UTF-8, whose bytes websockets does not hand over).
Every line is followed by a gzip sync flush, so a killed recorder leaves a file whose every
complete line can be read back (:func:`read_raw_log` stops quietly at a torn end).
"""
from __future__ import annotations

import base64
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

    def write(self, ts: int, venue: str, conn: int, frame: str | bytes, **extra: Any) -> None:
        """Append one frame (or REST body) with its receive time, byte-exact; flushed at once."""
        rec: dict[str, Any] = {"ts": ts, "venue": venue, "conn": conn}
        if isinstance(frame, str):
            rec["msg"] = frame
        else:
            try:
                rec.update(msg=frame.decode("utf-8"), binary=True)
            except UnicodeDecodeError as exc:
                rec.update(b64=base64.b64encode(frame).decode("ascii"), marker="binary-not-utf8", size=len(frame),
                           reason=f"binary frame is not UTF-8 ({exc.reason} at byte {exc.start}); kept as base64")
        self._append({**rec, **extra})

    def marker(self, ts: int, venue: str, conn: int, marker: str, **fields: Any) -> None:
        """Append a marker line (no frame): what happened and why, e.g. ``oversize`` with size and limit."""
        self._append({"ts": ts, "venue": venue, "conn": conn, "marker": marker, **fields})

    def _append(self, rec: dict[str, Any]) -> None:
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

    ``msg`` is what the websocket delivered: ``str`` for a text frame, ``bytes`` for a binary
    one (decoded from ``b64`` when it was not UTF-8); marker lines have no ``msg``.

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
                    yield _frame(json.loads(line))


def _frame(rec: dict[str, Any]) -> dict[str, Any]:
    """A raw-log line with ``msg`` back as the websocket delivered it."""
    if "b64" in rec:
        rec["msg"] = base64.b64decode(rec.pop("b64"))
    elif rec.get("binary"):
        rec["msg"] = rec["msg"].encode("utf-8")
    return rec

"""``manifest.json``: what a recording holds, read and written atomically."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arbkit.core.errors import DataError
from arbkit.core.schema import READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, Instrument

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "arbkit-recording"


@dataclass
class PartInfo:
    """One Parquet part file of a recording."""

    path: str  # relative to the recording directory
    rows: int
    sha256: str
    bytes: int
    start_ns: int
    end_ns: int
    row_groups: int

    def to_dict(self) -> dict[str, Any]:
        """The part entry as plain data."""
        return dict(self.__dict__)


@dataclass
class Manifest:
    """Everything a recording says about itself besides its events."""

    instruments: list[Instrument]
    parts: list[PartInfo] = field(default_factory=list)
    events: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    per_instrument: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    conversion: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain data (manifest.json)."""
        return {
            "format": FORMAT_NAME,
            "schema_version": self.schema_version,
            "complete": self.complete,
            "events": self.events,
            "by_kind": self.by_kind,
            "gaps": self.gaps,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "instruments": [i.to_dict() for i in self.instruments],
            "per_instrument": self.per_instrument,
            "parts": [p.to_dict() for p in self.parts],
            "provenance": self.provenance,
            "conversion": self.conversion,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: Path) -> "Manifest":
        """A manifest from manifest.json's data."""
        if d.get("format") != FORMAT_NAME:
            raise DataError(f"not an arbkit recording manifest (format={d.get('format')!r})", path=path, field="format")
        version = d.get("schema_version")
        if version not in READABLE_SCHEMA_VERSIONS:
            raise DataError(
                f"schema_version {version!r} is not supported (this arbkit reads "
                f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))})",
                path=path, field="schema_version",
            )
        for key in ("instruments", "parts"):
            if key not in d:
                raise DataError(f"missing key {key!r}", path=path, field=key)
            if not isinstance(d[key], list) or not all(isinstance(x, dict) for x in d[key]):
                raise DataError(f"must be a list of objects, got {_short(d[key])}", path=path, field=key)
        instruments = []
        for i, x in enumerate(d["instruments"]):
            try:
                instruments.append(Instrument.from_dict(x))
            except ValueError as exc:
                raise DataError(f"bad entry: {exc}", path=path, field=f"instruments[{i}]") from None
        parts = []
        for i, p in enumerate(d["parts"]):
            try:
                parts.append(PartInfo(**p))
            except TypeError as exc:
                raise DataError(f"bad entry ({exc})", path=path, field=f"parts[{i}]") from None
        return cls(
            instruments=instruments,
            parts=parts,
            events=int(d.get("events", 0)),
            by_kind=dict(d.get("by_kind", {})),
            gaps=int(d.get("gaps", 0)),
            start_ns=d.get("start_ns"),
            end_ns=d.get("end_ns"),
            per_instrument=list(d.get("per_instrument", [])),
            provenance=dict(d.get("provenance", {})),
            conversion=dict(d.get("conversion", {})),
            schema_version=version,
            complete=bool(d.get("complete", True)),
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_manifest(directory: str | Path) -> Manifest:
    """Read and check ``DIR/manifest.json``; errors name the file and the key."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not directory.exists():
        raise DataError("recording directory does not exist", path=directory)
    if not path.is_file():
        raise DataError("no manifest.json: not a recording directory (convert raw files with `arbkit convert`)", path=path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"manifest is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", path=path) from None
    if not isinstance(data, dict):
        raise DataError("manifest must be a JSON object", path=path)
    return Manifest.from_dict(data, path)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_manifest(directory: str | Path, manifest: Manifest) -> None:
    """Write manifest.json atomically (temporary file, then rename)."""
    atomic_write_text(Path(directory) / MANIFEST_NAME, json.dumps(manifest.to_dict(), indent=1, sort_keys=False) + "\n")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()

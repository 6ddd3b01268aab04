"""Exceptions that name where bad input is: file, row and field."""
from __future__ import annotations

from pathlib import Path


class ArbkitError(Exception):
    """Base class of every error arbkit raises on purpose."""


class DataError(ArbkitError, ValueError):
    """Bad input data. ``path``, ``row`` and ``field`` say where, the message says what."""

    def __init__(self, message: str, *, path: str | Path | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.row = row
        self.field = field
        self.problem = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ConfigError(ArbkitError, ValueError):
    """A bad configuration value; the message names the key."""

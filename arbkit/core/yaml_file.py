"""Read a YAML settings file as a plain mapping, with one clear error naming the file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from arbkit.core.errors import ConfigError


def read_yaml_mapping(path: str | Path, what: str = "run config", expected: str = "a mapping") -> dict[str, Any]:
    """The file's mapping ({} when empty); a ConfigError naming the file when it cannot be read or is not a mapping."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read {what} ({' '.join(str(exc).split())})") from None  # one line
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected {expected}")
    return data

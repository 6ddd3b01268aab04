"""Parameter sets: the cartesian grid, seeded random samples, and a stable id per set (for resume)."""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np

from arbkit.core.errors import ConfigError


def _values(key: str, v: Any) -> list[float]:
    vals = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]
    if not vals:
        raise ConfigError(f"grid.{key}: empty list of values")
    out = []
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
            raise ConfigError(f"grid.{key}: {x!r} is not a finite number")
        out.append(float(x))
    return out


def expand_grid(spec: Mapping[str, Any]) -> list[dict[str, float]]:
    """Every combination of the listed values, in the order the keys and values are given."""
    if not spec:
        raise ConfigError("grid: no parameters to sweep")
    keys = list(spec)
    lists = [_values(k, spec[k]) for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]


def random_grid(spaces: Mapping[str, Any], n: int, seed: int = 0) -> list[dict[str, float]]:
    """``n`` seeded samples: ``[lo, hi]`` pairs are uniform ranges, longer lists are choices."""
    if n <= 0:
        raise ConfigError(f"random grid: n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        row = {}
        for k, v in spaces.items():
            vals = _values(k, v)
            if len(vals) == 2:
                row[k] = float(rng.uniform(vals[0], vals[1]))
            else:
                row[k] = float(vals[int(rng.integers(len(vals)))])
        out.append(row)
    return out


def param_id(params: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """A stable 16-hex id of a parameter set (and the run settings it goes with)."""
    blob = json.dumps({"params": {k: float(v) for k, v in sorted(params.items())}, "extra": extra or {}},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def as_list(grid: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[dict[str, float]]:
    """A grid given as a mapping of value lists, or already as a list of parameter sets."""
    if isinstance(grid, Mapping):
        return expand_grid(grid)
    out = [dict(p) for p in grid]
    if not out:
        raise ConfigError("grid: no parameter sets")
    return out

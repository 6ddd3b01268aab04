"""Strategy kernels for the engine (one module per strategy) and the name registry configs refer to."""
from __future__ import annotations

import importlib
from typing import Any, Callable

from arbkit.core.errors import ConfigError

#: name -> "module:factory"; a factory returns an arbkit Strategy
REGISTRY: dict[str, str] = {
    "arb": "arbkit.strategies.arb:arb",
    "mm": "arbkit.strategies.mm:mm",
    "touch_mm": "arbkit.strategies.touch_mm:touch_mm",
    "cross_taker": "arbkit.strategies.cross_taker:cross_taker",
    "pm_mm": "arbkit.strategies.pm_mm:pm_mm",
}


def get_strategy(name: str, **options: Any):
    """The Strategy called ``name`` (a registry name, or ``package.module:factory`` for your own)."""
    target = REGISTRY.get(name, name)
    if ":" not in target:
        raise ConfigError(f"strategy {name!r} is not one of {sorted(REGISTRY)} and not 'module:factory'")
    module, attr = target.split(":", 1)
    try:
        factory: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"strategy {name!r}: cannot import {target} ({exc})") from None
    return factory(**options)

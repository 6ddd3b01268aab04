"""The numba replay engine: books, orders, latency, fills, accounting, streaming replay.

Names are loaded on first use so that importing one engine module
does not compile the whole engine.
"""
from __future__ import annotations

from typing import Any

from arbkit.core.numba_cache import purge_stale_caches

purge_stale_caches()

_EXPORTS = {
    "FillModel": "arbkit.engine.config", "LatencyModel": "arbkit.engine.config",
    "LatencySpec": "arbkit.engine.config", "Schedule": "arbkit.engine.config", "RiskGuards": "arbkit.engine.config",
    "Replayer": "arbkit.engine.runner", "replay": "arbkit.engine.runner",
    "Result": "arbkit.engine.result", "fills_hash": "arbkit.engine.result",
    "Strategy": "arbkit.engine.strategy", "strategy_kernel": "arbkit.engine.strategy",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'arbkit.engine' has no attribute {name!r}")

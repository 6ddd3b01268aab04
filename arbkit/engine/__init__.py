"""The numba replay engine: orders, latency, fills, accounting and the event loop, over event columns.

This package exports the light names (models, strategy declaration, the plain Result);
the loop itself (:mod:`arbkit.engine.replayer`, :mod:`arbkit.engine.batch`) compiles or
loads its machine code on import, so it is imported by name where it is used.
"""
from __future__ import annotations

from arbkit.core.numba_cache import purge_stale_caches

purge_stale_caches()

from arbkit.engine.config import FillModel, LatencyModel, LatencySpec, RiskGuards, Schedule  # noqa: E402
from arbkit.engine.result import Result, fills_hash  # noqa: E402
from arbkit.engine.strategy import Strategy, strategy_kernel  # noqa: E402

__all__ = ["FillModel", "LatencyModel", "LatencySpec", "Result", "RiskGuards", "Schedule", "Strategy", "fills_hash",
           "strategy_kernel"]

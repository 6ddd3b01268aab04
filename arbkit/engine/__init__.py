"""The numba replay engine: books, orders, latency, fills, accounting, streaming replay."""
from arbkit.engine.config import FillModel, LatencyModel, LatencySpec, Schedule
from arbkit.engine.replay import Replayer, replay
from arbkit.engine.result import Result, fills_hash
from arbkit.engine.strategy import Strategy, strategy_kernel

__all__ = ["FillModel", "LatencyModel", "LatencySpec", "Replayer", "Result", "Schedule", "Strategy", "fills_hash",
           "replay", "strategy_kernel"]

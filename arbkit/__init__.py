"""arbkit: record/replay backtesting for order-book trading."""
from arbkit.core.schema import EVENT_DTYPE, Instrument, Kind
from arbkit.core.version import __version__
from arbkit.io import EventColumns, Recording, load, merge_recordings

_ENGINE = ("FillModel", "LatencyModel", "Result", "Schedule", "Strategy", "strategy_kernel")
_RUN = ("replay", "replay_batch", "evaluate")

__all__ = ["EVENT_DTYPE", "EventColumns", "Instrument", "Kind", "Recording", "__version__", "load", "merge_recordings",
           *_ENGINE, *_RUN]


def __getattr__(name: str):
    """Engine names load on first use: importing them compiles or loads the numba engine (seconds), which
    ``import arbkit`` for loading and inspecting recordings should not pay (the package's only lazy in-house imports)."""
    if name in ("replay", "replay_batch"):
        import arbkit.run.replay
        return getattr(arbkit.run.replay, name)
    if name == "evaluate":
        from arbkit.kpi.evaluation import evaluate
        return evaluate
    if name in _ENGINE:
        import arbkit.engine
        return getattr(arbkit.engine, name)
    raise AttributeError(f"module 'arbkit' has no attribute {name!r}")

"""arbkit: record/replay backtesting for order-book trading."""
from arbkit.io import EventColumns, Recording, load, merge_recordings
from arbkit.core.schema import EVENT_DTYPE, Instrument, Kind

__version__ = "0.1.0"

_ENGINE = ("FillModel", "LatencyModel", "Result", "Schedule", "Strategy", "replay", "strategy_kernel")

__all__ = ["EVENT_DTYPE", "EventColumns", "Instrument", "Kind", "Recording", "__version__", "load", "merge_recordings",
           *_ENGINE]


def __getattr__(name: str):
    """Engine names load on first use (importing them compiles or loads the numba engine)."""
    if name in _ENGINE:
        import arbkit.engine
        return getattr(arbkit.engine, name)
    raise AttributeError(f"module 'arbkit' has no attribute {name!r}")

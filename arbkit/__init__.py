"""arbkit: record/replay backtesting for order-book trading."""
from arbkit.io import EventColumns, Recording, load, merge_recordings
from arbkit.schema import EVENT_DTYPE, Instrument, Kind

__version__ = "0.1.0"

__all__ = ["EVENT_DTYPE", "EventColumns", "Instrument", "Kind", "Recording", "__version__", "load", "merge_recordings"]

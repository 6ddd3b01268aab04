"""Live recording: venue adapters over websockets, a raw message log, Parquet parts that survive a kill."""
from arbkit.live.record.recorder import Recorder, RecorderError, VenueSpec, record
from arbkit.live.record.raw_log import RawLog, read_raw_log

__all__ = ["RawLog", "Recorder", "RecorderError", "VenueSpec", "read_raw_log", "record"]

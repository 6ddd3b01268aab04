"""Recording directories: write (pyarrow), read (pyarrow/polars), merge, check, summarise."""
from arbkit.core.columns import EventColumns
from arbkit.io.manifest import Manifest, read_manifest
from arbkit.io.merge import merge_recordings
from arbkit.io.recording import Recording, load
from arbkit.io.writer import RecordingWriter, write_recording

__all__ = ["EventColumns", "Manifest", "Recording", "RecordingWriter", "load", "merge_recordings",
           "read_manifest", "write_recording"]

"""The recording directory lock: one holder at a time, a stale lock file (left by SIGKILL) does not block.

Two real processes against one directory: tests/live/test_record_faults.py."""
import os

import pytest

from arbkit.io.lock import LOCK_NAME, DirectoryLock, DirectoryLocked, dir_has_files


def test_lock_file_left_by_a_killed_holder_does_not_block(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / LOCK_NAME).write_text("999999 arbkit record\n")  # what SIGKILL leaves: the file, no lock
    with DirectoryLock(d, "test") as lock:
        assert lock.held and (d / LOCK_NAME).read_text() == f"{os.getpid()} test\n"
        with pytest.raises(DirectoryLocked, match=f"{d}: in use by pid {os.getpid()} \\(test\\)"):
            DirectoryLock(d, "other").acquire()
    assert not (d / LOCK_NAME).exists()
    assert not dir_has_files(d)
    (d / "x").write_text("x")
    assert dir_has_files(d)

"""One writer per recording directory: an OS-level exclusive lock on a file inside it.

A recorder, a paper run or a recording writer holds ``DIR/.arbkit.lock`` (``flock``) while it
writes ``DIR``; a second one fails at once, naming the directory and the holder's pid, before
it deletes or writes anything. The OS releases the lock when the holder dies, even by
SIGKILL, so a stale lock file never blocks the next run (it is ignored and reused).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from arbkit.core.errors import ArbkitError

LOCK_NAME = ".arbkit.lock"


class DirectoryLocked(ArbkitError):
    """Another live process holds the directory's lock (or the lock cannot be taken)."""


class DirectoryLock:
    """``DirectoryLock(dir, "arbkit record").acquire()`` … ``release()`` (or a ``with`` block)."""

    def __init__(self, directory: str | Path, holder: str = "arbkit") -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.holder = holder
        self._fh: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fh is not None

    def acquire(self) -> "DirectoryLock":
        """Take the lock (creating the directory); :class:`DirectoryLocked` names the holder when taken."""
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            fh = open(self.path, "a+b")  # noqa: SIM115 (held open for the lock's life; closed by release or GC)
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder(fh)
                fh.close()
                raise DirectoryLocked(f"{self.directory}: in use by {who}; nothing was deleted or written "
                                      f"(stop that process or choose another directory)") from None
            except OSError as exc:
                fh.close()
                raise DirectoryLocked(f"{self.directory}: cannot lock {LOCK_NAME} ({exc.strerror or exc})") from None
            # a holder releasing right now unlinks the file we opened: lock the one now at the path instead
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()
        fh.truncate(0)
        fh.write(f"{os.getpid()} {self.holder}\n".encode())
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Give the lock up and remove the lock file (a no-op when not held)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            os.unlink(self.path)  # while still locked, so a waiter that opened this file retries on a new one
        except OSError:
            pass
        fh.close()

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _holder(fh: IO[bytes]) -> str:
    """'pid N (what)' from a lock file's first line, as its holder wrote it."""
    try:
        fh.seek(0)
        pid, _, what = fh.read(200).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        pid, what = "", ""
    if not pid.isdigit():
        return "another process (pid unknown: it is starting)"
    return f"pid {pid}" + (f" ({what})" if what else "")


def dir_has_files(directory: Path) -> bool:
    """True when ``directory`` exists and holds anything besides its lock file."""
    return directory.is_dir() and any(p.name != LOCK_NAME for p in directory.iterdir())

"""Output directories checked before any work: a run that cannot save its results fails first, not last."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from arbkit.core.errors import ConfigError


def writable_dir(path: str | Path, what: str = "output directory") -> Path:
    """``path`` created if missing and proven writable (a probe file written and removed); a ConfigError naming it."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".arbkit-write-probe.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{p}: {what} is not writable ({exc.strerror or exc}); nothing was computed") from None
    return p

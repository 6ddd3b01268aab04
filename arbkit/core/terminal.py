"""What the process may draw on its terminal (progress bars, status lines)."""
from __future__ import annotations

import os
import sys


def progress_wanted(enabled: bool | None) -> bool:
    """Draw live output when asked for, or (``None``) on a terminal outside CI."""
    if enabled is not None:
        return bool(enabled)
    return sys.stderr.isatty() and not os.environ.get("CI")


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), MB; NaN where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")

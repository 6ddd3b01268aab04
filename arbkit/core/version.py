"""The package version (one place; reports and sweep manifests record it) and the code's git commit when known."""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

__version__ = "0.1.0"


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """``{"arbkit": version, "git_commit": sha or None, "git_dirty": bool or None}`` of the running code.

    The commit is read from the checkout the package was imported from (an editable install);
    an installed wheel has none, and then both git fields are None.
    """
    root = Path(__file__).resolve().parents[2]
    commit = dirty = None
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    timeout=10).stdout.strip() or None
            if commit:
                status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                        capture_output=True, text=True, timeout=10)
                dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            commit = dirty = None
    return {"arbkit": __version__, "git_commit": commit, "git_dirty": dirty}

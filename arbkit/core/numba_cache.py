"""Drop arbkit's numba caches when its source changes.

Numba checks a cached function against its own file only; the engine loop inlines code
from other modules (matching, orders, book …), so an edit there would otherwise replay
with stale machine code. A stamp over every arbkit source file that holds compiled code is kept beside the caches;
when it differs, arbkit's ``*.nbi`` / ``*.nbc`` files are removed before anything compiles.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the arbkit package
STAMP_NAME = "arbkit-source.stamp"


def source_stamp() -> str:
    """Hash of every arbkit source file that holds compiled code (the others cannot make a cache stale)."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*.py")):
        text = p.read_bytes()
        if b"numba" not in text and b"strategy_kernel" not in text:
            continue
        h.update(str(p.relative_to(PACKAGE)).encode())
        h.update(text)
    return h.hexdigest()


def _cache_roots() -> list[Path]:
    roots = [PACKAGE]
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        roots.append(Path(env))
    return roots


def purge_stale_caches() -> bool:
    """Remove arbkit's numba cache files if the sources changed since they were written. True if purged."""
    stamp = source_stamp()
    purged = False
    for root in _cache_roots():
        stamp_file = root / "__pycache__" / STAMP_NAME if root == PACKAGE else root / STAMP_NAME
        try:
            if stamp_file.is_file() and stamp_file.read_text() == stamp:
                continue
            for f in list(root.rglob("*.nb[ic]")):
                if root == PACKAGE or "arbkit" in str(f):
                    f.unlink(missing_ok=True)
                    purged = True
            stamp_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = stamp_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(stamp)
            os.replace(tmp, stamp_file)
        except OSError:
            continue  # read-only install: numba then caches elsewhere or not at all
    return purged

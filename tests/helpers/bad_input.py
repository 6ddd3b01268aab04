"""Bad-input test tools: small real recordings, tampered parts, the CLI in a subprocess and its one-line error."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arbkit.core.columns import EventColumns
from arbkit.io.manifest import sha256_file
from arbkit.io.recording import Recording
from helpers.paths import BUNDLED, ROOT


def small_recording(out: Path, assets=(1,), seconds: float = 20.0, part_rows: int = 1 << 20,
                    rows: int | None = None) -> Path:
    """The first ``seconds`` (or ``rows``) of the bundled recording's ``assets`` (renumbered 0..), written to ``out``."""
    import arbkit

    rec = arbkit.load(BUNDLED)
    cols = rec.to_numpy(assets=list(assets), end=rec.manifest.start_ns + int(seconds * 1e9))
    if rows is not None:
        cols = cols.take(slice(0, rows))
    remap = np.full(len(rec.instruments), -1, np.int32)
    remap[list(assets)] = np.arange(len(assets), dtype=np.int32)
    Recording.write(out, cols.replace(asset=remap[cols.asset]), [rec.instruments[a] for a in assets],
                    part_rows=part_rows, overwrite=True)
    return out


def copy_recording(src: Path, dst: Path) -> Path:
    """A copy of a recording directory (to tamper with)."""
    shutil.copytree(src, dst)
    return dst


def tamper_part(rec_dir: Path, part: int, rows, *, rehash: bool = True, **values) -> Path:
    """Set ``values`` (column -> value) on ``rows`` of part ``part``; the manifest's sha256 follows unless not ``rehash``."""
    manifest = json.loads((rec_dir / "manifest.json").read_text())
    path = rec_dir / manifest["parts"][part]["path"]
    table = pq.read_table(path)
    cols = {name: table.column(name).to_numpy().copy() for name in table.column_names}
    for name, value in values.items():
        cols[name][rows] = value
    pq.write_table(pa.Table.from_arrays([pa.array(cols[n]) for n in table.column_names], schema=table.schema), path)
    if rehash:
        manifest["parts"][part]["sha256"] = sha256_file(path)
        (rec_dir / "manifest.json").write_text(json.dumps(manifest))
    return path


def part_columns(rec_dir: Path, part: int = 0) -> EventColumns:
    """One part's rows as EventColumns."""
    manifest = json.loads((rec_dir / "manifest.json").read_text())
    return EventColumns.from_arrow(pq.read_table(rec_dir / manifest["parts"][part]["path"]))


def run_cli(*args: str, program: str | None = "arbkit.apps.cli", cwd: Path | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m <program> args`` (``python args`` when ``program`` is None) in a subprocess, with ``env``
    added; output captured as text."""
    env = {**{k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}, "CI": "true", "PYTHONPATH": str(ROOT),
           **(env or {})}
    argv = [sys.executable, *(["-m", program] if program else []), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess, *needles: str, rc: int = 2) -> str:
    """Assert the process failed with exit code ``rc`` and one stderr line holding every needle; return the line."""
    err = proc.stderr.strip()
    assert proc.returncode == rc, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-3000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]

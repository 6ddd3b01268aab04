"""Load speed: recording -> contiguous numpy columns, as a ratio to a bare pyarrow read of the same parts.

Both sides read the same Parquet parts in the same process run, alternating, best of N:
  baseline = pyarrow.parquet.read_table(part) for every part (Arrow tables, no numpy)
  arbkit   = Recording.to_numpy() (decode + one contiguous array per column)
ratio = baseline_seconds / arbkit_seconds (1.0 = as fast as the bare read).

    python benchmarks/bench_load.py [--recording DIR] [--repeat N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import pyarrow.parquet as pq

import arbkit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "recordings" / "binance_btc_3venues_20240808"


def bench(recording: Path, repeat: int) -> dict:
    rec = arbkit.load(recording)
    parts = rec.part_paths
    base, mine = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        tables = [pq.read_table(p) for p in parts]
        base.append(time.perf_counter() - t)
        del tables
        t = time.perf_counter()
        cols = rec.to_numpy()
        mine.append(time.perf_counter() - t)
    nbytes = sum(a.nbytes for a in cols)
    b, m = min(base), min(mine)
    return {
        "benchmark": "load",
        "recording": recording.name,
        "events": rec.n_events,
        "parquet_bytes": sum(p.stat().st_size for p in parts),
        "decoded_bytes": nbytes,
        "pyarrow_read_table_s": b,
        "arbkit_to_numpy_s": m,
        "ratio_vs_pyarrow": b / m,
        "arbkit_events_per_s": rec.n_events / m,
        "arbkit_decoded_GB_per_s": nbytes / m / 1e9,
        "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recording", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = bench(args.recording, args.repeat)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()

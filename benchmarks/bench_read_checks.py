"""What the row checks on read cost: the checks alone per row, and a streamed replay with and without them.

Same process, same recording, alternating, best of N:
  check      = arbkit.io.read_checks.RowGuard.check over every chunk already in memory (ns per row)
  replay     = arbkit.replay(recording, touch_mm) streamed from the Parquet parts (the checks run in the
               prefetch thread while the engine runs)
  unchecked  = the same replay with RowGuard.check replaced by the identity (what replay cost before)
ratio = unchecked_seconds / replay_seconds (1.0 = the checks cost nothing).

    python benchmarks/bench_read_checks.py [--recording DIR] [--repeat N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba

import arbkit
from arbkit.io.read_checks import RowGuard
from arbkit.run.replay import replay
from arbkit.strategies.touch_mm import touch_mm

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "recordings" / "binance_btc_3venues_20240808"
PARAMS = {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}


def bench(recording: Path, repeat: int) -> dict:
    rec = arbkit.load(recording)
    chunks = list(rec.iter_chunks(65_536))
    rows = sum(len(c) for c in chunks)
    ticks = [i.tick_size for i in rec.instruments]
    strat = touch_mm()
    replay(rec, strat, PARAMS)  # compile / load the caches once
    real_check = RowGuard.check
    check, checked, unchecked = [], [], []
    for _ in range(repeat):
        guard = RowGuard(ticks)
        t = time.perf_counter()
        for c in chunks:
            guard.check(c, "part", 0)
        check.append(time.perf_counter() - t)
        t = time.perf_counter()
        a = replay(rec, strat, PARAMS)
        checked.append(time.perf_counter() - t)
        RowGuard.check = lambda self, cols, path, offset: cols  # type: ignore[method-assign]
        try:
            t = time.perf_counter()
            b = replay(rec, strat, PARAMS)
            unchecked.append(time.perf_counter() - t)
        finally:
            RowGuard.check = real_check  # type: ignore[method-assign]
        assert a.fills_hash == b.fills_hash  # the checks change nothing on a clean recording
    c, r, u = min(check), min(checked), min(unchecked)
    return {
        "recording": str(recording), "rows": rows, "repeat": repeat,
        "check_seconds": c, "check_ns_per_row": c / rows * 1e9,
        "replay_seconds": r, "replay_unchecked_seconds": u, "ratio_unchecked_over_checked": u / r,
        "replay_events_per_s": rows / r, "replay_unchecked_events_per_s": rows / u,
        "machine": {"python": platform.python_version(), "numba": numba.__version__, "cpus": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(), "load_avg_1m": os.getloadavg()[0]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recording", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    out = bench(args.recording, args.repeat)
    text = json.dumps(out, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

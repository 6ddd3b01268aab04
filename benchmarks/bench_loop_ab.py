"""The single-run loop of another checkout against this one's, in one process, rounds alternating.

Separate processes on this shared machine differ by ±15 % for the same code, more than most
loop changes gain, so this compares two versions of ``arbkit.engine.loop.run_events_nb`` inside
one process: the ``--base`` checkout's function text and this checkout's are compiled side by side
(no cache, same flags) and driven chunk by chunk exactly as ``bench_breakdown.py``'s kernel stages
drive it, on the same in-memory ≥5M-event benchmark recording, alternating per round. Valid when
only the loop's body differs between the two (both are compiled against this checkout's helpers
and state): a change to the state, the helpers or the driver needs ``bench_engine_ab.py``.

Reports per workload each version's ns per row (best and median of ``--rounds``), the median of
the per-round ratios, and whether every run's ``fills_hash`` is equal.

    python benchmarks/bench_loop_ab.py --base /path/to/other/checkout [--recording DIR] [--rounds 7]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent
CHUNK = 1 << 16
WORKLOADS = ("books_only", "market_maker", "arbitrage")


def loop_text(path: Path, name: str) -> str:
    """``run_events_nb`` from a checkout's loop.py, renamed to ``name`` and compiled lazily without a cache."""
    src = path.read_text()
    head = "@njit(_run_sigs(), cache=True, nogil=True)\ndef run_events_nb"
    start = src.index(head)
    end = src.index("\n\n\n", start)
    return src[start:end].replace(head, f"@njit(nogil=True)\ndef {name}")


def build_module(base: Path, here: Path, out_dir: Path) -> Any:
    """A module holding ``run_base`` and ``run_here``, with loop.py's imports (this checkout's helpers)."""
    src = (here / "arbkit/engine/loop.py").read_text()
    header = src[:src.index("I64_MIN = ")]
    text = (header + "I64_MIN = np.iinfo(np.int64).min\n"
            "from arbkit.engine.loop import _save_pending_nb, crossed_book_nb  # noqa: E402,F401\n\n\n"
            + loop_text(base / "arbkit/engine/loop.py", "run_base") + "\n\n\n"
            + loop_text(here / "arbkit/engine/loop.py", "run_here") + "\n")
    path = out_dir / "loops_ab.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("loops_ab", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def revision(path: Path) -> str:
    out = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the other checkout (its arbkit/engine/loop.py)")
    ap.add_argument("--recording", default=None, help="the generated benchmark recording (made in a temp dir when missing)")
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=str(ROOT / "results" / "loop_ab.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "loop_ab.md"))
    args = ap.parse_args()

    from arbkit.apps import bench
    from arbkit.engine.replayer import Replayer
    from arbkit.io.recording import load

    tmp = tempfile.TemporaryDirectory()
    path = Path(args.recording) if args.recording else Path(tmp.name) / "bench"
    if not (path / "manifest.json").is_file():
        bench.make_bench_recording(path, args.events, source=ROOT.parent / "recordings" / "binance_btc_3venues_20240808")
    here = ROOT.parent
    base = Path(args.base).resolve()
    mod = build_module(base, here, Path(tmp.name))
    rec = load(path)
    cols = rec.to_numpy()
    arrays = tuple(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price,
                                                     cols.qty, cols.seq))
    n = len(cols)

    def run(fn: Callable, name: str, rows: int) -> tuple[float, str]:
        strat, params, schedule = bench._strategy(name)
        rp = Replayer(rec.instruments, strat, params, schedule=schedule, equity_interval_ms=1000.0,
                      **bench._replay_kwargs())
        rp._first_ts = int(arrays[0][0])
        t0 = time.process_time()
        for i in range(0, rows, CHUNK):
            view = tuple(a[i:min(i + CHUNK, rows)] for a in arrays)
            r = 0
            while r < len(view[0]):
                r = fn(rp._struct, strat.kernel, rp.params, rp.user, *view, r)
                rp._raise_engine_error(r)
                rp._drain()
        seconds = time.process_time() - t0
        return seconds, rp.finish().fills_hash

    versions = {"base": mod.run_base, "here": mod.run_here}
    for name in WORKLOADS:
        for fn in versions.values():
            run(fn, name, 20_000)  # compile
    ns: dict[tuple[str, str], list[float]] = {}
    hashes: dict[str, set[str]] = {}
    for _ in range(args.rounds):
        for name in WORKLOADS:
            for v, fn in versions.items():
                s, h = run(fn, name, n)
                ns.setdefault((name, v), []).append(s / n * 1e9)
                hashes.setdefault(name, set()).add(h)
    report: dict[str, Any] = {"machine": bench.machine(), "events": n, "rounds": args.rounds, "chunk_rows": CHUNK,
                              "base": {"path": str(base), "rev": revision(base)},
                              "here": {"path": str(here), "rev": revision(here)},
                              "command": "python benchmarks/bench_loop_ab.py --base <checkout>", "workloads": {}}
    lines = [f"{n:,} events; `run_events_nb` of {report['base']['rev']} (base) and {report['here']['rev']} (here) "
             f"in one process, {args.rounds} alternating rounds, CPU ns per row.", "",
             "| workload | base best | base median | here best | here median | base/here (median of rounds) | "
             "fills_hash equal |", "|---|---|---|---|---|---|---|"]
    for name in WORKLOADS:
        b, h = ns[(name, "base")], ns[(name, "here")]
        ratio = statistics.median(x / y for x, y in zip(b, h))
        report["workloads"][name] = {"base_ns_per_row": b, "here_ns_per_row": h, "ratio_median": ratio,
                                     "fills_hash_equal": len(hashes[name]) == 1}
        lines.append(f"| {name} | {min(b):.2f} | {statistics.median(b):.2f} | {min(h):.2f} | "
                     f"{statistics.median(h):.2f} | {ratio:.3f} | {len(hashes[name]) == 1} |")
    bench.write_report(report, args.json, args.markdown, "\n".join(lines) + "\n")
    tmp.cleanup()
    if not all(len(v) == 1 for v in hashes.values()):
        sys.exit("fills_hash differs between the two loops")


if __name__ == "__main__":
    main()

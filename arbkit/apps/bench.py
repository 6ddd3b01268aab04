"""``arbkit bench``: replay throughput and memory on a ≥5M-event recording, against a bare numba loop.

The benchmark recording is the bundled real recording repeated: each copy is shifted in
time by the recording's span and in price by a seeded random walk of whole 10-USD steps,
so the books, message sizes and arrival patterns are the real ones (nothing invented)
and the length can be scaled. Each figure is measured in one process run next to its
baseline — a bare ``@njit`` loop reading the same seven columns — and reported as a
ratio. Peak RSS is measured in a fresh process per run, streaming from disk, for the
recording and for one 4× longer.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import njit

from arbkit.engine.config import Schedule
from arbkit.io.recording import load
from arbkit.io.writer import RecordingWriter
from arbkit.run.replay import replay
from arbkit.strategies.cross_taker import cross_taker
from arbkit.strategies.touch_mm import touch_mm

#: the bundled recording, relative to the current directory (the repository's root); pass another with ``source``
BUNDLED = Path("recordings") / "binance_btc_3venues_20240808"
STRATEGIES = ("books_only", "market_maker", "arbitrage")


def make_bench_recording(path: Path, n_events: int, seed: int = 0, source: Path = BUNDLED) -> Path:
    """Write a recording of at least ``n_events`` rows made of shifted copies of ``source``."""
    rec = load(source)
    base = rec.to_numpy()
    span = int(base.ts_local[-1] - base.ts_local[0]) + 1_000_000
    rng = np.random.default_rng(seed)
    copies = -(-n_events // len(base))
    shift = 0.0
    priced = np.isin(base.kind, [1, 2, 3, 4])
    with RecordingWriter(path, rec.instruments, overwrite=True,
                         provenance={"generator": "arbkit.apps.bench.make_bench_recording", "copies": copies,
                                     "from": str(source), "seed": seed}) as w:
        for k in range(copies):
            price = base.price.copy()
            price[priced] += shift
            w.append(base.replace(ts_local=base.ts_local + k * span, ts_exch=base.ts_exch + k * span, price=price))
            shift += 10.0 * float(rng.choice([-1.0, 1.0]))
    return path


@njit(cache=True)
def bare_loop_nb(ts, asset, kind, side, price, qty, seq):
    """The floor: touch every column of every row once."""
    acc = 0.0
    last = 0
    for r in range(ts.shape[0]):
        acc += price[r] * qty[r] + side[r] + kind[r] + asset[r]
        last = ts[r] + seq[r]
    return acc + last


def _strategy(name: str):
    if name == "books_only":
        s = touch_mm()
        # the maker at its position limit of zero on both sides: books, schedule and checks, no orders
        return s, {"asset": 1, "half_spread_bps": 1.0, "order_size": 0.01, "max_position": 0.0}, Schedule(interval_ms=1000)
    if name == "market_maker":
        return touch_mm(100.0), {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}, None
    if name == "arbitrage":
        return cross_taker(), {"asset_a": 1, "asset_b": 2, "entry_bps": 1.5, "exit_bps": 0.0, "order_size": 1.0}, None
    raise ValueError(name)


def _replay_kwargs():
    return {"latency": {"entry": 1_000_000, "response": 1_000_000}, "fill": {"queue": "power"}, "seed": 1}


def time_in_memory(cols, instruments, name: str, repeat: int = 3) -> dict[str, Any]:
    """Best-of-``repeat`` events/s of the engine and of the bare loop on the same in-memory columns."""
    strat, params, schedule = _strategy(name)
    arrays = (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq)
    bare_loop_nb(*(a[:10] for a in arrays))
    small = cols.take(slice(0, 50_000))
    replay(small, strat, params, instruments=instruments, schedule=schedule, **_replay_kwargs())  # load/compile
    best_engine = best_bare = float("inf")
    res = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = replay(cols, strat, params, instruments=instruments, schedule=schedule, chunk_rows=1 << 16,
                     **_replay_kwargs())
        best_engine = min(best_engine, time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare_loop_nb(*arrays)
        best_bare = min(best_bare, time.perf_counter() - t0)
    n = len(cols)
    assert res is not None
    return {"events": n, "engine_s": best_engine, "engine_events_per_s": n / best_engine,
            "bare_loop_s": best_bare, "bare_loop_events_per_s": n / best_bare,
            "ratio_engine_vs_bare": best_bare / best_engine, "fills": int(len(res.fills)),
            "orders": res.counters["orders"], "strategy_calls": res.counters["strategy_calls"],
            "fills_hash": res.fills_hash}


def write_report(report: dict[str, Any], json_path: str | Path, markdown_path: str | Path, markdown: str) -> None:
    """Write a benchmark's figures (JSON) and table (markdown), and print the table."""
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    Path(markdown_path).write_text(markdown)
    print(markdown)


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited across fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(path: str, name: str) -> None:
    """Stream ``path`` through the engine; print events/s and peak RSS (this process only)."""
    strat, params, schedule = _strategy(name)
    rec = load(path)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    res = replay(rec, strat, params, schedule=schedule, **_replay_kwargs())
    dt = time.perf_counter() - t0
    print(json.dumps({"events": res.counters["events"], "seconds": dt, "events_per_s": res.counters["events"] / dt,
                      "peak_rss_mb": peak_rss_mb(), "rss_before_replay_mb": rss0, "fills": int(len(res.fills))}))


def measure_rss(path: Path, name: str) -> dict[str, Any]:
    """Stream ``path`` through the engine in a fresh process; its events/s and peak RSS."""
    out = subprocess.run([sys.executable, "-m", "arbkit.apps.bench", "child", str(path), name], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """CPU model, cores, Python, numba and platform, for benchmark reports."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numba": numba.__version__,
            "platform": platform.platform()}


def run_benchmarks(n_events: int = 5_000_000, quick: bool = False, out: str | None = None,
                   workdir: str | None = None, source: Path = BUNDLED) -> dict[str, Any]:
    """Generate the recordings, time the three workloads in memory, then stream them for RSS."""
    if quick:
        n_events = min(n_events, 1_200_000)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        small = make_bench_recording(Path(tmp) / "bench", n_events, source=source)
        rec = load(small)
        cols = rec.to_numpy()
        report: dict[str, Any] = {"machine": machine(), "recording": {"events": len(cols), "path": "generated",
                                                                      "generator": make_bench_recording.__doc__}}
        report["in_memory"] = {name: time_in_memory(cols, rec.instruments, name, repeat=1 if quick else 3)
                               for name in STRATEGIES}
        del cols
        report["streaming"] = {name: measure_rss(small, name) for name in STRATEGIES}
        if not quick:
            big = make_bench_recording(Path(tmp) / "bench4x", 4 * n_events, source=source)
            report["streaming_4x"] = {name: measure_rss(big, name) for name in ("books_only", "market_maker")}
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        _child(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(run_benchmarks(quick="--quick" in sys.argv), indent=2))

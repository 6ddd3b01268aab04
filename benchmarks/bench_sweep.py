"""Sweep throughput: 256 market-making parameter sets over a ≥5M-event recording, three ways.

1. the batched kernel: all 256 sets in one pass over the recording (``replay_batch``);
2. 256 separate ``replay`` calls, one after another;
3. joblib over separate replays (one loky worker per core);
plus the batched kernel split into one block per core (joblib). Every way streams the
recording from disk, as a sweep does. All figures come from one run of this script, so
the ratios compare like with like on the same (shared, noisy) machine; each set's
``fills_hash`` is checked equal across the ways. Peak RSS of the batched pass is measured
in a fresh process.

    python benchmarks/bench_sweep.py [--events N] [--sets K] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def parameter_sets(k: int) -> list[dict[str, float]]:
    """``k`` fixed-spread maker sets on the USD-M perpetual: half-spread × inventory skew × refresh tolerance."""
    import itertools

    spreads = [0.1 + 0.15 * i for i in range(16)]
    skews = [0.0, 0.25, 0.5, 1.0]
    tols = [0.0, 0.1, 0.25, 0.5]
    grid = [{"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05, "half_spread_bps": h,
             "inventory_skew_bps": s, "refresh_tolerance_bps": t} for h, s, t in itertools.product(spreads, skews, tols)]
    return grid[:k]


SETTINGS = {"latency": {"entry": 1_000_000, "response": 1_000_000}, "fill": {"queue": "power"}}


def _separate(path: str, sets: list[dict]) -> list[str]:
    from arbkit.run.replay import replay
    from arbkit.strategies import get_strategy

    mm = get_strategy("mm")
    return [replay(path, mm, p, **SETTINGS).fills_hash for p in sets]


def _batched(path: str, sets: list[dict]) -> list[str]:
    from arbkit.run.replay import replay_batch
    from arbkit.strategies import get_strategy

    return [r.fills_hash for r in replay_batch(path, get_strategy("mm"), sets, **SETTINGS)]


def _joblib(fn, path: str, sets: list[dict], n_jobs: int, block: int) -> list[str]:
    from joblib import Parallel, delayed, parallel_config

    blocks = [sets[i:i + block] for i in range(0, len(sets), block)]
    with parallel_config(backend="loky", n_jobs=n_jobs, inner_max_num_threads=1):
        out = Parallel()(delayed(fn)(path, b) for b in blocks)
    return [h for part in out for h in part]


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _child_rss(path: str, k: int) -> None:
    from arbkit.apps.bench import peak_rss_mb

    before = peak_rss_mb()
    hashes, dt = _timed(_batched, path, parameter_sets(k))
    print(json.dumps({"seconds": dt, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before, "sets": len(hashes)}))


def run(n_events: int, k: int, workdir: str | None = None) -> dict:
    import arbkit
    from arbkit.apps.bench import machine, make_bench_recording

    n_jobs = os.cpu_count() or 1
    sets = parameter_sets(k)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = str(make_bench_recording(Path(tmp) / "bench", n_events))
        events = arbkit.load(path).n_events
        _batched(path, sets[:2])  # compile / load caches before timing
        _separate(path, sets[:1])
        batched, t_batched = _timed(_batched, path, sets)
        batched_par, t_batched_par = _timed(_joblib, _batched, path, sets, n_jobs, -(-len(sets) // n_jobs))
        separate, t_separate = _timed(_separate, path, sets)
        par, t_par = _timed(_joblib, _separate, path, sets, n_jobs, 1)
        rss = json.loads(subprocess.run([sys.executable, __file__, "child", path, str(k)], check=True,
                                        capture_output=True, text=True).stdout.strip().splitlines()[-1])
    same = batched == separate == par == batched_par
    set_events = events * len(sets)
    return {
        "machine": machine(), "events": events, "parameter_sets": len(sets), "strategy": "mm (fixed half-spread)",
        "settings": SETTINGS, "workers": n_jobs, "fills_hash_equal_all_ways": same,
        "seconds": {"batched": t_batched, "batched_joblib": t_batched_par, "separate": t_separate,
                    "separate_joblib": t_par},
        "set_events_per_s": {"batched": set_events / t_batched, "batched_joblib": set_events / t_batched_par,
                             "separate": set_events / t_separate, "separate_joblib": set_events / t_par},
        "ratios": {"batched_vs_separate": t_separate / t_batched, "batched_vs_separate_joblib": t_par / t_batched,
                   "batched_joblib_vs_separate": t_separate / t_batched_par},
        "batched_peak_rss": rss,
    }


def markdown(r: dict) -> str:
    m = r["machine"]
    s, e = r["seconds"], r["set_events_per_s"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores. {r['parameter_sets']} market-making parameter sets over "
             f"{r['events']:,} events (streamed from disk), one run; fills_hash equal every way: "
             f"{r['fills_hash_equal_all_ways']}.", "",
             "| way | wall time s | set-events/s | vs batched |", "|---|---|---|---|"]
    for key, label in (("batched", "batched kernel, one pass"),
                       ("batched_joblib", f"batched kernel, {r['workers']} blocks on joblib"),
                       ("separate", "separate replays"), ("separate_joblib", f"separate replays, joblib ({r['workers']})")):
        lines.append(f"| {label} | {s[key]:.1f} | {e[key] / 1e6:.0f} M | {s[key] / s['batched']:.1f}x |")
    lines.append("")
    lines.append(f"Peak RSS of the batched pass: {r['batched_peak_rss']['peak_rss_mb']:.0f} MB "
                 f"({r['batched_peak_rss']['rss_before_mb']:.0f} MB before it).")
    return "\n".join(lines) + "\n"


def main() -> None:
    from arbkit.apps.bench import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--sets", type=int, default=256)
    ap.add_argument("--json", default=str(ROOT / "results" / "sweep.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "sweep.md"))
    args = ap.parse_args()
    report = run(args.events, args.sets)
    write_report(report, args.json, args.markdown, markdown(report))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        _child_rss(sys.argv[2], int(sys.argv[3]))
    else:
        main()

"""Replay throughput and peak memory (issue: engine): books only, market maker, arbitrage taker.

Runs ``arbkit.apps.bench.run_benchmarks`` — a ≥5M-event recording made of shifted copies of
the bundled real recording; each workload timed in memory next to a bare ``@njit`` loop
over the same columns (ratio from one process run); then each streamed from disk in a
fresh process for events/s and peak RSS, and the same for a recording 4× longer.

    python benchmarks/bench_engine.py [--events N] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from arbkit.apps.bench import run_benchmarks

ROOT = Path(__file__).resolve().parent


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numba {m['numba']}. "
             f"Recording: {report['recording']['events']:,} events.", "",
             "| workload | engine events/s (in memory) | bare njit loop events/s | ratio | streamed events/s "
             "| peak RSS MB | peak RSS MB, 4x recording |", "|---|---|---|---|---|---|---|"]
    for name, r in report["in_memory"].items():
        s = report["streaming"][name]
        big = report.get("streaming_4x", {}).get(name)
        lines.append(f"| {name} | {r['engine_events_per_s'] / 1e6:.1f} M | {r['bare_loop_events_per_s'] / 1e6:.0f} M "
                     f"| {r['ratio_engine_vs_bare']:.3f} | {s['events_per_s'] / 1e6:.1f} M | {s['peak_rss_mb']:.0f} "
                     f"| {big['peak_rss_mb']:.0f} |" if big else
                     f"| {name} | {r['engine_events_per_s'] / 1e6:.1f} M | {r['bare_loop_events_per_s'] / 1e6:.0f} M "
                     f"| {r['ratio_engine_vs_bare']:.3f} | {s['events_per_s'] / 1e6:.1f} M | {s['peak_rss_mb']:.0f} | - |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--json", default=str(ROOT / "results" / "engine.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "engine.md"))
    args = ap.parse_args()
    report = run_benchmarks(n_events=args.events, out=args.json)
    Path(args.markdown).write_text(markdown(report))
    print(markdown(report))
    print(json.dumps(report["in_memory"], indent=1))


if __name__ == "__main__":
    main()

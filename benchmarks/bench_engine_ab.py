"""In-memory replay time of ``bench_engine.py``'s workloads, for A/B runs of two checkouts side by side.

Uses whichever ``arbkit`` is importable (put a checkout first on ``PYTHONPATH``), the same
generated ≥5M-event recording for both (``--recording``: made once with
``arbkit.apps.bench.make_bench_recording`` when missing), and appends one JSON line per run:
per workload the best and median of ``--repeat`` timed replays (CPU time of this process and
wall time), events, fills and ``fills_hash``. Alternate two checkouts with an outside timer,
e.g. ``farm-bench --pin 1 --vs "env PYTHONPATH=B python benchmarks/bench_engine_ab.py ..." --
env PYTHONPATH=A python benchmarks/bench_engine_ab.py ...``, and compare the lines pair by pair.

    python benchmarks/bench_engine_ab.py --recording /tmp/bench5m --jsonl OUT [--workloads books_only,market_maker]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recording", required=True, help="the generated benchmark recording (made when missing)")
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--workloads", default="books_only,market_maker")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jsonl", required=True, help="append one JSON line per run here")
    args = ap.parse_args()

    import arbkit
    from arbkit.apps import bench
    from arbkit.io.recording import load
    from arbkit.run.replay import replay

    path = Path(args.recording)
    if not (path / "manifest.json").is_file():
        bench.make_bench_recording(path, args.events, source=ROOT.parent / "recordings" / "binance_btc_3venues_20240808")
    rec = load(path)
    cols = rec.to_numpy()
    line: dict = {"arbkit": str(Path(arbkit.__file__).parent), "events": len(cols), "machine": bench.machine()}
    for name in args.workloads.split(","):
        strat, params, schedule = bench._strategy(name)
        kw = bench._replay_kwargs()
        replay(cols.take(slice(0, 50_000)), strat, params, instruments=rec.instruments, schedule=schedule, **kw)
        cpu, wall = [], []
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            res = replay(cols, strat, params, instruments=rec.instruments, schedule=schedule, chunk_rows=1 << 16, **kw)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        line[name] = {"cpu_s_min": min(cpu), "cpu_s_median": statistics.median(cpu), "wall_s_min": min(wall),
                      "wall_s_median": statistics.median(wall), "events_per_cpu_s": len(cols) / min(cpu),
                      "fills": int(len(res.fills)), "fills_hash": res.fills_hash,
                      "strategy_calls": res.counters["strategy_calls"]}
    with open(args.jsonl, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()

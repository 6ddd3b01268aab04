"""Sweep scale-out: a 1,024-set batched sweep on a Dask cluster of local worker processes vs one process,
and an Optuna study in RDB storage (SQLite) shared by two processes.

1. The same blocks of ``--block`` market-making sets (``bench_sweep.parameter_sets``, extended)
   each run as one pass of the batched kernel over the ≥5M-event benchmark recording read
   from disk: first one after another in this process, then on a ``distributed.LocalCluster``
   of ``--workers`` worker processes (one thread each). Set-events/s = sets × events ÷ wall
   time; efficiency per worker = speed-up ÷ workers. Every set's ``fills_hash`` must be equal
   both ways. On a machine with as many cores as workers (this project's has 2, shared) the
   speed-up is bounded by the free cores, which the report states.
2. An Optuna study (TPE, seeded per process) in ``sqlite:///…`` storage: ``--optuna-procs``
   processes each run ``--optuna-trials`` trials of the market maker on the first 200,000
   rows of the bundled recording against the same study. The report checks that the
   trials are disjoint (each trial number and id once), all COMPLETE, and that the study
   holds procs × trials of them.

    python benchmarks/bench_scaleout.py [--events N] [--sets 1024] [--block 64] [--workers 2] [--json OUT]
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
from typing import Any

ROOT = Path(__file__).resolve().parent
BUNDLED = ROOT.parent / "recordings" / "binance_btc_3venues_20240808"
SETTINGS = {"latency": {"entry": 1_000_000, "response": 1_000_000}, "fill": {"queue": "power"}}


def parameter_sets(k: int) -> list[dict[str, float]]:
    """``k`` fixed-spread maker sets on the USD-M perpetual: half-spread × skew × refresh tolerance × size."""
    import itertools

    spreads = [0.1 + 0.15 * i for i in range(16)]
    skews = [0.0, 0.25, 0.5, 1.0]
    tols = [0.0, 0.1, 0.25, 0.5]
    sizes = [0.01, 0.02, 0.03, 0.05]
    grid = [{"asset": 1, "mode": 1, "order_size": z, "max_position": 0.05 * z / 0.01, "half_spread_bps": h,
             "inventory_skew_bps": s, "refresh_tolerance_bps": t}
            for z, h, s, t in itertools.product(sizes, spreads, skews, tols)]
    if k > len(grid):
        raise SystemExit(f"--sets {k}: at most {len(grid)} distinct sets")
    return grid[:k]


def run_block(path: str, sets: list[dict[str, float]]) -> list[str]:
    """One pass of the batched kernel over the recording at ``path``: each set's fills_hash."""
    from arbkit.run.replay import replay_batch
    from arbkit.strategies import get_strategy

    return [r.fills_hash for r in replay_batch(path, get_strategy("mm"), sets, **SETTINGS)]


def scale_out(path: str, sets: list[dict[str, float]], block: int, workers: int, events: int) -> dict[str, Any]:
    """The blocks in one process, then on a LocalCluster of ``workers`` processes; figures and hash equality."""
    from distributed import Client, LocalCluster

    blocks = [sets[i:i + block] for i in range(0, len(sets), block)]
    run_block(path, sets[:2])  # compile / load the kernels here first
    t0 = time.perf_counter()
    one = [h for b in blocks for h in run_block(path, b)]
    t_one = time.perf_counter() - t0
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(run_block, path, sets[:2])  # each worker loads the compiled kernels before the clock starts
        t0 = time.perf_counter()
        futures = client.map(run_block, [path] * len(blocks), blocks, pure=False)
        many = [h for part in client.gather(futures) for h in part]
        t_many = time.perf_counter() - t0
    set_events = len(sets) * events
    speedup = t_one / t_many
    return {"sets": len(sets), "block": block, "blocks": len(blocks), "events": events, "workers": workers,
            "cores": os.cpu_count(), "one_process_s": t_one, "one_process_set_events_per_s": set_events / t_one,
            "dask_s": t_many, "dask_set_events_per_s": set_events / t_many, "speedup": speedup,
            "efficiency_per_worker": speedup / workers, "hashes_equal": one == many,
            "distinct_hashes": len(set(one))}


# -- Optuna: one study, several processes -------------------------------------------------------

def objective_factory(rows: int):
    """The market maker's final equity over the first ``rows`` rows of the bundled recording."""
    from arbkit.io.recording import load
    from arbkit.run.replay import replay
    from arbkit.strategies import get_strategy

    rec = load(BUNDLED)
    cols = rec.to_numpy().take(slice(0, rows))
    mm = get_strategy("mm")

    def objective(trial) -> float:
        p = {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05,
             "half_spread_bps": trial.suggest_float("half_spread_bps", 0.1, 3.0),
             "inventory_skew_bps": trial.suggest_float("inventory_skew_bps", 0.0, 1.0)}
        res = replay(cols, mm, p, instruments=rec.instruments, **SETTINGS)
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("fills", int(len(res.fills)))
        return float(res.equity_values[-1, -1]) if len(res.equity_values) else 0.0

    return objective


def storage(url: str):
    """RDB storage with a lock timeout long enough for two SQLite writers."""
    import optuna

    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def optuna_worker(url: str, study: str, trials: int, seed: int, rows: int) -> None:
    """One process's share of the study: ``trials`` trials against the shared storage."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.load_study(study_name=study, storage=storage(url), sampler=optuna.samplers.TPESampler(seed=seed))
    s.optimize(objective_factory(rows), n_trials=trials)


def shared_study(url: str, study: str, procs: int, trials: int, rows: int = 200_000) -> dict[str, Any]:
    """Create the study, run ``procs`` worker processes on it at once, and check what the storage holds."""
    import optuna

    optuna.create_study(study_name=study, storage=storage(url), direction="maximize")
    t0 = time.perf_counter()
    ps = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "optuna-worker", url, study, str(trials),
                            str(seed), str(rows)]) for seed in range(procs)]
    codes = [p.wait() for p in ps]
    dt = time.perf_counter() - t0
    if any(codes):
        raise RuntimeError(f"an Optuna worker process failed (exit codes {codes})")
    done = optuna.load_study(study_name=study, storage=storage(url)).get_trials(deepcopy=False)
    numbers = [t.number for t in done]
    ids = [t._trial_id for t in done]
    pids = sorted({t.user_attrs.get("pid") for t in done})
    return {"processes": procs, "trials_per_process": trials, "trials": len(done), "rows": rows, "seconds": dt,
            "complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in done),
            "numbers_disjoint": len(set(numbers)) == len(numbers) == procs * trials and sorted(numbers) == list(range(len(numbers))),
            "ids_disjoint": len(set(ids)) == len(ids), "distinct_worker_pids": len(pids),
            "best_value": max((t.value for t in done if t.value is not None), default=None)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "optuna-worker":
        url, study, trials, seed, rows = sys.argv[2:7]
        optuna_worker(url, study, int(trials), int(seed), int(rows))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--recording", default=None, help="the generated benchmark recording (made in a temp dir when missing)")
    ap.add_argument("--sets", type=int, default=1024)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--optuna-procs", type=int, default=2)
    ap.add_argument("--optuna-trials", type=int, default=10)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--json", default=str(ROOT / "results" / "scaleout.json"))
    args = ap.parse_args()

    from arbkit.apps import bench
    from arbkit.io.recording import load

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.recording) if args.recording else Path(tmp) / "bench"
        if not (path / "manifest.json").is_file():
            bench.make_bench_recording(path, args.events, source=BUNDLED)
        report: dict[str, Any] = {"machine": bench.machine(), "load_average_at_start": os.getloadavg(),
                                  "command": "python benchmarks/bench_scaleout.py " + " ".join(sys.argv[1:])}
        if not args.skip_dask:
            report["dask"] = scale_out(str(path), parameter_sets(args.sets), args.block, args.workers,
                                       load(path).n_events)
            print(json.dumps(report["dask"], indent=1), flush=True)
        url = f"sqlite:///{Path(tmp) / 'study.db'}"
        report["optuna"] = shared_study(url, "arbkit-mm", args.optuna_procs, args.optuna_trials)
        print(json.dumps(report["optuna"], indent=1), flush=True)
        report["load_average_at_end"] = os.getloadavg()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

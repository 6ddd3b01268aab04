"""Run a sweep: parameter sets in blocks, each block one pass of the batched kernel, resumable.

Blocks run in joblib worker processes (or on a Dask cluster). Each finished set is written to ``rows/<param_id>.json`` under a temporary name and renamed,
so an interrupted sweep leaves only whole rows; rerunning skips the sets whose row exists.
At the end the rows become ``results.parquet`` (every set, every KPI), ranked into
``candidates.json``, ``manifest.json`` records what is needed to reproduce the sweep
(recording part hashes, settings, seed, package versions) and ``tuning_results.json`` what
was tried and how (:mod:`arbkit.sweep.tuning`). Before any job runs the whole plan is
written to ``jobs.jsonl`` (:mod:`arbkit.sweep.plan`); a plan runs on its own with
``sweep(plan=...)``. Every output carries the sweep's id (a UUID).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import polars as pl

from arbkit.core.errors import ConfigError
from arbkit.core.out_dir import writable_dir
from arbkit.core.version import __version__
from arbkit.io.recording import load
from arbkit.kpi.evaluation import evaluate
from arbkit.report import sweep_report
from arbkit.report.figures import heatmap_figure
from arbkit.engine.config import FillModel, LatencyModel, Rewards, RiskGuards, check_mark
from arbkit.io.read_checks import verify_parts
from arbkit.run.replay import EmptyRunWarning, replay, replay_batch, window_notice
from arbkit.strategies import get_strategy
from arbkit.sweep.grid import as_list, param_id, random_grid
from arbkit.sweep.plan import PLAN_FILE, existing_sweep_id, new_sweep_id, plan_line, read_plan, write_plan
from arbkit.sweep.progress import Progress
from arbkit.sweep.candidates import metadata as candidates_metadata
from arbkit.sweep.ranking import rank, write_candidates
from arbkit.sweep.tuning import summary_line, tuning_document, write_tuning_results

ROW_DIR = "rows"


@dataclass
class SweepResult:
    """The sweep's ranked table and where its files are."""

    out_dir: Path
    frame: pl.DataFrame  # the ranked table; also table()
    computed: int  # sets replayed in this call (the rest came from earlier rows)
    seconds: float
    sweep_id: str = ""  # the sweep's UUID, in every file it wrote
    summary: str = ""  # the end-of-sweep summary line

    def best(self) -> dict[str, Any]:
        """The first-ranked row."""
        return self.frame.row(0, named=True)

    def table(self) -> pl.DataFrame:
        """Every parameter set with every KPI, ranked (the contents of results.parquet)."""
        return self.frame

    def to_csv(self, path: str | Path) -> Path:
        """Write the ranked table (the contents of results.parquet) as CSV, for spreadsheets."""
        return write_csv(self.frame, path)

    def plot_heatmap(self, x: str, y: str, kpi: str):
        """A KPI over two parameters (mean over the others), as a matplotlib Figure."""
        for name in (x, y, kpi):
            if name not in self.frame.columns:
                raise ConfigError(f"plot_heatmap: {name!r} is not a column of the sweep table")
        return heatmap_figure(self.frame, x, y, kpi)

    def report(self, path: str | Path, kpi: str | None = None) -> Path:
        """Write the sweep's markdown report (see :func:`arbkit.report.sweep_report`)."""
        return sweep_report(self.out_dir, path, kpi=kpi)


def write_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """``frame`` as CSV, written atomically (nested columns, if any, as JSON text)."""
    p = Path(path)
    nested = [n for n, t in frame.schema.items() if t.is_nested()]
    flat = frame.with_columns(pl.col(n).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v,
                                                                          default=str), return_dtype=pl.String)
                              for n in nested) if nested else frame
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    flat.write_csv(tmp, float_precision=None)
    os.replace(tmp, p)
    return p


def result_row(res: Any, params: Mapping[str, float], gate: str | Mapping[str, Any] | None,
               cost_profile: str | None = None) -> dict[str, Any]:
    """One replay's result row: parameters, then :meth:`arbkit.kpi.Evaluation.row` (edges under the three
    standard cost profiles and ``cost_profile`` when the strategy has an edge model, total KPIs, the gate's
    verdict), events and fills_hash."""
    ev = evaluate(res, gate=gate or None, costs=cost_profile or "realistic")
    skipped = {"bad_rows_skipped": res.counters["bad_rows_skipped"]} if "bad_rows_skipped" in res.counters else {}
    return {**params, **ev.row(), "events": res.counters["events"], **skipped, "fills_hash": res.fills_hash}


def replay_sets(recording: str, strategy: str, strategy_options: Mapping[str, Any],
                sets: Sequence[Mapping[str, float]], settings: Mapping[str, Any], batched: bool = True) -> list[Any]:
    """Replay each parameter set; with ``batched`` all of them in one pass (same Results, see engine.batch)."""

    strat = get_strategy(strategy, **strategy_options)
    kw = {"fill": settings.get("fill"), "latency": settings.get("latency"), "guards": settings.get("guards"),
          "start": settings.get("start"), "end": settings.get("end"),
          "allow_bad_rows": bool(settings.get("allow_bad_rows", False)),
          "allow_crossed": bool(settings.get("allow_crossed", False)), "mark": settings.get("mark", "mid"),
          "allow_short": settings.get("allow_short"), "rewards": settings.get("rewards")}
    seed = int(settings.get("seed", 0))
    if batched and len(sets) > 1:
        return replay_batch(recording, strat, [dict(p) for p in sets], seeds=seed, **kw)
    return [replay(recording, strat, dict(p), seed=seed, **kw) for p in sets]


def run_one(recording: str, strategy: str, strategy_options: Mapping[str, Any], params: Mapping[str, float],
            settings: Mapping[str, Any], gate: str | None) -> dict[str, Any]:
    """Replay one parameter set; its result row."""
    res = replay_sets(recording, strategy, strategy_options, [params], settings, batched=False)[0]
    return result_row(res, params, gate, settings.get("cost_profile"))


def _write_row(path: Path, row: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(row, default=float, allow_nan=True))
    os.replace(tmp, path)


@dataclass(frozen=True)
class SweepJob:
    """One block of parameter sets replayed together (one pass when ``batched``), and where each set's row goes."""

    recording: str
    strategy: str
    options: Mapping[str, Any]  # the strategy factory's options
    sets: Sequence[Mapping[str, float]]  # the parameter sets
    settings: Mapping[str, Any]  # fill, latency, guards, seed, start, end, cost_profile
    gate: Any  # a gate name, a gate mapping, or None
    param_ids: Sequence[str]  # one per set
    row_paths: Sequence[str]  # one per set: rows/<param_id>.json
    batched: bool = True
    sweep_id: str | None = None  # written into each row


def run_block(job: SweepJob) -> list[str]:
    """Replay one block of parameter sets (one pass when batched) and write each set's row atomically."""
    results = replay_sets(job.recording, job.strategy, job.options, job.sets, job.settings, batched=job.batched)
    for params, res, pid, path in zip(job.sets, results, job.param_ids, job.row_paths):
        row = result_row(res, params, job.gate, job.settings.get("cost_profile"))
        row["param_id"] = pid
        if job.sweep_id:
            row["sweep_id"] = job.sweep_id
        _write_row(Path(path), row)
    return list(job.param_ids)


def check_sets(strategy: Any, sets: Sequence[Mapping[str, Any]], instruments: Sequence[Any],
               labels: Sequence[str] | None = None) -> None:
    """Check every parameter set against the strategy's specs and the recording's instruments before any
    replay; a ConfigError naming the first bad set (``labels``: how to name each set)."""
    for k, p in enumerate(sets):
        try:
            strategy.checked_vector(dict(p), instruments)
        except ConfigError as exc:
            where = labels[k] if labels is not None else f"parameter set {k + 1} of {len(sets)}"
            raise ConfigError(f"{where}: {exc}") from None


def _versions() -> dict[str, str]:
    import numba
    import numpy
    import pyarrow

    return {"arbkit": __version__, "numpy": numpy.__version__, "numba": numba.__version__,
            "polars": pl.__version__, "pyarrow": pyarrow.__version__, "python": platform.python_version()}


def block_jobs(recording: str, strategy: str, options: Mapping[str, Any], settings: Mapping[str, Any],
               gate: Any, todo: Sequence[tuple[Mapping[str, float], str]], rows_dir: Path, *, batch_size: int,
               n_jobs: int, batched: bool = True, sweep_id: str | None = None) -> list[SweepJob]:
    """``run_block`` jobs for ``todo`` (parameter set, param_id) pairs: blocks small enough to keep every
    worker busy, large enough to share each pass (one set per block when not batched)."""
    size = max(1, min(batch_size, -(-len(todo) // max(n_jobs, 1)))) if batched else 1
    return [SweepJob(recording, strategy, dict(options), [p for p, _ in blk], settings, gate, [pid for _, pid in blk],
                     [str(rows_dir / f"{pid}.json") for _, pid in blk], batched, sweep_id)
            for blk in (todo[i:i + size] for i in range(0, len(todo), size))]


def _run_blocks(jobs: list[SweepJob], n_jobs: int, backend: str, scheduler: Any, progress: Progress) -> None:
    """Run the blocks on the chosen backend, advancing ``progress`` as each one lands."""
    if backend == "dask":
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = [client.submit(run_block, job, pure=False) for job in jobs]
            for fut in as_completed(futures):
                progress.advance(len(fut.result()))
        finally:
            if client is not scheduler:
                client.close()
    elif n_jobs == 1 or len(jobs) == 1:
        for job in jobs:
            progress.advance(len(run_block(job)))
    else:
        from joblib import Parallel, delayed, parallel_config

        # one numba thread per worker: the workers already use the cores
        with parallel_config(backend="loky", n_jobs=n_jobs, inner_max_num_threads=1):
            for done in Parallel(return_as="generator_unordered")(delayed(run_block)(job) for job in jobs):
                progress.advance(len(done))


def sweep(recording: str | Path | None = None, strategy: str | None = None,
          grid: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None, *,
          out_dir: str | Path | None = None, strategy_options: Mapping[str, Any] | None = None, fill: Any = None,
          latency: Any = None, guards: Any = None, seed: int = 0, n_jobs: int = 1, gate: str | None = None,
          resume: bool = True, top: int = 10, base_params: Mapping[str, Any] | None = None,
          batched: bool = True, batch_size: int = 64, backend: str = "local", scheduler: Any = None,
          start: int | None = None, end: int | None = None, progress: bool | None = None,
          allow_bad_rows: bool = False, verify: bool = False, allow_crossed: bool = False,
          mark: str = "mid", allow_short: bool | None = None, rewards: Mapping[str, Any] | None = None,
          random_samples: int = 0,
          plan: str | Path | None = None, jobs: Sequence[str] | None = None, plan_only: bool = False, sweep_id: str | None = None,
          csv: str | Path | None = None, summary: bool = True) -> SweepResult | Path:
    """Replay every parameter set of ``grid`` (over ``base_params``) and rank them; see the module doc.

    ``batched``: sets run ``batch_size`` at a time through one pass of the batched kernel
    (identical results to separate replays, many times faster). ``backend``: ``"local"``
    (joblib processes, ``n_jobs``) or ``"dask"`` (``scheduler``: an address or a
    ``distributed.Client``; workers read the recording from the same path). ``start``/``end``
    bound the replayed window (ns). ``progress``: a rich progress bar (default: on a terminal
    outside CI). Every set is checked against the strategy's parameter specs and the recording's
    instruments before any replays; ``verify`` checks the parts' sha256 first; rows ``arbkit
    validate`` rejects stop the sweep unless ``allow_bad_rows`` (then each row counts them).
    ``allow_crossed``: replay books left crossed after a complete message (counted in each row's
    ``crossed_books``) instead of stopping at the first. ``mark``: what equity marks positions at
    (``mid`` or ``mark_price``; see :func:`arbkit.run.replay.replay`). ``allow_short``: None lets
    perpetuals and futures go short and not spot or outcome tokens; True / False for every instrument.
    ``rewards``: liquidity rewards of outcome markets (docs/prediction_markets.md), off when None.

    ``random_samples`` > 0: that many seeded draws from ``grid`` (``[lo, hi]`` ranges, longer
    lists are choices) instead of the full grid. ``out_dir/jobs.jsonl`` (the plan) is written
    before any job runs; ``plan_only`` stops there and returns its path. ``plan`` (a
    ``jobs.jsonl``; ``jobs``: only these job ids) runs a plan instead of a grid (``out_dir``
    defaults to the plan's directory). ``sweep_id``: the sweep's UUID (default: the one of the
    plan already in ``out_dir`` when resuming, else a new one). ``csv``: also write the ranked
    table there. ``summary``: print the end-of-sweep summary line to stderr.
    """

    if backend not in ("local", "dask"):
        raise ConfigError(f"sweep.backend must be 'local' or 'dask', got {backend!r}")
    if backend == "dask" and scheduler is None:
        raise ConfigError("sweep.backend=dask needs a scheduler address (or a distributed.Client)")
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"sweep.n_jobs must be a positive integer, got {n_jobs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"sweep.batch_size must be a positive integer, got {batch_size!r}")
    run = dict(n_jobs=n_jobs, batch_size=batch_size, backend=backend, scheduler=scheduler, progress=progress,
               top=top, csv=csv, summary=summary, batched=batched)
    if plan is not None:
        if plan_only:
            raise ConfigError("sweep: plan_only makes a plan; it cannot be combined with plan=")
        return run_plan(plan, out_dir=out_dir, jobs=jobs, resume=resume, verify=verify, **run)
    if recording is None or strategy is None or grid is None:
        raise ConfigError("sweep: give a recording, a strategy and a grid (or plan=jobs.jsonl)")
    if out_dir is None:
        raise ConfigError("sweep: out_dir is required")
    if not isinstance(random_samples, int) or isinstance(random_samples, bool) or random_samples < 0:
        raise ConfigError(f"sweep.random_samples must be a whole number >= 0, got {random_samples!r}")
    rec = load(recording)  # fail early, with the recording's own error
    if verify:
        verify_parts(rec)
    if random_samples:
        if not isinstance(grid, Mapping):
            raise ConfigError("sweep.random_samples: the grid must be a mapping of parameter -> [lo, hi] or choices")
        drawn = random_grid(grid, random_samples, seed=seed)
        optimiser = {"name": "random", "settings": {"space": dict(grid), "n": random_samples, "seed": seed}}
    else:
        drawn = as_list(grid)
        optimiser = {"name": "grid", "settings": {"space": dict(grid)}} if isinstance(grid, Mapping) else \
            {"name": "list", "settings": {"n": len(drawn)}}
    sets = [{**(base_params or {}), **p} for p in drawn]
    options = dict(strategy_options or {})
    check_sets(get_strategy(strategy, **options), sets, rec.instruments)  # every set, before any runs
    names = list(dict.fromkeys(k for p in drawn for k in p))
    settings = {"fill": fill, "latency": latency, "guards": guards, "seed": seed, "start": start, "end": end}
    if allow_bad_rows:
        settings["allow_bad_rows"] = True  # only when set: the sets' ids (resume) stay those of earlier sweeps
    FillModel.from_dict(fill), LatencyModel.from_dict(latency), RiskGuards.from_dict(guards)  # before any replay
    notice = window_notice((start, end), (rec.manifest.start_ns, rec.manifest.end_ns))
    if notice:
        warnings.warn(notice, EmptyRunWarning, stacklevel=2)
    if allow_crossed:  # only when set: the parameter-set ids of earlier sweeps stay the same
        settings["allow_crossed"] = True
    if check_mark(mark) != "mid":  # likewise
        settings["mark"] = mark
    if allow_short is not None:  # likewise
        if not isinstance(allow_short, bool):
            raise ConfigError(f"sweep: allow_short must be true, false or null, got {allow_short!r}")
        settings["allow_short"] = allow_short
    if rewards:  # likewise
        Rewards.from_dict(rewards)
        settings["rewards"] = dict(rewards)
    out = Path(out_dir)
    rows_dir = writable_dir(out / ROW_DIR, "sweep output directory")
    extra = {"strategy": strategy, "options": options, "settings": settings, "gate": gate,
             "recording": str(Path(recording).resolve())}
    ids = [param_id(p, extra) for p in sets]
    if len(set(ids)) != len(ids):
        raise ConfigError("grid: the same parameter set appears twice")
    sid = sweep_id or (existing_sweep_id(out) if resume else None) or new_sweep_id()
    plan_path = out / PLAN_FILE
    write_plan(plan_path, [plan_line(sid, pid, str(rec.path), strategy, options, p, settings, gate, plan_path,
                                     optimiser=optimiser, swept=names) for p, pid in zip(sets, ids)])
    if plan_only:
        return plan_path
    return _execute(out, rec, [(str(rec.path), strategy, options, settings, gate, p, pid) for p, pid in zip(sets, ids)],
                    sid, optimiser, names, resume=resume, **run)


def run_plan(plan: str | Path, *, out_dir: str | Path | None = None, jobs: Sequence[str] | None = None,
             resume: bool = True, verify: bool = False, **run: Any) -> SweepResult:
    """Run the jobs of a plan (``jobs.jsonl``; only ``jobs`` when given) into ``out_dir`` (default: the plan's
    directory): the same rows, table and files as the sweep that wrote the plan."""
    path = Path(plan)
    lines = read_plan(path, jobs)
    ids = {ln["sweep_id"] for ln in lines}
    if len(ids) != 1:
        raise ConfigError(f"{path}: the plan mixes sweeps {sorted(ids)}; run each sweep's lines on their own")
    strategies = {ln["strategy"] for ln in lines}
    if len(strategies) != 1:
        raise ConfigError(f"{path}: the plan mixes strategies {sorted(strategies)}; one strategy per sweep")
    out = Path(out_dir) if out_dir is not None else path.parent
    writable_dir(out / ROW_DIR, "sweep output directory")
    first = lines[0]
    rec = load(first["recording"])
    if verify:
        verify_parts(rec)
    for n, ln in enumerate(lines, 1):
        try:
            check_sets(get_strategy(ln["strategy"], **ln["strategy_options"]), [ln["params"]], rec.instruments)
            st = ln["settings"]
            FillModel.from_dict(st.get("fill")), LatencyModel.from_dict(st.get("latency"))
            RiskGuards.from_dict(st.get("guards"))
        except ConfigError as exc:
            raise ConfigError(f"{path}, job {ln['job_id']}: {exc}") from None
    if out.resolve() != path.parent.resolve():
        write_plan(out / PLAN_FILE, lines)  # the output directory holds the plan it ran
    names = list(first.get("swept") or dict.fromkeys(k for ln in lines for k in ln["params"]))
    optimiser = first.get("optimiser") or {"name": "list", "settings": {"n": len(lines)}}
    todo = [(ln["recording"], ln["strategy"], ln["strategy_options"], ln["settings"], ln["gate"], ln["params"],
             ln["job_id"]) for ln in lines]
    return _execute(out, rec, todo, first["sweep_id"], optimiser, names, resume=resume, **run)


def _execute(out: Path, rec: Any, todo_all: Sequence[tuple], sweep_id: str, optimiser: Mapping[str, Any],
             names: Sequence[str], *, resume: bool, n_jobs: int, batch_size: int, backend: str, scheduler: Any,
             progress: bool | None, top: int, csv: str | Path | None, summary: bool, batched: bool) -> SweepResult:
    """Replay the jobs (recording, strategy, options, settings, gate, params, job id) whose row is missing,
    in blocks of jobs that differ only in parameters, then write the sweep's files."""
    rows_dir = out / ROW_DIR
    for stale in rows_dir.glob("*.tmp"):  # left by a writer killed mid-row; never read as a row
        stale.unlink(missing_ok=True)
    groups: dict[str, list[tuple]] = {}
    status: dict[str, str] = {}
    for job in todo_all:
        pid = job[6]
        if resume and (rows_dir / f"{pid}.json").is_file():
            status[pid] = "resumed"
            continue
        status[pid] = "done"
        key = json.dumps([job[0], job[1], job[2], job[3], job[4]], sort_keys=True, default=str)
        groups.setdefault(key, []).append(job)
    blocks: list[SweepJob] = []
    for members in groups.values():
        r0, strat, opts, st, gt = members[0][:5]
        blocks += block_jobs(r0, strat, opts, st, gt, [(m[5], m[6]) for m in members], rows_dir,
                             batch_size=batch_size, n_jobs=n_jobs, batched=batched, sweep_id=sweep_id)
    n_todo = sum(len(b.sets) for b in blocks)
    t0 = time.perf_counter()
    with Progress(len(todo_all), len(todo_all) - n_todo, rec.n_events, enabled=progress) as bar:
        if blocks:
            _run_blocks(blocks, n_jobs, backend, scheduler, bar)
    seconds = time.perf_counter() - t0
    first = todo_all[0]
    res = finish_sweep(out, rec, first[1], first[2], first[3], first[4], [j[5] for j in todo_all],
                       [j[6] for j in todo_all], names, top, n_todo, seconds, sweep_id=sweep_id, optimiser=optimiser,
                       status=status)
    if csv is not None:
        res.to_csv(csv)
    if summary:
        print(res.summary, file=sys.stderr)
    return res


def finish_sweep(out: Path, rec: Any, strategy: str, options: Mapping[str, Any], settings: Mapping[str, Any],
                 gate: str | None, sets: Sequence[Mapping[str, Any]], ids: Sequence[str], names: Sequence[str],
                 top: int, computed: int, seconds: float, *, sweep_id: str | None = None,
                 optimiser: Mapping[str, Any] | None = None, status: Mapping[str, str] | None = None,
                 objective: Sequence[str] | None = None, directions: Sequence[str] | None = None,
                 failed: Sequence[Mapping[str, Any]] = ()) -> SweepResult:
    """Gather the rows into results.parquet, candidates.json, manifest.json and tuning_results.json (each
    written atomically); every file carries ``sweep_id``. ``status``: job id -> done / resumed; ``failed``:
    jobs that have no row (job_id, params, reason); ``objective``/``directions``: what the optimiser
    maximised (default: the strategy's first rank key)."""
    sweep_id = sweep_id or new_sweep_id()
    rows = [json.loads((out / ROW_DIR / f"{pid}.json").read_text()) for pid in ids]
    table = pl.DataFrame(rows, infer_schema_length=None).with_columns(pl.lit(sweep_id).alias("sweep_id"))
    spec = get_strategy(strategy, **options)
    ranked = rank(table, spec.rank_keys)
    tmp = out / f"results.{os.getpid()}.tmp.parquet"
    ranked.write_parquet(tmp)
    os.replace(tmp, out / "results.parquet")
    # a candidate carries every parameter of its set (the fixed ones too), so it replays on its own
    every = list(dict.fromkeys([*names, *(k for p in sets for k in p)]))
    meta = candidates_metadata(source=f"arbkit sweep {out}", strategy=strategy, options=options, param_names=every,
                               recording=rec, settings=settings, gate=gate, rank_keys=spec.rank_keys, top=top)
    meta["sweep_id"] = sweep_id
    write_candidates(out / "candidates.json", ranked, every, meta, top=top)
    manifest = {"sweep_id": sweep_id, "recording": str(rec.path),
                "recording_parts_sha256": meta["recording"]["parts_sha256"],
                "strategy": strategy, "strategy_options": options, "settings": settings, "gate": gate,
                "rank_keys": meta["rank_keys"], "grid": list(sets), "param_ids": list(ids), "seed": settings.get("seed", 0), "versions": _versions()}
    tmpm = out / f"manifest.{os.getpid()}.tmp"
    tmpm.write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    os.replace(tmpm, out / "manifest.json")
    if objective is None:
        key, desc = spec.rank_keys[0] if spec.rank_keys else ("total_pnl", True)
        objective, directions = [key], ["maximize" if desc else "minimize"]
    doc = tuning_document(sweep_id=sweep_id, recording=str(rec.path), parts_sha256=meta["recording"]["parts_sha256"],
                          strategy=strategy, optimiser=optimiser or {"name": "list", "settings": {"n": len(sets)}},
                          objective=objective, directions=directions or ["maximize"] * len(objective),
                          ranked_rows=list(ranked.iter_rows(named=True)), status=status or {}, failed=failed,
                          param_names=names)
    write_tuning_results(out, doc)
    return SweepResult(out, ranked, computed, seconds, sweep_id, summary_line(doc, seconds, rec.n_events))

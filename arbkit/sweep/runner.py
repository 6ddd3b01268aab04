"""Run a sweep: parameter sets in blocks, each block one pass of the batched kernel, resumable.

Blocks run in joblib worker processes (or on a Dask cluster). Each finished set is written to ``rows/<param_id>.json`` under a temporary name and renamed,
so an interrupted sweep leaves only whole rows; rerunning skips the sets whose row exists.
At the end the rows become ``results.parquet`` (every set, every KPI), ranked into
``candidates.json``, and ``manifest.json`` records what is needed to reproduce the sweep
(recording part hashes, settings, seed, package versions).
"""
from __future__ import annotations

import json
import os
import platform
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
from arbkit.engine.config import FillModel, LatencyModel, RiskGuards, check_mark
from arbkit.io.read_checks import verify_parts
from arbkit.run.replay import EmptyRunWarning, replay, replay_batch, window_notice
from arbkit.strategies import get_strategy
from arbkit.sweep.grid import as_list, param_id
from arbkit.sweep.progress import Progress
from arbkit.sweep.candidates import metadata as candidates_metadata
from arbkit.sweep.ranking import rank, write_candidates

ROW_DIR = "rows"


@dataclass
class SweepResult:
    """The sweep's ranked table and where its files are."""

    out_dir: Path
    frame: pl.DataFrame  # the ranked table; also table()
    computed: int  # sets replayed in this call (the rest came from earlier rows)
    seconds: float

    def best(self) -> dict[str, Any]:
        """The first-ranked row."""
        return self.frame.row(0, named=True)

    def table(self) -> pl.DataFrame:
        """Every parameter set with every KPI, ranked (the contents of results.parquet)."""
        return self.frame

    def plot_heatmap(self, x: str, y: str, kpi: str):
        """A KPI over two parameters (mean over the others), as a matplotlib Figure."""
        for name in (x, y, kpi):
            if name not in self.frame.columns:
                raise ConfigError(f"plot_heatmap: {name!r} is not a column of the sweep table")
        return heatmap_figure(self.frame, x, y, kpi)

    def report(self, path: str | Path, kpi: str | None = None) -> Path:
        """Write the sweep's markdown report (see :func:`arbkit.report.sweep_report`)."""
        return sweep_report(self.out_dir, path, kpi=kpi)


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
          "allow_crossed": bool(settings.get("allow_crossed", False)), "mark": settings.get("mark", "mid")}
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


def run_block(job: SweepJob) -> list[str]:
    """Replay one block of parameter sets (one pass when batched) and write each set's row atomically."""
    results = replay_sets(job.recording, job.strategy, job.options, job.sets, job.settings, batched=job.batched)
    for params, res, pid, path in zip(job.sets, results, job.param_ids, job.row_paths):
        row = result_row(res, params, job.gate, job.settings.get("cost_profile"))
        row["param_id"] = pid
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
               n_jobs: int, batched: bool = True) -> list[SweepJob]:
    """``run_block`` jobs for ``todo`` (parameter set, param_id) pairs: blocks small enough to keep every
    worker busy, large enough to share each pass (one set per block when not batched)."""
    size = max(1, min(batch_size, -(-len(todo) // max(n_jobs, 1)))) if batched else 1
    return [SweepJob(recording, strategy, dict(options), [p for p, _ in blk], settings, gate, [pid for _, pid in blk],
                     [str(rows_dir / f"{pid}.json") for _, pid in blk], batched)
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


def sweep(recording: str | Path, strategy: str, grid: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
          out_dir: str | Path, strategy_options: Mapping[str, Any] | None = None, fill: Any = None,
          latency: Any = None, guards: Any = None, seed: int = 0, n_jobs: int = 1, gate: str | None = None,
          resume: bool = True, top: int = 10, base_params: Mapping[str, Any] | None = None,
          batched: bool = True, batch_size: int = 64, backend: str = "local", scheduler: Any = None,
          start: int | None = None, end: int | None = None, progress: bool | None = None,
          allow_bad_rows: bool = False, verify: bool = False, allow_crossed: bool = False,
          mark: str = "mid") -> SweepResult:
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
    (``mid`` or ``mark_price``; see :func:`arbkit.run.replay.replay`).
    """

    if backend not in ("local", "dask"):
        raise ConfigError(f"sweep.backend must be 'local' or 'dask', got {backend!r}")
    if backend == "dask" and scheduler is None:
        raise ConfigError("sweep.backend=dask needs a scheduler address (or a distributed.Client)")
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"sweep.n_jobs must be a positive integer, got {n_jobs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"sweep.batch_size must be a positive integer, got {batch_size!r}")
    rec = load(recording)  # fail early, with the recording's own error
    if verify:
        verify_parts(rec)
    sets = [{**(base_params or {}), **p} for p in as_list(grid)]
    options = dict(strategy_options or {})
    check_sets(get_strategy(strategy, **options), sets, rec.instruments)  # every set, before any runs
    names = list(dict.fromkeys(k for p in sets for k in p))
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
    out = Path(out_dir)
    rows_dir = writable_dir(out / ROW_DIR, "sweep output directory")
    for stale in rows_dir.glob("*.tmp"):  # left by a writer killed mid-row; never read as a row
        stale.unlink(missing_ok=True)
    extra = {"strategy": strategy, "options": options, "settings": settings, "gate": gate,
             "recording": str(Path(recording).resolve())}
    ids = [param_id(p, extra) for p in sets]
    if len(set(ids)) != len(ids):
        raise ConfigError("grid: the same parameter set appears twice")
    todo = [(p, pid) for p, pid in zip(sets, ids) if not (resume and (rows_dir / f"{pid}.json").is_file())]
    jobs = block_jobs(str(rec.path), strategy, options, settings, gate, todo, rows_dir, batch_size=batch_size,
                      n_jobs=n_jobs, batched=batched)
    t0 = time.perf_counter()
    with Progress(len(sets), len(sets) - len(todo), rec.n_events, enabled=progress) as bar:
        if jobs:
            _run_blocks(jobs, n_jobs, backend, scheduler, bar)
    seconds = time.perf_counter() - t0
    return finish_sweep(out, rec, strategy, options, settings, gate, sets, ids, names, top, len(todo), seconds)


def finish_sweep(out: Path, rec: Any, strategy: str, options: Mapping[str, Any], settings: Mapping[str, Any],
                 gate: str | None, sets: Sequence[Mapping[str, Any]], ids: Sequence[str], names: Sequence[str],
                 top: int, computed: int, seconds: float) -> SweepResult:
    """Gather the rows into results.parquet, candidates.json and manifest.json (each written atomically)."""
    rows = [json.loads((out / ROW_DIR / f"{pid}.json").read_text()) for pid in ids]
    table = pl.DataFrame(rows, infer_schema_length=None)
    spec = get_strategy(strategy, **options)
    ranked = rank(table, spec.rank_keys)
    tmp = out / f"results.{os.getpid()}.tmp.parquet"
    ranked.write_parquet(tmp)
    os.replace(tmp, out / "results.parquet")
    meta = candidates_metadata(source=f"arbkit sweep {out}", strategy=strategy, options=options, param_names=names,
                               recording=rec, settings=settings, gate=gate, rank_keys=spec.rank_keys, top=top)
    write_candidates(out / "candidates.json", ranked, names, meta, top=top)
    manifest = {"recording": str(rec.path), "recording_parts_sha256": meta["recording"]["parts_sha256"],
                "strategy": strategy, "strategy_options": options, "settings": settings, "gate": gate,
                "rank_keys": meta["rank_keys"], "grid": list(sets), "param_ids": list(ids), "seed": settings.get("seed", 0), "versions": _versions()}
    tmpm = out / f"manifest.{os.getpid()}.tmp"
    tmpm.write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    os.replace(tmpm, out / "manifest.json")
    return SweepResult(out, ranked, computed, seconds)

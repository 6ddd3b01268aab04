"""``arbkit-sweep``: the hydra app over the packaged ``arbkit/conf/`` (single runs, ``-m`` multiruns, Optuna studies).

A job is one parameter set: the ``strategy`` group's values (``strategy.<param>=…``) with
the ``data``, ``fill``, ``latency``, ``guards``, ``gates``, ``costs`` groups and ``seed``
(``costs`` is the cost profile of the strategy's default objective, e.g. the arbitrage's
``edge_<name>``). It writes its result row (parameters, KPIs, edges, gate, fills_hash) to ``rows/<param_id>.json`` in
the sweep directory (a row already there is reused: resume) and returns the objective KPI(s)
so ``hydra/sweeper=arbkit_optuna`` can optimise them. The default launcher (``arbkit``)
replays all the jobs it is given that differ only in strategy parameters in one pass of the
batched kernel. At the end of a multirun :class:`ConsolidateResults` writes
``results.parquet``, ``candidates.json``, ``manifest.json`` and ``tuning_results.json`` into
the sweep directory (and ``results.csv`` with ``sweep.csv=true``), and prints the end-of-sweep summary.

The ``arbkit`` launcher writes each batch's jobs to the plan ``jobs.jsonl`` before it
replays any of them (a ``-m`` grid is one batch; the Optuna sweeper asks a batch of trials at
a time, so its plan grows by one batch at a time); every job carries the multirun's sweep id
(``sweep.id``), which its log line and every output repeat.

With a non-empty ``sweep.grid`` a single job runs that whole grid through
:func:`arbkit.sweep.sweep` (batched, ``sweep.n_jobs`` processes or a Dask cluster).
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException, HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from arbkit.conf import HYDRA_CONFIG_PATH
from arbkit.core.errors import ArbkitError, ConfigError
from arbkit.core.out_dir import writable_dir
from arbkit.engine.config import FillModel, LatencyModel, RiskGuards, check_mark
from arbkit.io.read_checks import verify_parts
from arbkit.io.recording import load
from arbkit.kpi.gates import Gate
from arbkit.run.replay import window_notice
from arbkit.strategies import get_strategy
from arbkit.sweep import sweep
from arbkit.sweep.grid import param_id
from arbkit.sweep.progress import Progress
from arbkit.sweep.plan import PLAN_FILE, existing_sweep_id, read_plan
from arbkit.sweep.runner import _run_blocks, _write_row, block_jobs, finish_sweep, run_one, write_csv

log = logging.getLogger("arbkit.sweep")
STRATEGY_KEYS = ("name", "options")  # everything else in the strategy group is a parameter
ROW_DIR = "rows"
REFUSED_DIR = "refused"  # the arbkit launcher's note per job refused before it ran (read into tuning_results)


#: True when the user asked hydra for full tracebacks (HYDRA_FULL_ERROR=1): errors are not shortened.
_FULL_ERRORS = False
#: Recordings whose part hashes this process checked already (``data.verify``).
_VERIFIED: set[str] = set()
#: (recording, start, end) windows already said to hold no events.
_NOTICED: set[tuple] = set()


class JobRefused(ConfigError, CompactHydraException):
    """A job, or a whole multirun, refused before anything was replayed (hydra prints only the message)."""


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def resolve_recording(path: str) -> Path:
    """``data.path`` as given (a relative path is relative to the working directory)."""
    return Path(path).expanduser().resolve()


def default_objective(strategy: str, options: Mapping[str, Any], costs: str = "realistic") -> list[str]:
    """The KPI a job returns when ``objective`` is not set: the strategy's own (``Strategy.objective``)."""
    return [get_strategy(strategy, **options).objective.format(costs=costs)]


def job_spec(cfg: DictConfig) -> dict[str, Any]:
    """What a job replays, as plain data: recording, strategy, parameters, run settings, gate, objective."""

    strat = _plain(cfg.strategy)
    if not isinstance(strat, Mapping) or "name" not in strat:
        raise ConfigError("strategy: the group needs a 'name' (arb, mm, …)")
    params = {k: v for k, v in strat.items() if k not in STRATEGY_KEYS}
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            shown = "an empty value" if v in ("", None) else repr(v)
            raise ConfigError(f"strategy.{k} must be a number, got {shown}")
    rec = load(resolve_recording(str(cfg.data.path)))
    if cfg.data.get("verify") and str(rec.path) not in _VERIFIED:
        verify_parts(rec)
        _VERIFIED.add(str(rec.path))
    start = end = None
    if cfg.data.get("start_s") is not None:
        start = rec.manifest.start_ns + int(float(cfg.data.start_s) * 1e9)
    if cfg.data.get("end_s") is not None:
        end = rec.manifest.start_ns + int(float(cfg.data.end_s) * 1e9)
    notice = window_notice((start, end), (rec.manifest.start_ns, rec.manifest.end_ns))
    if notice and (str(rec.path), start, end) not in _NOTICED:
        _NOTICED.add((str(rec.path), start, end))
        log.warning("%s: %s", rec.path, notice)
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    allow_crossed = cfg.get("allow_crossed", False)
    if not isinstance(allow_crossed, bool):
        raise ConfigError(f"allow_crossed must be true or false, got {allow_crossed!r}")
    mark = check_mark(cfg.get("mark", "mid") or "mid")
    allow_short = cfg.get("allow_short")
    if allow_short is not None and not isinstance(allow_short, bool):
        raise ConfigError(f"allow_short must be true, false or null, got {allow_short!r}")
    costs = str(cfg.costs.name) if cfg.get("costs") else "realistic"
    options = dict(strat.get("options") or {})
    objective = _plain(cfg.get("objective")) or default_objective(strat["name"], options, costs)
    if isinstance(objective, str):
        objective = [objective]
    spec = {"recording": str(rec.path), "strategy": strat["name"], "options": options,
            "params": {k: float(v) for k, v in params.items()},
            "settings": {"fill": _plain(cfg.get("fill")), "latency": _plain(cfg.get("latency")),
                         "guards": _plain(cfg.get("guards")), "seed": seed, "start": start, "end": end,
                         "cost_profile": costs, **({"allow_bad_rows": True} if cfg.data.get("allow_bad_rows") else {}),
                         **({"allow_crossed": True} if allow_crossed else {}),
                         **({"mark": mark} if mark != "mid" else {}),
                         **({"allow_short": allow_short} if allow_short is not None else {}),
                         **({"rewards": _plain(cfg.get("rewards"))} if cfg.get("rewards") else {})},
            "gate": _plain(cfg.get("gates")), "objective": list(objective)}
    check_spec(spec, rec.instruments)
    return spec


def check_spec(spec: Mapping[str, Any], instruments: Sequence[Any]) -> None:
    """Everything a job will use, checked before it replays: the strategy's parameters against the
    recording's instruments (names, kinds, ranges), fill, latency, guards and the gate."""
    get_strategy(spec["strategy"], **spec["options"]).checked_vector(spec["params"], instruments)
    st = spec["settings"]
    FillModel.from_dict(st["fill"])
    LatencyModel.from_dict(st["latency"])
    RiskGuards.from_dict(st["guards"])
    if isinstance(spec["gate"], Mapping):
        Gate.from_dict(spec["gate"])


def spec_id(spec: Mapping[str, Any]) -> str:
    """The stable id of a job's parameter set and settings."""
    return param_id(spec["params"], {k: spec[k] for k in ("strategy", "options", "settings", "gate", "recording")})


def batch_key(spec: Mapping[str, Any]) -> str:
    """Jobs with equal keys differ only in strategy parameters and can share one batched pass."""
    return json.dumps({k: spec[k] for k in ("recording", "strategy", "options", "settings", "gate")}, sort_keys=True,
                      default=str)


def objective_values(row: Mapping[str, Any], objective: Sequence[str]) -> float | list[float]:
    """The KPI(s) hydra's sweeper sees (NaN when a KPI has no value, e.g. no round trips: a failed trial)."""
    out = []
    for name in objective:
        if name not in row:
            raise ConfigError(f"objective: {name!r} is not a KPI of this run; known: {sorted(row)}")
        v = row[name]
        out.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan)
    return out[0] if len(out) == 1 else out


def _sweep_dir() -> Path:
    hc = HydraConfig.get()
    if str(hc.mode) == "RunMode.MULTIRUN":
        return Path(hc.sweep.dir)
    return Path(hc.runtime.output_dir)


def precompute_rows(specs: Sequence[Mapping[str, Any]], rows_dir: Path, batch_size: int = 64,
                    n_jobs: int = 1, sweep_id: str | None = None) -> int:
    """Replay, batched, every spec whose row is missing; returns how many sets were replayed."""

    rows_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for spec in specs:
        pid = spec_id(spec)
        if not (rows_dir / f"{pid}.json").is_file() and pid not in {p for _, p in groups.get(batch_key(spec), [])}:
            groups.setdefault(batch_key(spec), []).append((spec, pid))
    jobs = []
    for members in groups.values():
        first = members[0][0]
        jobs += block_jobs(first["recording"], first["strategy"], first["options"], first["settings"], first["gate"],
                           [(spec["params"], pid) for spec, pid in members], rows_dir, batch_size=batch_size,
                           n_jobs=n_jobs, sweep_id=sweep_id)
    n = sum(len(job.sets) for job in jobs)
    if jobs:
        with Progress(n, 0, 0, enabled=False) as bar:
            _run_blocks(jobs, n_jobs, "local", None, bar)
    return n


def run_job(cfg: DictConfig) -> float | list[float]:
    """One hydra job (see the module doc)."""
    spec = job_spec(cfg)
    if cfg.sweep.get("grid"):
        return run_grid(cfg, spec)

    pid = spec_id(spec)
    sid = cfg.sweep.get("id") or existing_sweep_id(_sweep_dir())
    rows_dir = writable_dir(_sweep_dir() / ROW_DIR, "sweep output directory")
    path = rows_dir / f"{pid}.json"
    if path.is_file():
        row = json.loads(path.read_text())
    else:
        row = run_one(spec["recording"], spec["strategy"], spec["options"], spec["params"], spec["settings"],
                      spec["gate"])
        row["param_id"] = pid
        if sid:
            row["sweep_id"] = sid
        _write_row(path, row)
    _write_row(rows_dir / f"{pid}.job.json", {**spec, "sweep_id": sid})
    out = Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "row.json").write_text(json.dumps(row, indent=1, default=float) + "\n")
    value = objective_values(row, spec["objective"])
    log.info("sweep %s job %s %s: %s = %s, fills %s, total_pnl %s, fills_hash %s", sid or "-", pid, spec["strategy"],
             spec["objective"], value, row.get("fills"), row.get("total_pnl"), str(row.get("fills_hash", ""))[:16])
    return value


def run_grid(cfg: DictConfig, spec: Mapping[str, Any]) -> float | list[float]:
    """``sweep.grid`` set: the whole grid in this job through :func:`arbkit.sweep.sweep`; returns the best objective."""

    sw = _plain(cfg.sweep)
    grid = sw["grid"]
    st = spec["settings"]
    res = sweep(spec["recording"], spec["strategy"], grid, random_samples=int(sw.get("random_samples") or 0),
                out_dir=HydraConfig.get().runtime.output_dir,
                strategy_options=spec["options"], base_params=spec["params"], fill=st["fill"], latency=st["latency"],
                guards=st["guards"], seed=st["seed"], start=st["start"], end=st["end"], gate=spec["gate"],
                n_jobs=int(sw["n_jobs"]), batched=bool(sw["batched"]), batch_size=int(sw["batch_size"]),
                backend=sw["backend"], scheduler=sw.get("scheduler"), resume=bool(sw["resume"]),
                top=int(sw["top"]), progress=sw.get("progress"), allow_bad_rows=bool(st.get("allow_bad_rows", False)),
                allow_crossed=bool(st.get("allow_crossed", False)), mark=st.get("mark", "mid"),
                allow_short=st.get("allow_short"), rewards=st.get("rewards"), plan_only=bool(sw.get("plan_only")),
                csv=Path(HydraConfig.get().runtime.output_dir) / "results.csv" if sw.get("csv") else None)
    if isinstance(res, Path):  # sweep.plan_only: the plan is written, nothing ran
        log.info("plan written to %s", res)
        return math.nan
    log.info(res.summary)
    return objective_values(res.best(), spec["objective"])


class ConsolidateResults(Callback):
    """After a multirun: one results.parquet / candidates.json / manifest.json over every job's row."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the multirun's consolidated results."""
        sw = config.get("sweep") or {}
        res = consolidate(Path(str(config.hydra.sweep.dir)), top=int(sw.get("top", 10)), csv=bool(sw.get("csv")))
        if res is not None:
            log.info(res.summary)
            print(res.summary, file=sys.stderr)


def consolidate(sweep_dir: Path, top: int = 10, csv: bool = False) -> Any:
    """Rank the rows of a multirun's jobs (by the first job's strategy) into the result files; the plan
    (``jobs.jsonl``) gives the sweep id, the optimiser and the jobs that left no row (failed)."""

    specs = [json.loads(p.read_text()) for p in sorted((sweep_dir / ROW_DIR).glob("*.job.json"))]
    if not specs:
        return None
    plan = read_plan(sweep_dir / PLAN_FILE) if (sweep_dir / PLAN_FILE).is_file() else []
    first = specs[0]
    same = [s for s in specs if s["strategy"] == first["strategy"]]
    ids = [spec_id(s) for s in same]
    order = {ln["job_id"]: k for k, ln in enumerate(plan)}
    same = [s for _, s in sorted(zip(ids, same), key=lambda x: order.get(x[0], len(order)))]  # plan order
    ids = [spec_id(s) for s in same]
    names = list(dict.fromkeys(k for s in same for k in s["params"]))
    info = plan[0] if plan else {}
    have = set(ids)
    failed = [{"job_id": ln["job_id"], "params": ln["params"], "reason": ln.get("reason", "no result row")}
              for ln in plan if ln["job_id"] not in have]
    for p in sorted((sweep_dir / REFUSED_DIR).glob("*.json")):  # jobs refused before they had a job id
        failed.append(json.loads(p.read_text()))
    starts = [float(ln["planned_at"]) for ln in plan if "planned_at" in ln]
    seconds = time.time() - min(starts) if starts else 0.0
    res = finish_sweep(sweep_dir, load(first["recording"]), first["strategy"], first["options"], first["settings"],
                       first["gate"], [s["params"] for s in same], ids, names, top, len(ids), seconds,
                       sweep_id=info.get("sweep_id") or first.get("sweep_id"),
                       optimiser=info.get("optimiser") or {"name": "grid", "settings": {"jobs": len(ids)}},
                       objective=first["objective"], directions=(info.get("optimiser") or {}).get("directions"),
                       failed=failed)
    if csv:
        write_csv(res.frame, sweep_dir / "results.csv")
    return res


def one_line(exc: BaseException) -> str:
    """An error as one line: the file and the reason of an OSError, hydra's message and its cause."""
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or exc}"
    else:
        text = str(exc)
        cause = exc.__cause__
        if isinstance(exc, HydraException) and isinstance(cause, OmegaConfBaseException):
            text += "\n" + str(cause).split("\n")[0]
    out = ""
    for line in (x.strip() for x in text.splitlines() if x.strip()):
        out += (" " if out.endswith((".", ":", ";")) else "; ") + line if out else line
    return out


@hydra.main(version_base="1.3", config_path=HYDRA_CONFIG_PATH, config_name="config")
def _app(cfg: DictConfig) -> Any:
    try:
        return run_job(cfg)
    except (ArbkitError, OSError) as exc:
        if str(HydraConfig.get().mode) == "RunMode.RUN" and not _FULL_ERRORS:
            print(f"arbkit-sweep: error: {one_line(exc)}", file=sys.stderr)
            raise SystemExit(2) from None  # one line, not hydra's traceback; nothing was lost
        raise JobRefused(one_line(exc)) from None  # a multirun job: hydra reports it, Optuna tells FAIL


def main() -> None:
    """Console entry point ``arbkit-sweep`` (all of hydra's command line: -m, --cfg job, hydra/sweeper=…).

    A user mistake (a bad value, an unreadable recording, an output directory that cannot be
    written) is one line on stderr and exit code 2. ``HYDRA_FULL_ERROR=1`` gives hydra's full
    tracebacks instead.
    """
    global _FULL_ERRORS
    if os.environ.get("HYDRA_FULL_ERROR"):
        _FULL_ERRORS = True
        _app()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # hydra raises instead of printing a traceback; the line is ours
    try:
        _app()
    except (ArbkitError, HydraException, OmegaConfBaseException, OSError) as exc:
        print(f"arbkit-sweep: error: {one_line(exc)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

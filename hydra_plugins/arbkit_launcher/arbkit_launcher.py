"""``hydra/launcher=arbkit``: replay a batch of jobs in shared passes, then run each job on its result.

Hydra hands the launcher every job of a batch (all of a ``-m`` grid, or the trials an
Optuna sweeper asks for at once). Jobs that differ only in strategy parameters are replayed
together by :func:`arbkit.sweep.hydra_app.precompute_rows` (``batch_size`` sets per pass,
``n_jobs`` processes); each job then runs as usual through hydra's ``run_job`` (its own
output directory, ``.hydra`` files, return value) and finds its row already written.

Every job is checked before the first one replays (its strategy parameters against the
recording's instruments, its fill / latency / guards / gate, the output directory): in a
``-m`` grid one bad job stops the multirun with one line naming it, and nothing runs; when
the Optuna sweeper launches a batch of trials (``fail_fast`` off), a bad trial is returned
as failed with the reason, without replaying it, and the others run.

Before anything of a batch is replayed its jobs are appended to the plan ``jobs.jsonl`` in
the sweep directory (one line per job: sweep id, job id, parameters, window, seed, settings,
the command that replays it alone; a ``-m`` grid is one batch, the Optuna sweeper's trials
come a batch at a time). The sweep id (a UUID, kept by the launcher for the whole multirun,
or the one of a plan already in the sweep directory) goes into every job's ``sweep.id``.
``sweep.plan_only=true`` writes the plan of a ``-m`` grid and runs nothing.

(No ``from __future__ import annotations`` here: hydra loads plugin modules in a way that
breaks dataclasses with string annotations.)
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

import json
import time

from arbkit.core.errors import ArbkitError
from arbkit.core.out_dir import writable_dir
from arbkit.sweep.hydra_app import REFUSED_DIR, ROW_DIR, JobRefused, job_spec, one_line, precompute_rows, spec_id
from arbkit.sweep.plan import PLAN_FILE, existing_sweep_id, new_sweep_id, plan_line, write_plan

log = logging.getLogger(__name__)


@dataclass
class ArbkitLauncherConf:
    _target_: str = "hydra_plugins.arbkit_launcher.arbkit_launcher.ArbkitLauncher"
    batch_size: int = 64  # parameter sets per shared pass
    n_jobs: int = 1  # worker processes for the passes


ConfigStore.instance().store(group="hydra/launcher", name="arbkit", node=ArbkitLauncherConf, provider="arbkit")


class ArbkitLauncher(Launcher):
    def __init__(self, batch_size: int = 64, n_jobs: int = 1) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.fail_fast = True  # a bad job stops the whole batch before anything runs (Optuna turns this off)
        self.sweep_id: Optional[str] = None  # the multirun's id, set at the first batch
        self.optimiser: Dict[str, Any] = {"name": "grid", "settings": {}}  # the sweeper says which (Optuna sets it)
        self.batches = 0
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        assert self.hydra_context is not None and self.config is not None and self.task_function is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        writable_dir(sweep_dir / ROW_DIR, "sweep output directory")
        configs = [self.hydra_context.config_loader.load_sweep_config(self.config, list(ov)) for ov in job_overrides]
        if self.sweep_id is None:
            self.sweep_id = existing_sweep_id(sweep_dir) or new_sweep_id()
        for cfg in configs:
            with open_dict(cfg):
                cfg.sweep.id = self.sweep_id
        specs: List[Any] = []
        numbers: List[int] = []
        refused: Dict[int, JobRefused] = {}
        shared = set.intersection(*(set(ov) for ov in job_overrides)) if len(job_overrides) > 1 else set()
        for k, (ov, cfg) in enumerate(zip(job_overrides, configs)):
            try:
                if not cfg.sweep.get("grid"):
                    specs.append(job_spec(cfg))
                    numbers.append(initial_job_idx + k)
            except (ArbkitError, OSError) as exc:
                label = " ".join(o for o in filter_overrides(ov) if o not in shared) or "no overrides"
                refused[k] = JobRefused(f"job #{initial_job_idx + k} ({label}): {one_line(exc)}")
                if self.fail_fast:
                    raise refused[k]  # before anything is replayed
                note = {"job_id": f"job#{initial_job_idx + k}", "reason": str(refused[k]),
                        "params": {o.split("=", 1)[0]: o.split("=", 1)[1] for o in ov if "=" in o}}
                (sweep_dir / REFUSED_DIR).mkdir(exist_ok=True)  # kept apart from the rows
                (sweep_dir / REFUSED_DIR / f"job{initial_job_idx + k}.json").write_text(json.dumps(note) + "\n")
        self._write_plan(sweep_dir, specs, numbers)
        if self.config.sweep.get("plan_only"):
            log.info(f"Plan of {len(specs)} jobs written to {sweep_dir / PLAN_FILE}; nothing run (sweep.plan_only)")
            return []
        n = precompute_rows(specs, sweep_dir / ROW_DIR, batch_size=self.batch_size, n_jobs=self.n_jobs,
                            sweep_id=self.sweep_id)
        log.info(f"Replayed {n} of {len(job_overrides)} parameter sets in shared passes")
        runs: List[JobReturn] = []
        for k, (overrides, cfg) in enumerate(zip(job_overrides, configs)):
            idx = initial_job_idx + k
            if k in refused:  # not run: failed with its reason
                log.warning(str(refused[k]))
                ret = JobReturn(overrides=list(overrides), cfg=cfg, status=JobStatus.FAILED)
                ret.return_value = refused[k]
                runs.append(ret)
                continue
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            with open_dict(cfg):
                cfg.hydra.job.id = idx
                cfg.hydra.job.num = idx
            runs.append(run_job(hydra_context=self.hydra_context, task_function=self.task_function, config=cfg,
                                job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir"))
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return runs

    def _write_plan(self, sweep_dir: Path, specs: Sequence[Any], numbers: Sequence[int]) -> None:
        """Append this batch's jobs to the plan (atomically), before any of them runs."""
        assert self.sweep_id is not None
        plan = sweep_dir / PLAN_FILE
        now = time.time()
        lines = [plan_line(self.sweep_id, spec_id(sp), sp["recording"], sp["strategy"], sp["options"], sp["params"],
                           sp["settings"], sp["gate"], plan, objective=sp["objective"], optimiser=self.optimiser,
                           batch=self.batches, job_num=num, planned_at=now)
                 for sp, num in zip(specs, numbers)]
        self.batches += 1
        if lines:
            write_plan(plan, lines, append=True)

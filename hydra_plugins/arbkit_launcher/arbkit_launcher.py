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

from arbkit.core.errors import ArbkitError
from arbkit.core.out_dir import writable_dir
from arbkit.sweep.hydra_app import ROW_DIR, JobRefused, job_spec, one_line, precompute_rows

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
        specs: List[Any] = []
        refused: Dict[int, JobRefused] = {}
        shared = set.intersection(*(set(ov) for ov in job_overrides)) if len(job_overrides) > 1 else set()
        for k, (ov, cfg) in enumerate(zip(job_overrides, configs)):
            try:
                if not cfg.sweep.get("grid"):
                    specs.append(job_spec(cfg))
            except (ArbkitError, OSError) as exc:
                label = " ".join(o for o in filter_overrides(ov) if o not in shared) or "no overrides"
                refused[k] = JobRefused(f"job #{initial_job_idx + k} ({label}): {one_line(exc)}")
                if self.fail_fast:
                    raise refused[k]  # before anything is replayed
        n = precompute_rows(specs, sweep_dir / ROW_DIR, batch_size=self.batch_size, n_jobs=self.n_jobs)
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

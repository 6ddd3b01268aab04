"""``hydra/sweeper=arbkit_optuna``: an Optuna study driving hydra jobs, a batch of trials at a time.

The search space comes from ``hydra.sweeper.params`` and from sweep overrides on the
command line, in hydra's override grammar:

* ``x=interval(0.1, 3.0)`` — a float in [0.1, 3.0] (``tag(log, interval(…))`` for a log scale);
* ``x=range(1, 10)`` / ``range(0.5, 3, 0.5)`` — an int / a stepped float;
* ``x=a,b,c`` or ``choice(a, b, c)`` — categorical.

Plain overrides are passed to every job. Each batch asks ``n_jobs`` trials, launches them
together (the ``arbkit`` launcher replays them in one shared pass) and tells Optuna the
values the jobs return — one objective (``direction: maximize``) or several
(``direction: [maximize, minimize]``, with ``sampler: nsga2``). A job that fails or returns
NaN is told as a failed trial, its reason logged and kept in the trial's ``fail_reason``
user attribute (a trial whose parameters the strategy refuses — an asset index the
recording does not have, a negative size — is not replayed at all). ``storage`` (an RDB URL such as ``sqlite:///study.db``, or
``journal:/shared/path/study.log``) lets several machines work on one study; the best
parameters (or the Pareto front) are written to ``optimization_results.yaml``.

The Optuna plugin shipped by hydra pins ``optuna<3``; this one uses Optuna's current API.
(No ``from __future__ import annotations``: see the launcher plugin.)
"""
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class ArbkitOptunaSweeperConf:
    _target_: str = "hydra_plugins.arbkit_optuna.optuna_sweeper.ArbkitOptunaSweeper"
    sampler: str = "tpe"  # tpe | nsga2 | random
    direction: Any = "maximize"  # or a list, one per objective
    n_trials: int = 20
    n_jobs: int = 4  # trials per batch (launched together)
    seed: int = 0
    study_name: Optional[str] = None
    storage: Optional[str] = None  # sqlite:///study.db, postgresql://…, or journal:/path/study.log
    params: Dict[str, str] = field(default_factory=dict)


for _name in ("arbkit_optuna", "optuna"):  # ``hydra/sweeper=optuna`` as DESIGN.md writes it
    ConfigStore.instance().store(group="hydra/sweeper", name=_name, node=ArbkitOptunaSweeperConf, provider="arbkit")


def distribution(override: Override) -> Any:
    """The Optuna distribution of one sweep override."""
    import optuna.distributions as d

    value = override.value()
    key = override.get_key_element()
    if override.is_choice_sweep():
        assert isinstance(value, ChoiceSweep)
        return d.CategoricalDistribution([x for x in override.sweep_iterator(transformer=lambda x: x)])
    if override.is_range_sweep():
        assert isinstance(value, RangeSweep)
        if all(isinstance(x, int) for x in (value.start, value.stop, value.step)):
            return d.IntDistribution(int(value.start), int(value.stop) - 1, step=int(value.step))
        n = math.floor((float(value.stop) - float(value.start)) / float(value.step) - 1e-12)
        return d.FloatDistribution(float(value.start), float(value.start) + n * float(value.step),
                                   step=float(value.step))
    if override.is_interval_sweep():
        assert isinstance(value, IntervalSweep)
        log_scale = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return d.IntDistribution(int(value.start), int(value.end), log=log_scale)
        return d.FloatDistribution(float(value.start), float(value.end), log=log_scale)
    raise HydraException(f"{key}: not a search space override")


def make_storage(storage: Optional[str]) -> Any:
    if not storage:
        return None
    if storage.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(storage[len("journal:"):]))
    return storage


class ArbkitOptunaSweeper(Sweeper):
    def __init__(self, sampler: str = "tpe", direction: Any = "maximize", n_trials: int = 20, n_jobs: int = 4,
                 seed: int = 0, study_name: Optional[str] = None, storage: Optional[str] = None,
                 params: Optional[Dict[str, str]] = None) -> None:
        if sampler not in ("tpe", "nsga2", "random"):
            raise HydraException(f"hydra.sweeper.sampler must be tpe, nsga2 or random, got {sampler!r}")
        if not isinstance(n_trials, int) or n_trials < 1 or not isinstance(n_jobs, int) or n_jobs < 1:
            raise HydraException("hydra.sweeper.n_trials and n_jobs must be positive integers")
        self.sampler_name = sampler
        self.directions = [direction] if isinstance(direction, str) else list(direction)
        for dd in self.directions:
            if dd not in ("maximize", "minimize"):
                raise HydraException(f"hydra.sweeper.direction: {dd!r} is not maximize or minimize")
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.seed = seed
        self.study_name = study_name
        self.storage = storage
        self.params = dict(params or {})
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)
        if hasattr(self.launcher, "fail_fast"):
            self.launcher.fail_fast = False  # a bad trial fails alone (told FAIL), the batch goes on

    def _sampler(self) -> Any:
        import optuna

        if self.sampler_name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=self.seed, population_size=max(4, self.n_jobs))
        if self.sampler_name == "random":
            return optuna.samplers.RandomSampler(seed=self.seed)
        return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=min(10, max(2, self.n_trials // 3)))

    def sweep(self, arguments: List[str]) -> Any:
        import optuna
        from optuna.trial import TrialState

        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        space: Dict[str, Any] = {}
        fixed: List[str] = []
        for ov in overrides:
            if ov.is_sweep_override():
                space[ov.get_key_element()] = distribution(ov)
            else:
                fixed.append(f"{ov.get_key_element()}={ov.get_value_element_as_str()}")
        if not space:
            raise HydraException("arbkit_optuna: no search space (give e.g. strategy.tp_bps=interval(1,20))")
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        study = optuna.create_study(study_name=self.study_name, storage=make_storage(self.storage),
                                    sampler=self._sampler(), directions=self.directions, load_if_exists=True)
        log.info(f"Study {study.study_name}: {self.sampler_name}, {self.directions}, space {sorted(space)}")
        done = 0
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            batch = [fixed + [f"{k}={t.params[k]}" for k in space] for t in trials]
            returns = self.launcher.launch(batch, initial_job_idx=done)
            for trial, ret in zip(trials, returns):
                values = None
                reason = None
                if ret.status == JobStatus.COMPLETED:
                    rv = ret.return_value
                    values = [float(x) for x in (rv if isinstance(rv, (list, tuple)) else [rv])]
                    if len(values) != len(self.directions) or any(v != v for v in values):
                        reason = f"objective values {values} (NaN, or not one per direction)"
                else:
                    reason = " ".join(str(ret._return_value).split()) or type(ret._return_value).__name__
                if reason is not None:
                    log.warning(f"trial {trial.number} failed: {reason}")
                    trial.set_user_attr("fail_reason", reason)
                    study.tell(trial, state=TrialState.FAIL)
                else:
                    study.tell(trial, values if len(values) > 1 else values[0])
            done += len(trials)
        self._write_results(study, sweep_dir)
        return study

    def _write_results(self, study: Any, sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
        out: Dict[str, Any] = {"name": "arbkit_optuna", "sampler": self.sampler_name, "directions": self.directions,
                               "n_trials": len(study.trials), "n_complete": len(complete)}
        if complete:
            if len(self.directions) == 1:
                out["best_params"] = dict(study.best_trial.params)
                out["best_value"] = float(study.best_value)
            else:
                out["pareto_front"] = [{"params": dict(t.params), "values": [float(v) for v in t.values]}
                                       for t in study.best_trials]
        OmegaConf.save(OmegaConf.create(out), sweep_dir / "optimization_results.yaml")
        log.info(f"Optuna results in {sweep_dir / 'optimization_results.yaml'}")

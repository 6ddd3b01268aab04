"""The next parameters after a FAIL: the hypothesis's rules, or an Optuna study told every finished run; in bounds.

The study (``optuna.db`` in the campaign directory, one study per hypothesis) maximises the
share of the hypothesis's checks a run met; each finished run is added once (by run id) with
the bounded values it ran with, and the next values come from a seeded sampler over the
bounded space, so they can never leave it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.campaign.rules import apply_rules, clip
from arbkit.campaign.spec import CampaignSpec, Hypothesis


def rules_next(hyp: Hypothesis, values: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
               ) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """The hypothesis's rules applied to ``values`` (clipped to bounds), with the changes and reasons."""
    return apply_rules(hyp.adjust, values, bounds)


def optuna_next(spec: CampaignSpec, hyp: Hypothesis, values: Mapping[str, float], history: Sequence[Mapping[str, Any]],
                storage_path: Path) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Values the hypothesis's study proposes after being told every finished run of it; changes with reasons."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {p: optuna.distributions.FloatDistribution(lo, hi) for p, (lo, hi) in spec.bounds.items()}
    storage = f"sqlite:///{storage_path}"
    name = f"{spec.name}:{hyp.name}"
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", load_if_exists=True)
    told = {t.user_attrs.get("run_id") for t in study.get_trials(deepcopy=False)}
    for h in history:
        if h.get("hypothesis") != hyp.name or h.get("verdict") not in ("PASS", "FAIL") or h["run_id"] in told:
            continue
        ran = {p: clip(float(h["values"][p]), spec.bounds[p]) for p in spec.bounds}
        study.add_trial(optuna.trial.create_trial(params=ran, distributions=dists, value=float(h["score"]),
                                                  user_attrs={"run_id": h["run_id"]}))
    n = len(study.get_trials(deepcopy=False))
    sampler = optuna.samplers.TPESampler(seed=spec.optuna_seed + n, n_startup_trials=4)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    trial = study.ask(dists)
    proposed = {p: clip(float(trial.params[p]), spec.bounds[p]) for p in spec.bounds}
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)  # a proposal, not a run: runs are added with their scores
    changes = {p: {"from": values[p], "to": v, "reason": f"optuna study {name!r} after {n} finished runs"}
               for p, v in proposed.items() if v != values[p]}
    return {**values, **proposed}, changes

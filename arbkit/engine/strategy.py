"""How a strategy is declared: a numba kernel with the one engine signature, plus its parameters.

    from arbkit.engine import api
    from arbkit.engine.strategy import Strategy, strategy_kernel

    @strategy_kernel
    def join_touch(st, params, user):
        a = 0
        if api.book_usable(st, a) and api.position(st, a) == 0.0 and user[0] == 0.0:
            user[0] = api.submit(st, a, 1, api.best_bid(st, a), params[0], api.POST_ONLY)

    JOIN = Strategy("join_touch", join_touch, params={"qty": 0.01}, schedule=Schedule(interval_ms=100))

``params`` is the float64 vector of the parameters in declaration order; ``user`` is the
strategy's own float64 state array (``state_size`` long, zeroed, or made by ``init_state``).

A Strategy also carries its analysis hooks (its own round trips, edge model, default
objective and ranking), which :func:`arbkit.kpi.evaluate` reads; the engine never calls them.

``specs`` declares what each parameter may be (:mod:`arbkit.engine.params`: ``asset()``,
``positive()``, ``integer(lo, hi)``, ``choice(...)``); an undeclared one may be any finite
number. The engine checks every parameter vector against the recording's instruments
before the kernel runs, e.g. ``specs={"qty": positive()}`` above.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numba import njit

from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine.config import Schedule
from arbkit.engine.params import FINITE, ParamSpec, param_problem
from arbkit.engine.state import STRATEGY_SIG


#: analysis defaults of a strategy without its own: optimise PnL; rank by PnL, then the smaller drawdown
DEFAULT_OBJECTIVE = "total_pnl"
DEFAULT_RANK_KEYS: tuple[tuple[str, bool], ...] = (("total_pnl", True), ("max_drawdown", False))


def strategy_kernel(fn: Callable) -> Any:
    """Compile ``fn(st, params, user)`` as a strategy kernel (cached; one signature for all strategies)."""
    return njit(STRATEGY_SIG, cache=True)(fn)


@dataclass(frozen=True)
class Strategy:
    """A kernel, its named parameters with defaults (in vector order) and when to call it."""

    name: str
    kernel: Any
    params: Mapping[str, float]
    schedule: Schedule = field(default_factory=lambda: Schedule(every_event=True))
    state_size: int = 16
    init_state: Callable[[np.ndarray, int], np.ndarray] | None = None

    # -- analysis hooks: read by arbkit.kpi.evaluate (the engine never calls them) -----------------
    #: the strategy's own round trips from a Result (they replace the flat-to-flat cycles in the KPIs)
    round_trips: Callable[[Any], list[dict[str, Any]]] | None = None
    #: the strategy's edge model: (Result, its round trips) -> ``arbkit.strategies.hooks.PaperEdge``
    edge: Callable[[Any, Any], Any] | None = None
    #: the strategy's internal figures over time from a Result's annotations: {"ts": ns, name: values, ...}
    #: (the market maker's reservation price, spread, skew, volatility estimate); campaigns and the dashboard read it
    internals: Callable[[Any], dict[str, np.ndarray]] | None = None
    #: binary-outcome makers: Result -> {market id: max net exposure}, for the market KPIs' time within limit
    market_limits: Callable[[Any], Mapping[str, float]] | None = None
    #: multi-market makers: (params, instruments) -> {market id: the same params quoting that market alone}, the
    #: single-market baselines of the campaign KPI ``market_pnl_vs_single``
    single_market_params: Callable[[Mapping[str, float], Any], dict[str, dict[str, float]]] | None = None
    #: the KPI a sweep job returns by default; ``{costs}`` stands for the run's cost profile name
    objective: str = DEFAULT_OBJECTIVE
    #: how sweeps rank parameter sets: (KPI, descending) in order of precedence
    rank_keys: tuple[tuple[str, bool], ...] = DEFAULT_RANK_KEYS
    #: a short label of a parameter set for run ids (staged validation); default: the parameters that vary
    run_label: Callable[[Mapping[str, float]], str] | None = None

    # -- parameter schema: kinds and ranges, checked against the recording (arbkit.engine.params) --
    specs: Mapping[str, ParamSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.specs) - set(self.params))
        if unknown:
            raise ConfigError(f"strategy {self.name}: specs for unknown parameter(s) {unknown}; known: {list(self.params)}")
        for name, spec in self.specs.items():
            if spec.distinct_from is not None and spec.distinct_from not in self.params:
                raise ConfigError(f"strategy {self.name}: {name} must differ from {spec.distinct_from!r}, "
                                  "which is not a parameter")
            missing = [leg for leg in spec.lot_of if leg not in self.params]
            if missing:
                raise ConfigError(f"strategy {self.name}: {name} is sized in lots of {missing}, "
                                  "which are not parameters")
        problem = param_problem(self.name, list(self.params), [float(v) for v in self.params.values()],
                                dict(self.specs))
        if problem:
            raise ConfigError(f"{problem} (the strategy's own default)")

    def spec(self, name: str) -> ParamSpec:
        """What parameter ``name`` may be (any finite number when undeclared)."""
        return self.specs.get(name, FINITE)

    def check_params(self, vec: np.ndarray, instruments: Sequence[Instrument] | None = None) -> None:
        """Raise a one-line ConfigError naming the first parameter of ``vec`` that is not allowed
        (asset indices against ``instruments`` when given)."""
        problem = param_problem(self.name, list(self.params), [float(v) for v in vec], dict(self.specs), instruments)
        if problem:
            raise ConfigError(problem)

    def checked_vector(self, values: Mapping[str, Any] | Sequence[float] | np.ndarray | None,
                       instruments: Sequence[Instrument] | None = None) -> np.ndarray:
        """:meth:`param_vector` of ``values``, checked against the specs and ``instruments``."""
        vec = self.param_vector(values)
        self.check_params(vec, instruments)
        return vec

    # -- parameter vectors ---------------------------------------------------------------------

    def param_vector(self, values: Mapping[str, Any] | Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Defaults overridden by ``values`` (a mapping by name, or a full vector)."""
        names = list(self.params)
        vec = np.array([float(self.params[n]) for n in names], dtype=np.float64)
        if values is None:
            return vec
        if isinstance(values, Mapping):
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise ConfigError(f"strategy {self.name}: unknown parameter(s) {unknown}; known: {names}")
            for k, v in values.items():
                try:
                    vec[names.index(k)] = float(v)
                except (TypeError, ValueError):
                    raise ConfigError(f"strategy {self.name}: parameter {k} must be a number, got {v!r}") from None
        else:
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != vec.shape:
                raise ConfigError(f"strategy {self.name}: expected {len(names)} parameters {names}, got {arr.shape}")
            vec = arr.copy()
        bad = [names[i] for i in np.flatnonzero(~np.isfinite(vec))]
        if bad:
            raise ConfigError(f"strategy {self.name}: parameter(s) {bad} must be finite")
        return np.ascontiguousarray(vec)

    def new_user_state(self, params: np.ndarray, n_assets: int) -> np.ndarray:
        """The strategy's own float64 state for a run (zeros or ``init_state``)."""
        if self.init_state is not None:
            return np.ascontiguousarray(self.init_state(params, n_assets), dtype=np.float64)
        return np.zeros(self.state_size, dtype=np.float64)

    def param_dict(self, vec: np.ndarray) -> dict[str, float]:
        """The parameter vector as a name -> value dict."""
        return {n: float(v) for n, v in zip(self.params, vec)}

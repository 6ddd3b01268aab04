"""Judge one replay: KPIs, the strategy's round trips and edge, gate verdicts, the objective — one path for all.

The command line, sweeps, staged validation, reports and ``RunResult.kpis()`` all call
:func:`evaluate`; what differs between strategies comes from the hooks the
:class:`~arbkit.engine.strategy.Strategy` carries (``round_trips``, ``edge``, ``objective``,
``rank_keys``), never from its name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from arbkit.core.errors import ConfigError
from arbkit.engine.strategy import DEFAULT_OBJECTIVE, DEFAULT_RANK_KEYS, Strategy
from arbkit.kpi.compute import compute_kpis
from arbkit.kpi.edge import PROFILES, edge_report
from arbkit.kpi.gates import Gate
from arbkit.kpi.markets import market_kpis
from arbkit.kpi.ops import guard_kpis
from arbkit.strategies import REGISTRY, get_strategy
from arbkit.strategies.hooks import SpreadHistogram

#: a gate: a name in arbkit/conf/gates, a YAML path, a {name, thresholds} mapping, or a Gate
GateSpec = str | Mapping[str, Any] | Gate


@dataclass(frozen=True)
class Evaluation:
    """One replay judged. ``kpis``: {total, instruments, counters, and markets for binary-outcome runs}; ``edge``:
    the edge report (None without an edge model); ``gates``: one verdict per gate; ``objective``: the KPI a sweep
    optimises, and its value; ``ops``: the operations KPIs (guard figures, and timing or live figures when given),
    gate terms too."""

    kpis: Mapping[str, Any]
    round_trips: tuple[Mapping[str, Any], ...] | None
    edge: Mapping[str, Any] | None
    spreads: SpreadHistogram | None
    gates: tuple[Mapping[str, Any], ...]
    objective: str
    objective_value: float
    rank_keys: tuple[tuple[str, bool], ...]
    ops: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Mapping[str, Any]:
        """The KPI block over all instruments."""
        return self.kpis["total"]

    @property
    def passed(self) -> bool:
        """True when every gate passed (and when there is none)."""
        return all(g["passed"] for g in self.gates)

    def row(self) -> dict[str, Any]:
        """The flat columns of a sweep row: edges and flags, total KPIs, the gates' joint verdict."""
        out: dict[str, Any] = {}
        if self.edge is not None:
            out.update({k: v for k, v in self.edge.items() if k.startswith("edge_")})
            out.update({k: self.edge[k] for k in ("realised_edge_bps", "is_structurally_safe", "is_recommended",
                                                  "paper_round_trips")})
        out.update(flat_kpis(self.total))
        if self.gates:
            out["gate_passed"] = self.passed
            out["gate_verdict"] = "PASS" if self.passed else "FAIL"
            failed = [g["reason"] for g in self.gates if not g["passed"]]
            out["gate_reason"] = "; ".join(failed) if failed else "all thresholds met"
        return out


def flat_kpis(block: Mapping[str, Any]) -> dict[str, Any]:
    """A KPI block as flat numeric columns (exit reasons and guard blocks spread out)."""
    out: dict[str, Any] = {}
    for k, v in block.items():
        if k == "exit_reasons":
            for reason, d in v.items():
                out[f"exit_{reason}_count"] = d["count"]
                out[f"{reason}_exit_pct"] = d["pct"]
        elif k in ("blocks", "caps"):
            for g, n in v.items():
                out[f"{k}_{g}"] = n
        elif isinstance(v, (int, float)):
            out[k] = v
    return out


def strategy_of(result: Any) -> Strategy | None:
    """The Strategy a result was replayed with: the one it carries (``RunResult.spec``), else the registry's
    strategy of that name, else None (no hooks: flat-to-flat round trips, no edge)."""
    spec = getattr(result, "spec", None)
    if isinstance(spec, Strategy):
        return spec
    return get_strategy(result.strategy) if result.strategy in REGISTRY else None


def as_gate(spec: GateSpec) -> Gate:
    """A Gate from a name, a YAML path, a mapping or a Gate."""
    if isinstance(spec, Gate):
        return spec
    return Gate.from_dict(spec) if isinstance(spec, Mapping) else Gate.load(spec)


def evaluate(result: Any, *, gate: GateSpec | Sequence[GateSpec] | None = None, costs: str = "realistic",
             strategy: Strategy | None = None, threshold_bps: float = 0.5,
             ops: Mapping[str, Any] | None = None) -> Evaluation:
    """KPIs (with the strategy's own round trips), edge under the cost profiles, gate verdicts and the objective.

    ``costs``: the cost profile the objective refers to (``edge_{costs}``), priced besides the
    three standard ones. ``strategy``: whose hooks apply (default: :func:`strategy_of`).
    ``ops``: operations KPIs measured outside the result (timing, a live run's figures); with
    the result's guard figures (:func:`arbkit.kpi.ops.guard_kpis`) they are gate terms beside
    the total KPIs.
    """
    hooks = strategy if strategy is not None else strategy_of(result)
    trips = hooks.round_trips(result) if hooks is not None and hooks.round_trips is not None else None
    kpis = compute_kpis(result, round_trips=trips)
    markets = market_kpis(result, hooks.market_limits(result) if hooks is not None and hooks.market_limits else None)
    if markets:  # binary-outcome markets: settled and mark-to-mid PnL, net exposure
        kpis = {**kpis, "markets": markets}
    edge = spreads = None
    if hooks is not None and hooks.edge is not None:
        paper = hooks.edge(result, trips)
        profiles = tuple(PROFILES) + ((costs,) if costs not in PROFILES else ())
        edge = edge_report(paper, threshold_bps=threshold_bps, profiles=profiles)
        spreads = paper.spreads
    specs = [] if gate is None else list(gate) if isinstance(gate, (list, tuple)) else [gate]
    ops_block = {**guard_kpis(result), **(ops or {})}
    verdicts = tuple(as_gate(g).evaluate({**kpis["total"], **ops_block}) for g in specs)
    objective = (hooks.objective if hooks is not None else DEFAULT_OBJECTIVE).format(costs=costs)
    rank_keys = hooks.rank_keys if hooks is not None else DEFAULT_RANK_KEYS
    values = {**flat_kpis(kpis["total"]), **(edge or {})}
    if objective not in values:
        raise ConfigError(f"objective {objective!r} is not a KPI of this run; known: {sorted(values)}")
    value = values[objective]
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    return Evaluation(kpis=kpis, round_trips=tuple(trips) if trips is not None else None, edge=edge, spreads=spreads,
                      gates=verdicts, objective=objective, objective_value=number, rank_keys=tuple(rank_keys),
                      ops=ops_block)


def kpis_at(result: Any, until_ns: int, *, strategy: Strategy | None = None) -> dict[str, Any]:
    """The total KPIs as of ``until_ns``: fills, orders and equity samples up to it, and the strategy's round trips
    closed by then (its ``round_trips`` hook, as :func:`evaluate` uses) — a checkpoint of a run in progress."""
    hooks = strategy if strategy is not None else strategy_of(result)
    trips = hooks.round_trips(result) if hooks is not None and hooks.round_trips is not None else None
    return compute_kpis(result, until_ns=until_ns, round_trips=trips)["total"]

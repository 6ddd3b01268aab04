"""Edge model: expected edge of a strategy's parameters from the replay's own books, under cost profiles.

A strategy with an edge model runs a cost-free paper trader inside its kernel, on the books
the replay builds (the arbitrage's: :func:`arbkit.strategies.arb.paper_step_nb` enters when
a direction's spread reaches ``entry_bps`` at the touches and closes at ``tp_bps``,
``stop_loss_bps`` or ``time_limit_s``; instant fills, no queue or latency: the spread's own
edge). Its hook (``Strategy.edge``) reads the result into a
:class:`~arbkit.strategies.hooks.PaperEdge`, priced here:

expected edge (bps) = mean gross bps of the paper round trips
                      + mean funding carry of the paper round trips
                      − fees of a round trip · fee_scale − fills of a round trip · slippage_bps

The funding carry of a round trip is the sum, over the funding times of a perpetual leg
within its holding time (entry < T ≤ exit), of the rate recorded for T (the FUNDING rows):
``−rate · 1e4`` bps for the long leg and ``+rate · 1e4`` for the short one, each scaled by
the leg's entry price over the spread's reference price (:func:`arbkit.strategies.arb.paper_funding_nb`);
zero for spot legs and recordings without FUNDING rows.

for each cost profile in ``arbkit/conf/costs`` (optimistic, realistic, conservative); for the
arbitrage: 2 · (taker fee A + taker fee B) · fee_scale − 4 · slippage_bps. The realised
edge is the replay's mean net PnL per round trip over its entry notional.
``is_structurally_safe`` = conservative edge ≥ 0; ``is_recommended`` = realistic edge ≥
``threshold_bps`` (0.5 by default).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError
from arbkit.strategies.hooks import PaperEdge

COSTS_DIR = conf_path("costs")
PROFILES = ("optimistic", "realistic", "conservative")


@dataclass(frozen=True)
class CostProfile:
    """A cost profile: taker fees scaled by ``fee_scale`` plus ``slippage_bps`` per leg."""
    name: str
    fee_scale: float = 1.0
    slippage_bps: float = 0.0

    @classmethod
    def load(cls, name: str) -> "CostProfile":
        """A profile from arbkit/conf/costs by name, or a YAML path."""
        import yaml

        p = COSTS_DIR / f"{name}.yaml"
        if not p.is_file():
            raise ConfigError(f"cost profile {name!r}: no such file {p}")
        d = yaml.safe_load(p.read_text()) or {}
        unknown = set(d) - {"name", "fee_scale", "slippage_bps"}
        if unknown:
            raise ConfigError(f"{p}: unknown key(s) {sorted(unknown)}")
        prof = cls(str(d.get("name", name)), float(d.get("fee_scale", 1.0)), float(d.get("slippage_bps", 0.0)))
        if prof.fee_scale < 0 or prof.slippage_bps < 0:
            raise ConfigError(f"{p}: fee_scale and slippage_bps must be >= 0")
        return prof


def edge_report(paper: PaperEdge, *, threshold_bps: float = 0.5, profiles: tuple[str, ...] = PROFILES
                ) -> dict[str, Any]:
    """Expected edge per cost profile, realised edge, and the two flags, from a strategy's paper trader."""
    n = paper.round_trips
    carry = paper.carry_edge_bps if n else 0.0
    mean_gross = paper.gross_edge_bps + carry
    out: dict[str, Any] = {"paper_round_trips": int(n), "gross_edge_bps": paper.gross_edge_bps,
                           "funding_carry_bps": carry if n else float("nan"), "profiles": {}}
    for name in profiles:
        prof = CostProfile.load(name)
        cost = paper.fee_bps * prof.fee_scale + paper.fills * prof.slippage_bps
        out["profiles"][name] = {"fee_scale": prof.fee_scale, "slippage_bps": prof.slippage_bps, "cost_bps": cost,
                                 "edge_bps": mean_gross - cost if n else float("nan")}
        out[f"edge_{name}"] = out["profiles"][name]["edge_bps"]
    out["realised_edge_bps"] = float(np.mean(paper.realised_bps)) if paper.realised_bps else float("nan")
    out["realised_round_trips"] = len(paper.realised_bps)
    cons = out.get("edge_conservative", float("nan"))
    real = out.get("edge_realistic", float("nan"))
    out["is_structurally_safe"] = bool(cons >= 0) if cons == cons else False
    out["is_recommended"] = bool(real >= threshold_bps) if real == real else False
    out["threshold_bps"] = threshold_bps
    return out

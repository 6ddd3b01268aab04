"""The KPIs campaign hypotheses test that the standard set lacks, each with its unit, computed from a Result.

Defined here once (:data:`CAMPAIGN_KPI_DEFINITIONS`) and computed by :func:`campaign_kpis`;
fill rate and profitable hours are the standard KPIs (:mod:`arbkit.kpi.definitions`) and are
not repeated. Every figure is exact from the Result's arrays (fills, span, annotations).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from arbkit.engine import codes as c

CAMPAIGN_KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "duration_s": ("s", "the run's span (its window of the recording, or the paper run's clock)"),
    "duration_h": ("h", "the run's span in hours"),
    "pnl_per_hour": ("quote currency / h", "total_pnl / duration_h"),
    "inventory_within_limit_pct": ("%", "time every instrument's |position| is at most the limit (the campaign's "
                                        "inventory_limit, else the strategy's max_position) / the run's span; exact, "
                                        "positions change only at fills"),
    "spread_vol_corr": ("ratio (-1..1)", "Pearson correlation of the quoted spread with the strategy's volatility "
                                         "estimate over its quote decisions (strategies exposing internals; NaN "
                                         "when either is constant or there are fewer than 3)"),
    "quote_decisions": ("count", "quote decisions the strategy annotated (strategies exposing internals)"),
    "kill_switch_reaction_s": ("s", "from the kill switch tripping to the last of its cancels leaving the book (every "
                                    "resting order off the exchange); 0 when none was resting, NaN when it did not trip"),
}


def inventory_within_limit_pct(fills: np.ndarray, n_assets: int, span_ns: tuple[int, int], limit: float) -> float:
    """Share of the span (%) during which every instrument's |position| is at most ``limit`` (positions start flat)."""
    start, end = int(span_ns[0]), int(span_ns[1])
    whole = end - start
    if whole <= 0:
        return float("nan")
    pos = np.zeros(n_assets)
    tol = 1e-9 * max(limit, 1e-12)
    within = 0
    t = start
    inside = True
    for f in fills:  # fills are in time order
        ts = min(max(int(f["ts"]), start), end)
        if inside:
            within += ts - t
        t = ts
        pos[int(f["asset"])] += float(f["side"]) * float(f["qty"])
        inside = bool(np.all(np.abs(pos) <= limit + tol))
    if inside:
        within += end - t
    return float(within / whole * 100.0)


def kill_switch_reaction_s(orders: np.ndarray, kill_ts: int | None) -> float:
    """Seconds from the kill switch's trip (``kill_ts``) to its last cancel at the exchange (NaN: it did not trip)."""
    if kill_ts is None:
        return float("nan")
    done = orders[(orders["event"] == c.EV_CANCEL) & (orders["reason"] == c.R_KILL_SWITCH)]
    return float(max(int(done["ts"].max()) - int(kill_ts), 0) / 1e9) if len(done) else 0.0


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN with fewer than 3 points or a constant series."""
    if len(x) < 3:
        return float("nan")
    sx, sy = float(np.std(x)), float(np.std(y))
    if not (sx > 0 and sy > 0):
        return float("nan")
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def campaign_kpis(result: Any, *, total_pnl: float, inventory_limit: float | None = None,
                  internals: Callable[[Any], Mapping[str, np.ndarray]] | None = None) -> dict[str, Any]:
    """The campaign KPIs of one run (``total_pnl`` from the standard KPIs, so both agree)."""
    start, end = result.span_ns
    duration_s = max(int(end) - int(start), 0) / 1e9
    limit = inventory_limit
    if limit is None:
        limit = float(result.params.get("max_position", math.inf)) if isinstance(result.params, Mapping) else math.inf
    out: dict[str, Any] = {
        "duration_s": duration_s,
        "duration_h": duration_s / 3600.0,
        "pnl_per_hour": total_pnl / (duration_s / 3600.0) if duration_s > 0 else float("nan"),
        "inventory_within_limit_pct": inventory_within_limit_pct(result.fills, len(result.instruments),
                                                                 result.span_ns, limit),
        "kill_switch_reaction_s": kill_switch_reaction_s(result.orders,
                                                         (result.guards or {}).get("kill_switch", {}).get("ts")),
    }
    if internals is not None:
        inner = internals(result)
        out["spread_vol_corr"] = pearson(np.asarray(inner["spread"], float), np.asarray(inner["sigma"], float))
        out["quote_decisions"] = int(len(inner["ts"]))
    return out

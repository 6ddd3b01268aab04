"""The KPIs campaign hypotheses test that the standard set lacks, each with its unit, computed from a Result.

Defined here once (:data:`CAMPAIGN_KPI_DEFINITIONS`) and computed by :func:`campaign_kpis`;
fill rate and profitable hours are the standard KPIs (:mod:`arbkit.kpi.definitions`) and are
not repeated. Every figure is exact from the Result's arrays (fills, span, annotations), but
two groups need more than one Result: the market baseline (:func:`market_pnl_vs_single`, from
the run's market blocks and each market's single-market replay) and the wall-clock KPIs of a
live run (:data:`LIVE_KPIS`, from its ``ops.jsonl``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from arbkit.engine import codes as c
from arbkit.kpi.ops import paper_ops_kpis

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
    "market_pnl_vs_single": ("quote currency per market", "multi-market runs: each market's PnL (settled, else marked "
                                                          "to mid) minus its PnL when the same parameters quote it "
                                                          "alone over the same window; 0 while no shared limit binds "
                                                          "(checks name one market: market_pnl_vs_single.<market id>)"),
    "worst_market_degradation": ("quote currency", "multi-market runs: the largest shortfall of a market's PnL below "
                                                   "its single-market baseline, max over markets of (baseline - PnL); "
                                                   "negative when every market did better beside the others"),
}

#: the wall-clock KPIs of a live (paper) run, defined with their units in ``OPS_KPI_DEFINITIONS`` and taken from
#: the paper run's ``ops.jsonl`` (:func:`arbkit.kpi.ops.paper_ops_kpis`); a replay has no wall clock, so an
#: offline campaign refuses checks on them and a live run that did not measure one (no order sent, fewer than two
#: memory samples) has None, on which a check is INCONCLUSIVE
LIVE_KPIS: tuple[str, ...] = ("quote_latency_ms_p50", "quote_latency_ms_p99", "quote_latency_samples",
                              "loop_latency_ms_p50", "loop_latency_ms_p99", "rss_mb_max", "rss_mb_last",
                              "rss_samples", "rss_slope_mb_per_h")


#: the campaign KPIs of a multi-market run against each market alone (:func:`market_pnl_vs_single`)
MARKET_BASELINE_KPIS: tuple[str, ...] = ("market_pnl_vs_single", "worst_market_degradation")


def live_kpis(ops_records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The :data:`LIVE_KPIS` of a paper run from its ``ops.jsonl`` records (every process segment, in order)."""
    ops = paper_ops_kpis(ops_records)
    return {k: ops[k] for k in LIVE_KPIS}


def market_pnl(block: Mapping[str, Any]) -> float:
    """A market's PnL in its market-KPI block: settled when it was, else marked to mid."""
    return float(block["pnl_settled"] if block["resolution"] == "settled" else block["pnl_marked"])


def market_pnl_vs_single(together: Mapping[str, Mapping[str, Any]], alone: Mapping[str, Mapping[str, Any]]
                         ) -> dict[str, Any]:
    """``market_pnl_vs_single`` and ``worst_market_degradation`` from the market-KPI blocks
    (:func:`arbkit.kpi.markets.market_kpis`) of the multi-market run and of each market's single-market run."""
    diffs = {m: market_pnl(together[m]) - market_pnl(block) for m, block in alone.items()}
    return {"market_pnl_vs_single": diffs,
            "worst_market_degradation": max(-d for d in diffs.values()) + 0.0 if diffs else None}  # + 0.0: no -0


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
        # the single-market baselines need replays of their own: the campaign's source fills these in
        "market_pnl_vs_single": None, "worst_market_degradation": None,
    }
    if internals is not None:
        inner = internals(result)
        out["spread_vol_corr"] = pearson(np.asarray(inner["spread"], float), np.asarray(inner["sigma"], float))
        out["quote_decisions"] = int(len(inner["ts"]))
    return out

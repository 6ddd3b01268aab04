"""``reports/<run_id>.md``: one run of a campaign — its hypothesis, verdict with reasons, KPIs, changes, decision."""
from __future__ import annotations

from typing import Any, Mapping

from arbkit.kpi.campaign import CAMPAIGN_KPI_DEFINITIONS
from arbkit.kpi.definitions import KPI_DEFINITIONS, OPS_KPI_DEFINITIONS

SHOWN = ("fills", "fill_rate_pct", "total_pnl", "pnl_per_hour", "profitable_hours_pct", "inventory_within_limit_pct",
         "max_drawdown", "spread_vol_corr", "quote_decisions", "duration_s", "worst_market_degradation",
         "quote_latency_ms_p50", "quote_latency_ms_p99", "rss_mb_max", "rss_slope_mb_per_h")


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def run_markdown(campaign: str, entry: Mapping[str, Any], claim: str, kpis: Mapping[str, Any]) -> str:
    """The markdown of one run's report."""
    units = {k: u for defs in (KPI_DEFINITIONS, OPS_KPI_DEFINITIONS, CAMPAIGN_KPI_DEFINITIONS) for k, (u, _) in defs.items()}
    lines = [f"# {entry['run_id']} — {entry['verdict']}", "",
             f"Campaign `{campaign}`, run {entry['seq']}; hypothesis **{entry['hypothesis']}**: {claim}", "",
             f"- window: {entry['start_ns']} → {entry['end_ns']} ns ({_fmt(entry['duration_s'])} s)",
             f"- parent run: {entry.get('parent_run') or 'none'}",
             f"- fills: {entry['fills']}, fills_hash `{entry['fills_hash']}`", "",
             "## Verdict", ""]
    lines += [f"- {r}" for r in entry["reasons"]]
    lines += ["", "## Changes from the parent", ""]
    changes = entry.get("changes") or {}
    if changes:
        lines += ["| parameter | from | to | reason |", "|---|---|---|---|"]
        lines += [f"| {k} | {_fmt(c['from'])} | {_fmt(c['to'])} | {c['reason']} |" for k, c in changes.items()]
    else:
        lines.append("none")
    lines += ["", "## KPIs", "", "| KPI | value | unit |", "|---|---|---|"]
    lines += [f"| {k} | {_fmt(kpis.get(k))} | {units.get(k, '')} |" for k in SHOWN if k in kpis]
    lines += ["", "## Decision", "", f"{entry['decision']['action']}: {entry['decision']['reason']}", ""]
    return "\n".join(lines)

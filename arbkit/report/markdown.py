"""Markdown reports with PNG figures: one run (``run_report``) or one sweep (``sweep_report``).

A run report holds the set-up (recording, instruments, span, config, seed, code version),
the KPI tables, the exit-reason mix, guard block statistics, the checkpoint table, gate
verdicts with reasons, and the figures of :mod:`arbkit.report.figures`. A sweep report holds
the ranked table, heatmaps of a KPI over two parameters (a scatter per parameter for larger
grids), the candidate table and the staged-validation verdict when there is one.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from arbkit.core.version import __version__
from arbkit.kpi.compute import checkpoints
from arbkit.kpi.evaluation import evaluate
from arbkit.report import figures as figs


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:,.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "—" if v is None else str(v)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _ts(ns: int) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).isoformat(timespec="milliseconds") if ns else "—"


def run_report(result: Any, out: str | Path, *, recording: Any = None, gates: Sequence[str] = (),
               quote_window_s: tuple[float, float] | None = None) -> Path:
    """Write ``out`` (markdown) and its figures beside it; returns the path."""

    out = Path(out)
    fig_dir = out.parent / f"{out.stem}_figures"
    ev = evaluate(result, gate=list(gates))
    kpis = ev.kpis
    total = ev.total
    cfg = result.config
    md = [f"# Run report: {result.strategy}\n"]
    md.append("## Set-up\n")
    md.append(_table(["", ""], [
        ("recording", cfg.get("source") or (str(getattr(recording, "path", "")) or "in memory")),
        ("span", f"{_ts(result.span_ns[0])} → {_ts(result.span_ns[1])} "
                 f"({(result.span_ns[1] - result.span_ns[0]) / 1e9:,.1f} s)"),
        ("events", result.counters["events"]), ("seed", result.seed), ("code version", __version__),
        ("fills_hash", result.fills_hash),
        ("parameters", ", ".join(f"{k}={v:g}" for k, v in result.params.items())),
        ("fill model", json.dumps(cfg.get("fill"))), ("latency", json.dumps(cfg.get("latency"))),
        ("schedule", json.dumps(cfg.get("schedule"))),
        ("guards", json.dumps({k: v for k, v in (cfg.get("guards") or {}).items() if v})),
    ]))
    md.append("### Instruments\n")
    md.append(_table(["instrument", "type", "tick", "lot", "maker bps", "taker bps"],
                     [(i.key, i.contract_type, i.tick_size, i.lot_size, i.maker_fee_bps, i.taker_fee_bps)
                      for i in result.instruments]))
    md.append("## KPIs\n")
    names = [k for k, v in total.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    traded = {int(a) for a in result.fills["asset"]}
    per = {k: v for a, (k, v) in enumerate(kpis.get("instruments", {}).items()) if a in traded}
    md.append(_table(["kpi", "total", *per], [(n, total.get(n), *(per[p].get(n) for p in per)) for n in names]))
    markets = kpis.get("markets")
    if markets:
        md.append("### Markets (binary outcomes)\n")
        md.append("Settled PnL pays each token 1 or 0 at the market's resolution; mark-to-mid PnL values the same "
                  "positions at their last mid. A market with no known winner is marked to mid.\n")
        keys = ["resolution", "winner", "pnl_settled", "pnl_marked", "net_exposure", "net_exposure_max_abs",
                "time_within_limit_pct", "fills", "fill_rate_pct", "quote_count", "merges"]
        if markets.get("total", {}).get("rewards", 0.0) > 0:
            md.append("Liquidity rewards (an assumption: a rate given for the run, not the market's pool shared with "
                      "makers the data does not show) are in both PnLs; the ex-rewards columns leave them out.\n")
            keys += ["rewards", "pnl_settled_ex_rewards", "pnl_marked_ex_rewards"]
        md.append(_table(["market", *keys], [(m, *(b.get(k) for k in keys)) for m, b in markets.items()]))
        unresolved = [m for m, b in markets.items() if m != "total" and b["resolution"] != "settled"]
        if unresolved:
            md.append(f"Not resolved (marked to mid): {', '.join(unresolved)}.\n")
    if total.get("exit_reasons"):
        md.append("### Exit reasons\n")
        md.append(_table(["reason", "count", "share %"],
                         [(r, d["count"], d["pct"]) for r, d in total["exit_reasons"].items()]))
    md.append("### Risk guards\n")
    # every figure Result.guards holds (what `arbkit replay --json` prints), one column each, plus the block ratio
    ops = ev.ops
    ratio = ops.get("block_ratio_pct", {})
    fields = list(dict.fromkeys(k for d in result.guards.values() for k in d))
    md.append(_table(["guard", *[f.replace("_", " ") for f in fields], "blocks / entry attempts %"],
                     [(g, *(_ts(d[f]) if f == "ts" and d.get(f) else d.get(f) for f in fields), ratio.get(g))
                      for g, d in result.guards.items()]))
    md.append(f"Entry attempts {_fmt(ops.get('entry_attempts'))}, entries {_fmt(ops.get('entries'))}, budget cap "
              f"applied {_fmt(ops.get('cap_applied'))}, stuck-guard windows {_fmt(ops.get('stuck_guard_windows'))}.\n")
    cps = checkpoints(result)
    if cps:
        md.append("### Checkpoints\n")
        keys = ["total_pnl", "funding_pnl", "fills", "round_trips", "win_rate_pct", "max_drawdown", "sharpe"]
        md.append(_table(["elapsed", *keys], [(k, *(v.get(x) for x in keys)) for k, v in cps.items()]))
    if ev.gates:
        md.append("## Gates\n")
        md.append(_table(["gate", "verdict", "reasons"], [(v["gate"], v["verdict"], v["reason"]) for v in ev.gates]))
    md.append("## Figures\n")
    pngs = [("Equity and drawdown", _save(figs.equity_figure(result), fig_dir / "equity.png")),
            ("Inventory", _save(figs.inventory_figure(result), fig_dir / "inventory.png"))]
    if len(result.fills):
        pngs.append(("Fills on price", _save(figs.fills_figure(result), fig_dir / "fills.png")))
    if ev.spreads is not None:
        pngs.append(("Spread / edge distribution", _save(figs.spread_figure(result, ev.spreads), fig_dir / "spread.png")))
    if recording is not None and "asset" in result.params:
        pngs.append(("Quotes vs book", _save(figs.quotes_figure(result, recording, window_s=quote_window_s),
                                             fig_dir / "quotes.png")))
    for title, name in pngs:
        md.append(f"### {title}\n\n![{title}]({fig_dir.name}/{name})\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(md))
    return out


def swept_parameters(table: Any, manifest: Mapping[str, Any] | None = None) -> list[str]:
    """Parameters that take more than one value in the sweep, in grid order."""
    names = list(dict.fromkeys(k for p in (manifest or {}).get("grid", []) for k in p)) or list(table.columns)
    return [n for n in names if n in table.columns and table[n].n_unique() > 1
            and table[n].dtype.is_numeric()]


def sweep_report(sweep_dir: str | Path, out: str | Path, *, kpi: str | None = None, top: int = 10) -> Path:
    """Write the sweep's report (ranked table, heatmaps / scatter, candidates, validation verdict)."""
    out = Path(out)
    text = sweep_markdown(sweep_dir, out.parent / f"{out.stem}_figures", out.parent, kpi=kpi, top=top)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def sweep_markdown(sweep_dir: str | Path, fig_dir: Path, md_dir: Path, *, kpi: str | None = None, top: int = 10,
                   level: int = 1) -> str:
    """A sweep's report as markdown for a file in ``md_dir``, its figures saved in ``fig_dir``; ``level`` is the
    depth of its title heading."""
    import polars as pl

    d = Path(sweep_dir)
    link = Path(os.path.relpath(fig_dir, md_dir)).as_posix()
    h = "#" * level
    table = pl.read_parquet(d / "results.parquet")
    manifest = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").is_file() else {}
    strategy = manifest.get("strategy", "")
    ranked_by = [k for k, _ in manifest.get("rank_keys", []) if k in table.columns]
    kpi = kpi or (ranked_by[0] if ranked_by else "total_pnl")
    params = swept_parameters(table, manifest)
    md = [f"{h} Sweep report: {strategy} ({table.height} parameter sets)\n",
          f"Recording: `{manifest.get('recording', '')}`; ranked by {', '.join(ranked_by or [kpi])}; "
          f"seed {manifest.get('seed', '')}.\n", f"{h}# Top sets\n"]
    cols = ["rank", *params, kpi, "total_pnl", "funding_pnl", "fills", "max_drawdown"] + (["gate_verdict"] if "gate_verdict" in table.columns else [])
    cols = list(dict.fromkeys(c for c in cols if c in table.columns))
    md.append(_table(cols, table.head(top).select(cols).iter_rows()))
    md.append(f"{h}# Parameter maps\n")
    if len(params) >= 2:
        name = _save(figs.heatmap_figure(table, params[0], params[1], kpi), fig_dir / "heatmap.png")
        md.append(f"![{kpi} heatmap]({link}/{name})\n")
    if len(params) >= 3 or (params and len(params) < 2):
        name = _save(figs.scatter_figure(table, kpi, params), fig_dir / "scatter.png")
        md.append(f"![{kpi} by parameter]({link}/{name})\n")
    if (d / "candidates.json").is_file():
        cands = json.loads((d / "candidates.json").read_text())
        md.append(f"{h}# Candidates\n")
        md.append(_table(["param_id", "parameters", "realistic edge bps", "structurally safe", "recommended",
                          "rationale"],
                         [(c.get("param_id"), ", ".join(f"{k}={c[k]:g}" for k in params if k in c),
                           c.get("edge_realistic"), c.get("is_structurally_safe"), c.get("is_recommended"),
                           c.get("rationale")) for c in cands["candidates"][:top]]))
    val_path = d / "validation" / "validation.json"
    if val_path.is_file():
        val = json.loads(val_path.read_text())
        md.append(f"{h}# Staged validation ({val['mode']}{', in-sample data' if val.get('in_sample') else ''})\n")
        md.append(f"**{val['verdict']}** — " + "; ".join(val["reasons"]) + "\n")
        md.append(_table(["candidate", *[f"stage {s['stage']} ({s['label']}, top {s['top']})" for s in val["stages"]]],
                         [(f"rank {c['rank']}", *[f"{s['verdict']} ({s['status']})" for s in c["stages"]],
                           *["—"] * (len(val["stages"]) - len(c["stages"]))) for c in val["candidates"] if c["stages"]]))
    return "\n".join(md)

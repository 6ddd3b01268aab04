"""``make demo``: the main job on the bundled real recording, offline — sweep, rank, validate, report.

1. An arbitrage entry × take-profit grid (spot vs USD-M perpetual, both sized in BTC) and a market-making
   half-spread × inventory-skew grid (USD-M perpetual), each set of a grid replayed in one
   pass of the batched kernel over the first ``sweep_s`` seconds of the recording.
2. Each sweep ranked by its strategy's keys (the arbitrage by expected edge after costs, the
   market maker by PnL) into ``results.parquet`` and ``candidates.json``.
3. Staged validation of the ``top`` candidates of each on the data after the sweep's window
   (``stages_s``: forward stages, each on the data after the previous one, top 3 -> 2 -> 1;
   a candidate goes on while it passes its strategy's gate and stays among the best).
4. One markdown report with both sweeps' tables, heatmaps, candidates and verdicts.
5. A short summary naming the files; ``summary.json`` holds the same.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from rich.console import Console
from rich.table import Table

from arbkit.io.recording import load
from arbkit.report import sweep_markdown
from arbkit.sweep import sweep
from arbkit.sweep.staged import validate_candidates

# the repository's bundled recording, relative to the current directory (``make demo`` runs from the
# repository's root); pass another to :func:`main`
BUNDLED = Path("recordings") / "binance_btc_3venues_20240808"
LATENCY = {"entry": 1_000_000, "response": 1_000_000}


#: what each sweep of the demo runs: strategy, fixed parameters, the grid, the gate of its validation
SWEEPS: dict[str, dict[str, Any]] = {
    "arbitrage": {
        "strategy": "arb", "gate": "default",
        "base": {"asset_a": 0, "asset_b": 1, "order_size": 0.01, "stop_loss_bps": 3.0, "time_limit_s": 30.0,
                 "net_of_fees": 0},
        "grid": {"entry_bps": [1.0, 2.0, 3.0, 4.0, 5.0], "tp_bps": [0.5, 1.0, 2.0, 3.0]},
        # the spot leg is sold when spot trades above the perpetual: a margin account may short it
        "run": {"allow_short": True},
    },
    "market_making": {
        "strategy": "mm", "gate": "market_maker",
        "base": {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05},
        "grid": {"half_spread_bps": [0.1, 0.2, 0.5, 1.0, 2.0], "inventory_skew_bps": [0.0, 0.5, 1.0]},
    },
}


def run(path: Path = BUNDLED, out: Path = Path("outputs") / "demo", *, sweep_s: float = 240.0,
        stages_s: Sequence[float] = (20.0, 30.0, 50.0), top: int = 3,
        sweeps: Mapping[str, Mapping[str, Any]] = SWEEPS) -> dict[str, Any]:
    """Sweep, rank, validate and report (see the module doc); returns what ``summary.json`` holds."""
    t0 = time.perf_counter()
    rec = load(path)
    cut = rec.manifest.start_ns + int(sweep_s * 1e9)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"recording": str(rec.path), "events": rec.n_events, "sweep_s": sweep_s,
                               "stages_s": list(stages_s), "sweeps": {}}
    sections = []
    for name, job in sweeps.items():
        t1 = time.perf_counter()
        d = out / name
        res = sweep(rec.path, job["strategy"], job["grid"], base_params=job["base"], latency=LATENCY,
                    gate=job["gate"], end=cut, out_dir=d, top=top, progress=False, **job.get("run", {}))
        stages = [{"duration_s": s, "top": max(1, top - k), "gate": job["gate"]} for k, s in enumerate(stages_s)]
        val = validate_candidates(d, settings={"name": "demo", "prefix": name, "stages": stages})
        sections.append(sweep_markdown(d, out / "report_figures" / name, out, level=2))
        best = res.best()
        ranked_by = [k for k, _ in json.loads((d / "manifest.json").read_text())["rank_keys"] if k in best]
        summary["sweeps"][name] = {
            "strategy": job["strategy"], "sets": res.frame.height, "seconds": time.perf_counter() - t1,
            "ranked_by": ranked_by,
            "best": {"params": {k: best[k] for k in job["grid"]}, **{k: best.get(k) for k in (
                ranked_by[0], "total_pnl", "fills", "gate_verdict")}},
            "top": [{k: row[k] for k in ("rank", *job["grid"])} for row in res.frame.head(top).iter_rows(named=True)],
            "validation": {"verdict": val["verdict"], "reasons": val["reasons"]},
            "files": {"results": str(d / "results.parquet"), "candidates": str(d / "candidates.json"),
                      "validation": str(d / "validation" / "validation.json")},
        }
    report = out / "report.md"
    intro = (f"# arbkit demo: {rec.path.name}\n\n{rec.n_events:,} events; each grid swept over the first "
             f"{sweep_s:g} s through the batched kernel, the top {top} candidates validated in forward stages "
             f"of {', '.join(f'{s:g}' for s in stages_s)} s on the data after it.\n")
    report.write_text("\n".join([intro, *sections]))
    summary["report"] = str(report)
    summary["seconds"] = time.perf_counter() - t0
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    return summary


def print_summary(summary: Mapping[str, Any], console: Console) -> None:
    """The demo's outcome in a few lines: the best sets, the verdicts, where the files are."""
    console.print(f"[bold]arbkit demo[/] {Path(summary['recording']).name}: {summary['events']:,} events; grids swept "
                  f"over the first {summary['sweep_s']:g} s, candidates validated on the rest")
    table = Table("sweep", "best set", "ranked by", "total_pnl", "fills", "gate", "validation")
    for name, s in summary["sweeps"].items():
        best = s["best"]
        key = s["ranked_by"][0]
        table.add_row(f"{name} ({s['strategy']}, {s['sets']} sets)",
                      ", ".join(f"{k}={v:g}" for k, v in best["params"].items()), f"{key} {best[key]:.4g}",
                      f"{best['total_pnl']:.4g}", str(best["fills"]), str(best["gate_verdict"]),
                      f"[bold]{s['validation']['verdict']}[/]")
    console.print(table)
    for name, s in summary["sweeps"].items():
        console.print(f"  {name}: {s['validation']['reasons'][0]}")
        console.print(f"    {s['files']['candidates']}  {s['files']['validation']}")
    console.print(f"[bold]report[/] {summary['report']}; done in {summary['seconds']:.1f} s")


def main(path: Path = BUNDLED, out: Path = Path("outputs") / "demo") -> int:
    """``make demo`` (``python -m arbkit.apps.demo [RECORDING [OUT_DIR]]``)."""
    summary = run(Path(path), Path(out))
    print_summary(summary, Console(width=120))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

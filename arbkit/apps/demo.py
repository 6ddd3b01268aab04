"""``make demo``: the main job on the bundled real recording, offline; writes ``outputs/demo/summary.json``.

Loads the bundled Binance BTC spot / USD-M / COIN-M recording, validates it, prints its
summary with every rebuilt book's final top, measures the cross-venue basis (USD-M
mid minus spot mid, in bps) at every top-of-book change — the spread an arbitrage
strategy trades — and replays the example market maker (``examples/run_touch_mm.yaml``)
through the engine with its queue, latency and fee assumptions.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from arbkit.book.scanner import scan_books
from arbkit.io.check import validate
from arbkit.io.info import info
from arbkit.io.recording import load
from arbkit.run.config import RunConfig

# the repository's bundled recording and example config, relative to the current directory (``make demo`` runs
# from the repository's root); pass others to :func:`main`
BUNDLED = Path("recordings") / "binance_btc_3venues_20240808"
MM_CONFIG = Path("examples") / "run_touch_mm.yaml"


def basis_bps(path: Path, leg_a: str, leg_b: str) -> dict[str, float]:
    """Distribution of (mid_b / mid_a - 1) in bps, sampled whenever either book's top changes."""
    rec = load(path)
    cols = rec.to_numpy()
    a, b = rec.asset_index(leg_a), rec.asset_index(leg_b)
    _, tops = scan_books(cols, [i.tick_size for i in rec.instruments], record_tops=True)
    mid = (tops[:, 0] + tops[:, 2]) / 2.0
    mids = np.full((2, len(cols)), np.nan)
    for j, asset in enumerate((a, b)):
        mask = cols.asset == asset
        series = np.where(mask, mid, np.nan)
        idx = np.where(~np.isnan(series), np.arange(len(series)), 0)
        np.maximum.accumulate(idx, out=idx)
        mids[j] = series[idx]  # last known mid of that asset at every row
    ok = ~np.isnan(mids).any(axis=0)
    bps = (mids[1, ok] / mids[0, ok] - 1.0) * 1e4
    return {"samples": int(bps.size), "mean": float(bps.mean()), "p5": float(np.percentile(bps, 5)),
            "p50": float(np.percentile(bps, 50)), "p95": float(np.percentile(bps, 95)),
            "min": float(bps.min()), "max": float(bps.max())}


def main(path: Path = BUNDLED, out: Path = Path("outputs") / "demo", config: Path = MM_CONFIG) -> int:
    """``make demo``: replay the bundled recording and print the summary."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    t0 = time.perf_counter()
    report = validate(path)
    console.print(f"[bold]validate[/] {path.name}: {'OK' if report.ok else 'FAILED'} "
                  f"({report.rows_checked:,} rows, {len(report.errors)} errors, {len(report.warnings)} warnings)")
    for issue in report.errors[:10]:
        console.print(f"  {issue}")
    summary = info(path)
    console.print(f"[bold]info[/] events={summary['events']:,} span={summary['span_s']:.1f}s gaps={summary['gaps']} "
                  f"by_kind={summary['by_kind']}")
    table = Table("instrument", "type", "tick", "events", "final bid", "bid qty", "final ask", "ask qty")
    for e in summary["instruments"]:
        top = e["final_top"]
        table.add_row(f"{e['venue']}:{e['symbol']}", e["contract_type"], f"{e['tick_size']:g}", f"{e['events']:,}",
                      f"{top['bid']:.2f}", f"{top['bid_qty']:g}", f"{top['ask']:.2f}", f"{top['ask_qty']:g}")
    console.print(table)
    basis = basis_bps(path, "binance:BTCUSDT", "binance-usdm:BTCUSDT")
    console.print("[bold]cross-venue basis[/] USD-M perp vs spot mid (bps): " +
                  ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v:,}" for k, v in basis.items()))
    t1 = time.perf_counter()
    res = RunConfig.load(config).replay(path)
    mm = res.summary()
    acct = res.account_table()
    console.print(f"[bold]replay[/] {Path(config).name}: {mm['events']:,} events, {mm['fills']} fills "
                  f"({mm['counters']['maker_fills']} maker), {mm['counters']['orders']} orders, "
                  f"{mm['counters']['modifies']} modifies, pnl {mm['pnl']:.4f} USDT after fees "
                  f"{sum(mm['fees'].values()):.4f}; {time.perf_counter() - t1:.2f}s")
    console.print(f"  fills_hash {mm['fills_hash']}")
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps({"recording": str(path), "validation": report.to_dict(), "info": summary,
                                        "basis_usdm_vs_spot_bps": basis, "market_maker_replay": mm,
                                        "market_maker_accounts": acct.to_dicts()}, indent=1, default=float) + "\n")
    console.print(f"wrote {summary_path}; done in {time.perf_counter() - t0:.1f}s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED))

"""Reports on the bundled real recording: the files exist, figures are real PNGs, tables hold the run's numbers."""
import json
import subprocess
import sys

import polars as pl
import pytest
from matplotlib.figure import Figure

from arbkit.run.replay import replay
from arbkit.strategies import get_strategy
from arbkit.sweep import sweep
from helpers.paths import BUNDLED

MM = {"asset": 1, "mode": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}
ARB = {"asset_a": 0, "asset_b": 1, "entry_bps": -4.5, "tp_bps": 1.0, "stop_loss_bps": 3.0, "time_limit_s": 30.0,
       "net_of_fees": 0.0}
LAT = {"entry": 1_000_000, "response": 1_000_000}
PNG = b"\x89PNG\r\n\x1a\n"


def _png(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 5_000


def test_market_maker_report_and_notebook_api(tmp_path, bundled):
    res = replay(bundled, get_strategy("mm"), MM, latency=LAT)
    for fig in (res.plot_equity(), res.plot_inventory(), res.plot_fills(), res.plot_quotes(bundled, (30, 60))):
        assert isinstance(fig, Figure) and fig.axes
    k = res.kpis()
    assert isinstance(k, pl.DataFrame) and "total" in k.columns
    assert k.filter(pl.col("kpi") == "total_pnl")["total"][0] == pytest.approx(res.pnl, rel=1e-9, abs=1e-9)
    out = res.report(tmp_path / "mm.md", recording=bundled, gates=("market_maker",))
    text = out.read_text()
    for png in ("equity.png", "inventory.png", "fills.png", "quotes.png"):
        assert _png(tmp_path / "mm_figures" / png) and f"mm_figures/{png}" in text
    assert res.fills_hash in text and "binance-usdm:BTCUSDT" in text
    assert f"{len(res.fills):,}" in text  # the fills count in the KPI table
    assert "| market_maker | FAIL |" in text or "| market_maker | PASS |" in text
    assert "### Checkpoints" in text and "| 5m |" in text


def test_arbitrage_report_has_exit_mix_and_spread(tmp_path, bundled):
    res = replay(bundled, get_strategy("arb"), ARB, latency={"entry": 1_000_000}, allow_short=True)  # spot leg held
    out = res.report(tmp_path / "arb.md", recording=bundled, gates=("default",))
    text = out.read_text()
    assert "### Exit reasons" in text and "| tp |" in text and "| stop_loss |" in text
    assert _png(tmp_path / "arb_figures" / "spread.png")
    assert "| default | FAIL |" in text


def test_sweep_report_heatmap_and_cli(tmp_path, bundled):
    grid = {"half_spread_bps": [0.2, 0.5, 1.0], "inventory_skew_bps": [0.0, 0.5]}
    res = sweep(BUNDLED, "mm", grid, out_dir=tmp_path / "sw", base_params={k: v for k, v in MM.items()
                                                                            if k != "half_spread_bps"}, latency=LAT)
    fig = res.plot_heatmap("half_spread_bps", "inventory_skew_bps", "total_pnl")
    assert isinstance(fig, Figure)
    out = res.report(tmp_path / "sweep.md")
    text = out.read_text()
    assert _png(tmp_path / "sweep_figures" / "heatmap.png") and "## Candidates" in text
    best = res.table().row(0, named=True)
    assert f"{best['total_pnl']:,.6g}" in text
    cli = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "report", str(tmp_path / "sw"), "-o",
                          str(tmp_path / "cli.md")], capture_output=True, text=True)
    assert cli.returncode == 0 and (tmp_path / "cli.md").is_file()
    run = tmp_path / "run.yaml"
    run.write_text(json.dumps({"strategy": "mm", "params": MM, "latency": LAT}))
    cli = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "report", str(BUNDLED), "--config", str(run), "-o",
                          str(tmp_path / "run.md")], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert _png(tmp_path / "run_figures" / "quotes.png")
    bad = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "report", str(tmp_path), "-o", str(tmp_path / "x.md")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a sweep directory" in bad.stderr


def test_run_report_shows_every_guard_figure_replay_json_has(tmp_path, bundled):
    """The risk-guard table holds each figure of ``Result.guards`` (what ``arbkit replay --json`` prints under
    ``guards``: blocks, cap_applied, the kill switch's trip, stuck windows, ...) for every guard."""
    from arbkit.kpi.ops import guard_kpis

    guards = {"budget": 1_000.0, "max_gap_ms": 200.0, "max_drawdown": 50.0, "stuck_window_ms": 1_000.0}
    res = replay(bundled, get_strategy("mm"), MM, latency=LAT, guards=guards)
    summary = json.loads(json.dumps(res.summary(), default=float))["guards"]
    assert summary["budget"]["cap_applied"] > 0 and summary["kill_switch"]["blocks"] > 0  # both figures at work
    text = res.report(tmp_path / "g.md", recording=bundled).read_text()
    table = text.split("### Risk guards\n", 1)[1].split("\n\n", 1)[0].strip().splitlines()
    header = [h.strip() for h in table[0].strip("|").split("|")]
    rows = {r.strip("|").split("|")[0].strip(): [c.strip() for c in r.strip("|").split("|")] for r in table[2:]}
    assert set(rows) == set(summary)
    ratio = guard_kpis(res)["block_ratio_pct"]
    for guard, figures in summary.items():
        for field, value in figures.items():
            col = header.index(field.replace("_", " "))
            cell = rows[guard][col]
            if field == "ts" and value:
                continue  # shown as a time
            if isinstance(value, bool) or value is None:
                assert cell == ("—" if value is None else str(value)), (guard, field, cell)
            elif isinstance(value, (int, float)):
                assert float(cell.replace(",", "")) == pytest.approx(value, rel=1e-5), (guard, field, cell)
        assert float(rows[guard][-1].replace(",", "")) == pytest.approx(ratio[guard], rel=1e-5)
    assert f"budget cap applied {summary['budget']['cap_applied']:,}" in text

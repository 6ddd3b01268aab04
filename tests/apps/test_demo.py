"""``make demo`` (its main() with the same arguments) runs the main job on the bundled recording and leaves its
outputs: ranked candidates, staged validation, one report with heatmaps, a summary naming the files."""
import json
import re

import polars as pl
import pytest

from arbkit.apps.demo import LATENCY, SWEEPS, main
from arbkit.kpi import evaluate
from arbkit.run.replay import replay
from helpers.paths import BUNDLED

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(BUNDLED, out) == 0
    return out


def test_demo_writes_every_output(demo):
    summary = json.loads((demo / "summary.json").read_text())
    assert set(summary["sweeps"]) == set(SWEEPS) == {"arbitrage", "market_making"}
    for name, s in summary["sweeps"].items():
        for f in ("results.parquet", "candidates.json", "validation/validation.json", "manifest.json"):
            assert (demo / name / f).is_file()
        assert s["files"]["candidates"] == str(demo / name / "candidates.json")
        grid = SWEEPS[name]["grid"]
        assert s["sets"] == len(grid[list(grid)[0]]) * len(grid[list(grid)[1]])
        fills = pl.read_parquet(demo / name / "results.parquet")["fills"]
        assert fills.len() == s["sets"] and fills.min() > 0, f"{name}: a set of the demo never traded"
    assert summary["report"] == str(demo / "report.md")


def test_candidates_are_ranked_by_the_strategys_keys(demo):
    for name, key in (("arbitrage", "edge_realistic"), ("market_making", "total_pnl")):
        table = pl.read_parquet(demo / name / "results.parquet")
        cands = json.loads((demo / name / "candidates.json").read_text())
        assert cands["metadata"]["rank_keys"][0][0] == key
        assert [c["rank"] for c in cands["candidates"]] == [1, 2, 3]
        assert [c["param_id"] for c in cands["candidates"]] == table["param_id"].head(3).to_list()
        # gate passes first, then the strategy's first key, best first
        order = table.select(pl.col("gate_passed").cast(pl.Int8), key).rows()
        assert order == sorted(order, key=lambda r: (-r[0], -r[1]))


def test_the_best_arbitrage_candidate_is_its_own_replay(demo, bundled):
    """The batched sweep's numbers for the first candidate equal a separate replay of it over the same window."""
    cand = json.loads((demo / "arbitrage" / "candidates.json").read_text())["candidates"][0]
    summary = json.loads((demo / "summary.json").read_text())
    job = SWEEPS["arbitrage"]
    res = replay(bundled, job["strategy"], {**job["base"], **{k: cand[k] for k in job["grid"]}}, latency=LATENCY,
                 end=bundled.manifest.start_ns + int(summary["sweep_s"] * 1e9), **job.get("run", {}))
    assert res.fills_hash == cand["fills_hash"]
    edge = evaluate(res).edge
    assert cand["edge_realistic"] == pytest.approx(edge["edge_realistic"], rel=1e-12)
    assert cand["kpis"]["total_pnl"] == pytest.approx(res.pnl, rel=1e-9, abs=1e-12)


def test_validation_runs_on_the_data_after_the_sweep(demo, bundled):
    summary = json.loads((demo / "summary.json").read_text())
    for name in SWEEPS:
        val = json.loads((demo / name / "validation" / "validation.json").read_text())
        assert val["verdict"] in ("GO", "NO-GO") and val["verdict"] == summary["sweeps"][name]["validation"]["verdict"]
        assert val["mode"] == "forward" and not val["in_sample"]
        t = bundled.manifest.start_ns + int(summary["sweep_s"] * 1e9)
        for st, length in zip(val["stages"], summary["stages_s"]):  # each stage on the data after the previous one
            assert st["window"]["start_ns"] == t and st["window"]["end_ns"] == t + int(length * 1e9)
            t = st["window"]["end_ns"]
        assert len(val["stages"][0]["ran"]) == 3


def test_report_holds_both_sweeps_heatmaps_and_verdicts(demo):
    text = (demo / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*heatmap\]\(([^)]+\.png)\)", text)
    assert len(links) == 2
    for link in links:
        assert (demo / link).read_bytes()[:8] == PNG
    assert text.count("### Staged validation") == 2 and re.search(r"\*\*(GO|NO-GO)\*\*", text)
    assert "Sweep report: arb" in text and "Sweep report: mm" in text


def test_summary_names_the_output_paths(demo, capsys):
    from rich.console import Console

    from arbkit.apps.demo import print_summary

    print_summary(json.loads((demo / "summary.json").read_text()), Console(width=200))
    printed = capsys.readouterr().out
    for name in SWEEPS:
        assert str(demo / name / "candidates.json") in printed
        assert str(demo / name / "validation" / "validation.json") in printed
    assert str(demo / "report.md") in printed

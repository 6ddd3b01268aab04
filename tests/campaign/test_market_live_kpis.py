"""The campaign KPIs of multi-market and live runs: per-market PnL against each market alone (exactly 0 while the
shared budget does not bind, the hand difference of two replays when it does), the live wall-clock KPIs in a live
run's record, checks on them refused offline and INCONCLUSIVE when a live run did not measure them."""
import json

import pytest
import yaml

from arbkit.campaign.orchestrator import init_campaign
from arbkit.campaign.sources import LiveSource, market_baseline
from arbkit.campaign.spec import CampaignSpec, Hypothesis
from arbkit.campaign.verdict import judge
from arbkit.convert import convert
from arbkit.core.errors import ConfigError
from arbkit.core.schema import markets_of
from arbkit.kpi.campaign import CAMPAIGN_KPI_DEFINITIONS, LIVE_KPIS, MARKET_BASELINE_KPIS
from arbkit.kpi.definitions import OPS_KPI_DEFINITIONS
from arbkit.kpi.gates import Threshold
from arbkit.kpi.markets import market_kpis
from arbkit.run.config import RunConfig
from arbkit.run.replay import replay
from arbkit.strategies.pm_mm import pm_mm
from helpers.paths import ROOT, shared

from campaign.campaigns import small, write_spec

SOL, BTC = "sol-updown-15m-1765450800", "btc-updown-1h-1765450800"
QUOTING = {"half_spread": 0.01, "order_size": 5.0, "max_net_exposure": 25.0, "skew": 0.002}


@pytest.fixture(scope="module")
def two_markets(tmp_path_factory):
    """SOL 15m (resolved Up after the data ends) and BTC 1h, both with books, in one recording."""
    files = sorted(f for f in shared("polymarket_l2_2025-12-11").glob("polymarket_*_updown_1765450800_*")
                   if "15m_sol" in f.name or "1h_btc" in f.name)
    return convert("polymarket", files, tmp_path_factory.mktemp("pm") / "two", resolution={SOL: "Up"})


def _run(rec, budget):
    groups = markets_of(rec.instruments)
    params = {"n_markets": 2, "market_0": groups[SOL][0], "market_1": groups[BTC][0], **QUOTING, "budget": budget}
    return {"strategy": "pm_mm", "strategy_options": {"interval_ms": 1000.0}, "params": params, "allow_crossed": True}


def test_markets_equal_their_single_runs_while_the_budget_does_not_bind(two_markets):
    run = _run(two_markets, 0.0)
    res = RunConfig.from_dict(run).replay(two_markets.path)
    got = market_baseline(run, two_markets.path, res)
    assert set(got["market_pnl_vs_single"]) == {SOL, BTC}
    assert all(d == 0.0 for d in got["market_pnl_vs_single"].values()) and got["worst_market_degradation"] == 0.0
    blocks = market_kpis(res)
    assert blocks[SOL]["fills"] > 0 and blocks[BTC]["fills"] > 0  # both markets traded: the zero says something
    assert blocks[SOL]["resolution"] == "settled" and blocks[BTC]["resolution"] == "marked_to_mid"


def test_binding_budget_degradation_is_the_hand_difference_of_two_replays(two_markets):
    rec = two_markets
    run = _run(rec, 15.0)
    together = RunConfig.from_dict(run).replay(rec.path)
    got = market_baseline(run, rec.path, together)
    # by hand: each market quoted alone (one market, the same budget), its PnL from the engine's accounts
    # (SOL settled: cash after the payout; BTC unresolved: marked to the last mid)
    yes = {m: markets_of(rec.instruments)[m][0] for m in (SOL, BTC)}
    hand = {}
    for m in (SOL, BTC):
        alone = replay(rec, pm_mm(1000.0), {**run["params"], "n_markets": 1, "market_0": yes[m], "market_1": 0},
                       allow_crossed=True)
        key = "pnl_settled" if m == SOL else "pnl_marked"
        hand[m] = market_kpis(together)[m][key] - market_kpis(alone)[m][key]
    assert got["market_pnl_vs_single"] == pytest.approx(hand, rel=1e-12, abs=1e-12)
    assert any(abs(d) > 1e-6 for d in hand.values())  # the budget binds: the markets do not trade as alone
    assert got["worst_market_degradation"] == pytest.approx(max(-d for d in hand.values()), rel=1e-12, abs=1e-12)


def test_markets_example_fails_adjusts_the_budget_and_passes(tmp_path):
    """examples/campaign_polymarket/markets.yaml: the drawdown hypothesis is inconclusive on 120 s and passes on
    240 s; then a 10 USDC budget costs SOL 0.15 USDC against SOL alone (FAIL), budget + 10 passes; every run
    replays to its fills_hash."""
    files = sorted(f for f in shared("polymarket_l2_2025-12-11").glob("polymarket_*_updown_1765450800_*")
                   if "15m_sol" in f.name or "1h_btc" in f.name)
    rec = convert("polymarket", files, tmp_path / "pm").path  # as the example's header converts it
    spec = yaml.safe_load((ROOT / "examples" / "campaign_polymarket" / "markets.yaml").read_text())
    spec["source"]["recording"] = str(rec)
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, spec))
    assert camp.run() == "DONE"
    assert camp.state()["outcome"] == "ALL_PASSED", camp.state()["reason"]
    history = camp.dir.read_history()
    assert [(h["hypothesis"], h["verdict"]) for h in history] == [
        ("loss_bounded", "INCONCLUSIVE"), ("loss_bounded", "PASS"), ("markets_independent", "FAIL"),
        ("markets_independent", "PASS")]
    assert history[1]["duration_s"] == 240.0 and history[3]["changes"]["params.budget"]["to"] == 20.0
    failed = json.loads(camp.dir.run_result(history[2]["run_id"]).read_text())["kpis"]
    assert failed["worst_market_degradation"] == pytest.approx(0.15)
    assert failed["worst_market_degradation"] == pytest.approx(-min(failed["market_pnl_vs_single"].values()))
    for h in history:
        assert RunConfig.load(camp.dir.path / h["config"]).replay(rec).fills_hash == h["fills_hash"]
    assert "worst_market_degradation" in (camp.dir.path / history[2]["report"]).read_text()
    assert history[2]["worst_market_degradation"] == failed["worst_market_degradation"]
    assert history[2]["market_pnl_vs_single"] == failed["market_pnl_vs_single"]


def test_live_source_record_carries_wall_clock_kpis_and_the_market_baseline(two_markets, tmp_path):
    """A finished paper run directory (its recording, run.yaml, paper_result.json, ops.jsonl written here by hand):
    the live source takes the run as it is, replays it to its fills_hash and adds the live and market KPIs."""
    rec = two_markets
    paper = tmp_path / "runs" / "x-r001" / "paper"
    paper.mkdir(parents=True)
    (paper / "recording").symlink_to(rec.path)
    run = _run(rec, 15.0)
    (paper / "run.yaml").write_text(yaml.safe_dump(run))
    res = RunConfig.from_dict(run).replay(rec.path)
    (paper / "paper_result.json").write_text(json.dumps({"fills_hash": res.fills_hash}))
    t0 = 1_765_450_000 * 10**9
    ops = [{"kind": "start", "segment": 0, "ts_ns": t0},
           {"kind": "sample", "segment": 0, "ts_ns": t0 + 5 * 10**9, "rss_mb": 200.0, "uptime_s": 5.0,
            "quote_ms_hist": {"60": 3}},  # bin 60: 1 ms .. 1.12 ms
           {"kind": "end", "segment": 0, "status": "finished", "ts_ns": t0 + 3605 * 10**9, "rss_mb": 210.0,
            "uptime_s": 3605.0, "quote_ms_hist": {"100": 1}}]  # bin 100: 100 ms .. 112 ms
    (paper / "ops.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ops) + '{"kind": "sam')  # a torn line
    src = LiveSource({"venues": [{"venue": "polymarket", "symbols": "x"}]}, (1.0,))
    record = src.run({**run, "duration_s": 1.0}, tmp_path / "runs" / "x-r001", None)
    k = record["kpis"]
    assert record["fills_hash"] == res.fills_hash
    assert k["rss_slope_mb_per_h"] == pytest.approx(10.0)  # +10 MB over one hour, two samples
    assert k["rss_samples"] == 2 and k["rss_mb_max"] == 210.0 and record["rss_mb_series"] == [[5.0, 200.0],
                                                                                              [3605.0, 210.0]]
    assert k["quote_latency_samples"] == 4
    assert 1.0 < k["quote_latency_ms_p50"] <= 1.13 and 100.0 < k["quote_latency_ms_p99"] <= 113.0
    assert k["market_pnl_vs_single"] == market_baseline(run, rec.path, res)["market_pnl_vs_single"]
    assert k["worst_market_degradation"] is not None and set(LIVE_KPIS) <= set(k)


def test_offline_records_have_no_wall_clock_kpis(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small(budget={"runs": 1})))
    camp.run()
    k = json.loads(camp.dir.run_result("small-r001").read_text())["kpis"]
    assert all(k[name] is None for name in LIVE_KPIS)
    assert k["market_pnl_vs_single"] is None and k["worst_market_degradation"] is None  # mm: one market, no hook
    entry = camp.dir.read_history()[0]
    assert not set(entry) & set(LIVE_KPIS) and "worst_market_degradation" not in entry


@pytest.mark.parametrize("check,part,message", [
    ("quote_latency_ms_p99 < 500", "checks", "hypotheses[0].checks[0]: quote_latency_ms_p99 is measured on the wall "
                                             "clock of a live (paper) run; this campaign's source is offline"),
    ("rss_slope_mb_per_h < 50", "inconclusive_if", "hypotheses[0].inconclusive_if[0]: rss_slope_mb_per_h is measured"),
    ("worst_market_degradation <= 0", "checks", "hypotheses[0].checks[0]: worst_market_degradation compares the "
                                                "markets of a multi-market run with each alone; mm quotes one market"),
    ("market_pnl_vs_single.m >= 0", "checks", "market_pnl_vs_single.m compares"),
])
def test_checks_the_runs_cannot_have_are_refused_in_one_line(tmp_path, check, part, message):
    h = dict(small()["hypotheses"][0])
    h[part] = [check]
    path = write_spec(tmp_path, small(hypotheses=[h]))
    with pytest.raises(ConfigError) as err:
        CampaignSpec.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value) and message in str(err.value), str(err.value)


def test_live_spec_accepts_the_live_kpis():
    spec = small(source={"kind": "live", "venues": [{"venue": "binance-usdm", "symbols": "BTCUSDT"}],
                         "ops_sample_s": 1},
                 hypotheses=[{"name": "stable", "checks": ["quote_latency_ms_p99 < 500", "rss_slope_mb_per_h < 50"]}])
    assert CampaignSpec.from_dict(spec).hypotheses[0].checks[1].kpi == "rss_slope_mb_per_h"
    with pytest.raises(ConfigError, match="source.ops_sample_s must be a number of seconds > 0"):
        CampaignSpec.from_dict({**spec, "source": {**spec["source"], "ops_sample_s": 0}})


def test_unmeasured_live_kpi_is_inconclusive_a_measured_one_judged():
    hyp = Hypothesis("stable", "stable", (Threshold.parse("quote_latency_ms_p99 < 500", "c"),
                                          Threshold.parse("rss_slope_mb_per_h < 50", "c")), (), 2, ())
    v = judge(hyp, {"quote_latency_ms_p99": 120.0, "rss_slope_mb_per_h": None})
    assert v["verdict"] == "INCONCLUSIVE" and "rss_slope_mb_per_h was not measured" in v["reasons"][0]
    assert judge(hyp, {"quote_latency_ms_p99": 120.0, "rss_slope_mb_per_h": 3.5})["verdict"] == "PASS"
    v = judge(hyp, {"quote_latency_ms_p99": 620.0, "rss_slope_mb_per_h": 3.5})
    assert v["verdict"] == "FAIL" and v["reasons"] == ["quote_latency_ms_p99 = 620 fails < 500"]
    # a standard KPI a run lacks still fails its check
    other = Hypothesis("x", "x", (Threshold.parse("no_such_kpi > 1", "c"),), (), 2, ())
    assert judge(other, {})["verdict"] == "FAIL"


def test_the_new_kpis_are_defined_once_with_units():
    assert all(k in OPS_KPI_DEFINITIONS and OPS_KPI_DEFINITIONS[k][0] for k in LIVE_KPIS)
    assert all(k in CAMPAIGN_KPI_DEFINITIONS for k in MARKET_BASELINE_KPIS)
    assert not set(LIVE_KPIS) & set(CAMPAIGN_KPI_DEFINITIONS)
    assert OPS_KPI_DEFINITIONS["rss_slope_mb_per_h"][0] == "MB / h"
    assert CAMPAIGN_KPI_DEFINITIONS["worst_market_degradation"][0] == "quote currency"


def test_paper_cli_refuses_a_non_positive_ops_sample_interval(tmp_path, capsys):
    from arbkit.apps.cli import main

    code = main(["paper", "--config", str(tmp_path / "run.yaml"), "--venue", "binance-usdm", "--symbols", "BTCUSDT",
                 "-o", str(tmp_path / "out"), "--ops-sample-s", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "arbkit paper: error: --ops-sample-s must be a number of seconds > 0, got 0"
    assert not (tmp_path / "out").exists()

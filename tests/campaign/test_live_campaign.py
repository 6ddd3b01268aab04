"""A live campaign: two short paper runs against the local replay server, each replaying to its fills_hash."""
import pytest

import arbkit
from arbkit.campaign.orchestrator import init_campaign
from arbkit.live.record.replay_server import ReplayServer, binance_frames
from arbkit.run.config import RunConfig
from helpers.paths import ROOT

from campaign.campaigns import write_spec

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"


@pytest.mark.slow
def test_live_campaign_of_two_paper_runs(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    with ReplayServer(frames * 3, snapshot=snap, delay_s=0.001, batch=2) as srv:
        spec = {"name": "live", "source": {"kind": "live", "flush_s": 0.2, "supervise": 1,
                                           "venues": [{"venue": "binance-usdm", "symbols": "BTCUSDT",
                                                       "channels": ["depth", "trades", "bbo"],
                                                       "endpoint": srv.url, "rest": srv.http}]},
                "base": {"strategy": "touch_mm", "strategy_options": {"interval_ms": 50.0},
                         "params": {"asset": 0, "half_spread_bps": 0.2, "order_size": 0.01, "max_position": 0.05},
                         "latency": {"entry": 2000000, "response": 1000000}, "seed": 11},
                "durations_s": [3, 4],
                "hypotheses": [{"name": "quotes", "checks": ["quote_count > 0"]},
                               {"name": "fills", "checks": ["fills >= 1"], "inconclusive_if": ["duration_s < 1"]}],
                "budget": {"runs": 4}}
        camp = init_campaign(tmp_path / "c", write_spec(tmp_path, spec))
        assert camp.run() == "DONE"
    state = camp.state()
    history = camp.dir.read_history()
    assert state["outcome"] == "ALL_PASSED", (state["reason"], history)
    assert [h["run_id"] for h in history] == ["live-r001", "live-r002"]
    for h in history:
        assert h["verdict"] == "PASS" and h["fills"] > 0
        res = RunConfig.load(h["replay_config"]).replay(arbkit.load(h["recording"]))
        assert res.fills_hash == h["fills_hash"]
        assert RunConfig.load(camp.dir.path / h["config"]).run_id == h["run_id"]

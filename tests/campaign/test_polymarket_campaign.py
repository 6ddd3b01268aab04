"""The Polymarket example campaign on the shared collector files (converted here; never copied into the repository)."""
import pytest
import yaml

from arbkit.campaign.orchestrator import init_campaign
from arbkit.convert import convert
from arbkit.run.config import RunConfig
from helpers.paths import ROOT, shared


@pytest.mark.slow
def test_polymarket_campaign_story_and_replays(tmp_path):
    files = sorted(shared("polymarket_l2_2025-12-11").glob("polymarket_1h_btc_*"))
    rec = convert("polymarket", files, tmp_path / "pm").path
    spec = yaml.safe_load((ROOT / "examples" / "campaign_polymarket" / "campaign.yaml").read_text())
    spec["source"]["recording"] = str(rec)
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(spec))
    camp = init_campaign(tmp_path / "c", tmp_path / "campaign.yaml")
    assert camp.run() == "DONE"
    assert camp.state()["outcome"] == "ALL_PASSED", camp.state()["reason"]
    history = camp.dir.read_history()
    verdicts = [(h["hypothesis"], h["verdict"]) for h in history]
    assert ("fill_rate_realistic", "FAIL") in verdicts and ("fill_rate_realistic", "PASS") in verdicts
    inc = next(i for i, h in enumerate(history) if h["verdict"] == "INCONCLUSIVE")
    assert history[inc + 1]["duration_s"] > history[inc]["duration_s"]
    for h in history:
        assert RunConfig.load(camp.dir.path / h["config"]).replay(rec).fills_hash == h["fills_hash"]

import json

from arbkit.apps.demo import main
from helpers.paths import BUNDLED, ROOT

MM_CONFIG = ROOT / "examples" / "run_touch_mm.yaml"


def test_demo_runs_offline_and_writes_its_summary(tmp_path):
    assert main(BUNDLED, tmp_path, MM_CONFIG) == 0
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["validation"]["ok"] and data["info"]["events"] == 1_128_971
    basis = data["basis_usdm_vs_spot_bps"]
    # USD-M traded below spot over the whole window (shared PROVENANCE: mean -23.11 USDT ~ -3.7 bps)
    assert basis["p95"] < 0 and -6 < basis["mean"] < -2
    mm = data["market_maker_replay"]
    assert mm["events"] == 1_128_971 and mm["fills"] > 0 and len(mm["fills_hash"]) == 64
    # the demo's replay is the CLI's replay of the same config
    from arbkit.run.config import RunConfig
    assert RunConfig.load(MM_CONFIG).replay(BUNDLED).fills_hash == mm["fills_hash"]

"""The shipped offline campaign: three hypotheses, FAIL -> adjust -> PASS, INCONCLUSIVE -> longer run, DONE;
every run in history.json replays (from its runs/<id>.yaml) to its recorded fills_hash."""
import json
import subprocess
import sys

import pytest

from arbkit.campaign.orchestrator import Campaign, init_campaign
from arbkit.run.config import RunConfig
from helpers.paths import BUNDLED, ROOT

from campaign.campaigns import EXAMPLE


def test_example_campaign_story_and_replays(tmp_path):
    camp = init_campaign(tmp_path / "c", EXAMPLE)
    seen = [[]]

    def append_only(_state):
        now = camp.dir.read_history()
        assert now[:len(seen[-1])] == seen[-1] and len(now) - len(seen[-1]) <= 1  # earlier entries never change
        seen.append(now)

    assert camp.run(on_step=append_only) == "DONE"
    state = camp.state()
    assert state["outcome"] == "ALL_PASSED", state["reason"]
    history = camp.dir.read_history()
    ids = [h["run_id"] for h in history]
    assert ids == [f"mm-demo-r{i:03d}" for i in range(1, len(ids) + 1)]  # no duplicate, none lost
    assert [h["hypothesis"] for h in history if h["verdict"] == "PASS"] == [h.name for h in camp.spec.hypotheses]
    # FAIL -> adjusted retry (the rule, clipped to bounds) -> ... -> PASS on the same hypothesis
    fails = [i for i, h in enumerate(history) if h["verdict"] == "FAIL"]
    assert fails
    first = history[fails[0]]
    after = history[fails[0] + 1]
    assert first["decision"]["action"] == "retry" and after["hypothesis"] == first["hypothesis"]
    assert after["changes"]["fill.fill_probability"] == {"from": 1.0, "to": 0.5, "reason": "rule 'fill_probability * 0.5'"}
    assert after["parent_run"] == first["run_id"]
    passed_after_fail = next(h for h in history[fails[0]:] if h["hypothesis"] == first["hypothesis"]
                             and h["verdict"] == "PASS")
    assert passed_after_fail["values"]["fill.fill_probability"] < 1.0
    # INCONCLUSIVE -> the next rung of the ladder for the same hypothesis
    inc = [i for i, h in enumerate(history) if h["verdict"] == "INCONCLUSIVE"]
    assert inc
    nxt = history[inc[0] + 1]
    assert nxt["hypothesis"] == history[inc[0]]["hypothesis"]
    assert nxt["duration_s"] > history[inc[0]]["duration_s"]
    # consecutive windows: each run starts where the one before ended (the ladder fits the recording here)
    for prev, cur in zip(history, history[1:]):
        planned = RunConfig.load(camp.dir.path / cur["config"])
        assert planned.start_ns == RunConfig.load(camp.dir.path / prev["config"]).end_ns
    # every run replays from its own file to the fills_hash history recorded; reports exist
    for h in history:
        cfg = RunConfig.load(camp.dir.path / h["config"])
        assert (cfg.run_id, cfg.parent_run) == (h["run_id"], h["parent_run"])
        assert cfg.replay(BUNDLED).fills_hash == h["fills_hash"]
        assert f"# {h['run_id']} — {h['verdict']}" in (camp.dir.path / h["report"]).read_text()
    # a finished campaign does not move
    assert Campaign(camp.dir.path).step() == "DONE"
    assert camp.dir.read_history() == history


@pytest.mark.slow
def test_replay_cli_takes_a_campaign_run_file(tmp_path):
    camp = init_campaign(tmp_path / "c", EXAMPLE)
    camp.run(max_steps=5)  # IDLE -> STARTING -> RUNNING -> ANALYZING -> ADJUSTING -> IDLE: one run
    h = camp.dir.read_history()[0]
    out = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "replay", str(BUNDLED), "--config",
                          str(camp.dir.path / h["config"]), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["fills_hash"] == h["fills_hash"]

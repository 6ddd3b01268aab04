"""SIGKILL of a campaign in every state and between the writes of a transition, then a rerun: the same runs
as an uninterrupted campaign — none repeated, none lost."""
import multiprocessing
import os
import signal
import subprocess
import sys

import pytest

from arbkit.campaign import orchestrator
from arbkit.campaign.orchestrator import KILL_ENV, Campaign, init_campaign, resume
from arbkit.run.config import RunConfig
from helpers.paths import ROOT

from campaign.campaigns import small, summary, write_spec

#: the states a transition enters (killed right after state.json says so), then the points inside a transition
#: (killed after one write and before the next); '#n' is the n-th time the point is reached
SLOW = pytest.mark.slow
POINTS = [pytest.param("STARTING", marks=SLOW), "RUNNING", pytest.param("ANALYZING", marks=SLOW),
          pytest.param("ADJUSTING#2", marks=SLOW), pytest.param("IDLE#2", marks=SLOW), pytest.param("DONE", marks=SLOW),
          pytest.param("plan-written#2", marks=SLOW), "result-written#2", "decided", "history-appended#2"]


def _reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref")
    camp = init_campaign(path / "c", write_spec(path, small()))
    assert camp.run() == "DONE"
    return summary(camp.dir.read_history())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _reference(tmp_path_factory)


def _run_killed(directory, point):
    os.environ[KILL_ENV] = point
    orchestrator._hits.clear()
    Campaign(directory).run()
    os._exit(0)  # not killed: the point was never reached


def _kill_then_resume(directory, point):
    child = multiprocessing.get_context("fork").Process(target=_run_killed, args=(directory, point))
    child.start()
    child.join(120)
    return child.exitcode


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_point_then_rerun(tmp_path, reference, point):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small()))
    assert _kill_then_resume(camp.dir.path, point) == -signal.SIGKILL
    killed_in = camp.state()["state"]
    assert Campaign(camp.dir.path).run() == "DONE"
    assert summary(camp.dir.read_history()) == reference, f"killed at {point} (state {killed_in})"
    runs = sorted(p.name for p in camp.dir.runs_dir.glob("*.result.json"))
    assert runs == [f"{r[0]}.result.json" for r in reference]


def test_sigkill_when_paused_and_in_error(tmp_path, reference, monkeypatch):
    # PAUSED: killed right after pausing; a rerun stays paused until resumed, then finishes the same runs
    camp = init_campaign(tmp_path / "p", write_spec(tmp_path / "p", small()))
    camp.run(max_steps=3)
    (camp.dir.pause_path).write_text("")
    assert _kill_then_resume(camp.dir.path, "PAUSED") == -signal.SIGKILL
    assert camp.state()["state"] == "PAUSED"
    assert Campaign(camp.dir.path).run() == "PAUSED"
    assert resume(camp.dir.path) == "ANALYZING"
    assert Campaign(camp.dir.path).run() == "DONE"
    assert summary(camp.dir.read_history()) == reference
    # ERROR: the first run fails once; killed in ERROR; the rerun records the failed run and restarts with the
    # last safe parameters under the next id, on the next window (the failed one's time has gone)
    camp = init_campaign(tmp_path / "e", write_spec(tmp_path / "e", small()))
    real_run = orchestrator.OfflineSource.run
    calls = []

    def flaky(self, config, run_dir, limit):
        calls.append(config["run_id"])
        if len(calls) == 1:
            raise RuntimeError("feed lost")
        return real_run(self, config, run_dir, limit)

    monkeypatch.setattr(orchestrator.OfflineSource, "run", flaky)
    assert _kill_then_resume(camp.dir.path, "ERROR") == -signal.SIGKILL  # the child inherits the flaky source
    assert camp.state()["state"] == "ERROR"
    calls.append("child")  # the failing call happened in the child; from here on the source runs for real
    assert Campaign(camp.dir.path).run() == "DONE"
    history = camp.dir.read_history()
    assert history[0]["verdict"] == "ERROR" and "feed lost" in history[0]["reasons"][0]
    assert history[1]["parent_run"] == history[0]["run_id"] and history[1]["values"] == history[0]["values"]
    ids = [h["run_id"] for h in history]
    assert ids == [f"small-r{i:03d}" for i in range(1, len(ids) + 1)]
    failed_cfg = RunConfig.load(camp.dir.path / history[0]["config"])
    assert RunConfig.load(camp.dir.path / history[1]["config"]).start_ns == failed_cfg.end_ns
    assert not camp.dir.run_result(history[0]["run_id"]).exists()


def test_cli_run_sigkilled_while_running_then_rerun(tmp_path, reference):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path, small()))
    cmd = [sys.executable, "-m", "arbkit.apps.cli", "campaign", "run", str(camp.dir.path), "--quiet"]
    killed = subprocess.run(cmd, cwd=ROOT, env={**os.environ, KILL_ENV: "result-written#2"}, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert camp.state()["state"] == "RUNNING"
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("DONE")
    assert summary(camp.dir.read_history()) == reference

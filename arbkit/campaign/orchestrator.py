"""The campaign's state machine: one transition per :meth:`Campaign.step`, crash-safe at every point.

    IDLE ──plan (runs/<id>.yaml)──► STARTING ──► RUNNING ──result──► ANALYZING ──verdict──► ADJUSTING
      ▲                                             │ error                                  │ decision,
      │                                             ▼                                        │ history, report
      └────────── last safe parameters ◄──────── ERROR                                       ▼
      └───────────────────────────────────────────────────────────────────────────── IDLE or DONE
    any state ──PAUSE file──► PAUSED ──resume──► the state it left

Every transition writes what it made (the run's config, its result, its history entry and
report) before ``state.json`` moves on, and each of those writes is idempotent under the
run id (``<campaign>-r<seq>``, fixed when the plan is made), so a process killed at any point
resumes from ``state.json`` without repeating a finished run or losing one.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from arbkit.campaign.adjust import optuna_next, rules_next
from arbkit.campaign.report import run_markdown
from arbkit.campaign.sources import LiveSource, OfflineSource
from arbkit.campaign.spec import CampaignSpec
from arbkit.campaign.store import CampaignDir, read_json, write_json
from arbkit.campaign.verdict import judge, score
from arbkit.core.errors import ArbkitError, ConfigError
from arbkit.io.manifest import atomic_write_text
from arbkit.kpi.campaign import LIVE_KPIS, MARKET_BASELINE_KPIS
from arbkit.run.config import read_yaml

MAX_ERRORS_IN_ROW = 3
KILL_ENV = "ARBKIT_CAMPAIGN_KILL_AT"
_hits: dict[str, int] = {}


def _checkpoint(point: str) -> None:
    """Test hook: SIGKILL this process at a named point (``ARBKIT_CAMPAIGN_KILL_AT=RUNNING`` or ``POINT#n``, the
    n-th time it is reached)."""
    want = os.environ.get(KILL_ENV)
    if not want:
        return
    name, _, nth = want.partition("#")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def run_id(campaign: str, seq: int) -> str:
    """The id of the campaign's ``seq``-th run (deterministic: a resumed plan gets the same id)."""
    return f"{campaign}-r{seq:03d}"


def init_campaign(path: str | Path, config: str | Path | None = None) -> "Campaign":
    """Make ``path`` a campaign directory (copying ``config`` in as campaign.yaml) in state IDLE."""
    d = CampaignDir(path)
    if d.state_path.exists():
        raise ConfigError(f"{d.path}: already a campaign (state.json exists); use 'arbkit campaign run' to go on")
    if config is not None:
        spec = CampaignSpec.load(config)  # checked where it is, its relative paths resolved there
        d.path.mkdir(parents=True, exist_ok=True)
        text = Path(config).read_text()
        if spec.source_kind == "offline":
            data = yaml.safe_load(text)
            data["source"]["recording"] = spec.source["recording"]
            text = yaml.safe_dump(data, sort_keys=False)
        atomic_write_text(d.spec_path, text)
    elif not d.spec_path.is_file():
        raise ConfigError(f"{d.path}: no campaign.yaml (give one with --config)")
    spec = CampaignSpec.load(d.spec_path)
    d.runs_dir.mkdir(exist_ok=True)
    d.reports_dir.mkdir(exist_ok=True)
    if not d.history_path.exists():
        write_json(d.history_path, [])
    values = {p: spec.base_value(p) for p in spec.bounds}
    d.write_state({"state": "IDLE", "campaign": spec.name, "seq": 0, "hypothesis": 0, "retries": 0, "rung": 0,
                   "values": values, "last_safe": values, "pending_changes": {}, "parent_run": None,
                   "cursor_ns": None, "current": None, "analysis": None, "decision": None, "errors_in_row": 0,
                   "started_wall": time.time(), "outcome": None, "reason": None})
    return Campaign(d.path)


class Campaign:
    """An initialised campaign directory and its orchestrator."""

    def __init__(self, path: str | Path) -> None:
        self.dir = CampaignDir(path)
        self.dir.require()
        self.spec = CampaignSpec.load(self.dir.spec_path)
        self._source: Any = None

    @property
    def source(self) -> Any:
        if self._source is None:
            if self.spec.source_kind == "offline":
                self._source = OfflineSource(self.spec.source, self.spec.durations_s)
            else:
                self._source = LiveSource(self.spec.source, self.spec.durations_s)
        return self._source

    def state(self) -> dict[str, Any]:
        return self.dir.read_state()

    # -- the loop ------------------------------------------------------------------------------------------
    def step(self) -> str:
        """Make exactly one transition (none in DONE, or while PAUSE holds a paused campaign); the new state."""
        with self.dir.lock():
            s = self.dir.read_state()
            now = s["state"]
            if now == "DONE":
                return now
            if self.dir.pause_path.exists() and now != "PAUSED":
                s["paused_from"], s["state"] = now, "PAUSED"
                return self._write(s)
            if now == "PAUSED":
                if self.dir.pause_path.exists():
                    return now
                s["state"] = s.pop("paused_from", "IDLE")
                return self._write(s)
            return self._write(self._handlers()[now](s))

    def run(self, max_steps: int | None = None, on_step: Callable[[str], None] | None = None) -> str:
        """Step until DONE or PAUSED (or ``max_steps``); the last state."""
        n = 0
        state = self.state()["state"]
        while state not in ("DONE",) and (max_steps is None or n < max_steps):
            state = self.step()
            n += 1
            if on_step is not None:
                on_step(state)
            if state == "PAUSED" and self.dir.pause_path.exists():
                break
        return state

    def _write(self, s: dict[str, Any]) -> str:
        self.dir.write_state(s)
        _checkpoint(s["state"])
        return s["state"]

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {"IDLE": self._plan, "STARTING": self._start, "RUNNING": self._run, "ANALYZING": self._analyze,
                "ADJUSTING": self._adjust, "ERROR": self._recover}

    # -- IDLE: budget, then plan the next run ------------------------------------------------------------------
    def _plan(self, s: dict[str, Any]) -> dict[str, Any]:
        budget = self.spec.budget
        done = len(self.dir.read_history())
        if budget.runs is not None and done >= budget.runs:
            return self._done(s, "BUDGET", f"budget spent: runs {done} of {budget.runs}")
        elapsed = time.time() - float(s["started_wall"])
        if budget.wall_s is not None and elapsed >= budget.wall_s:
            return self._done(s, "BUDGET", f"budget spent: wall time {elapsed:.0f} s of {budget.wall_s:g} s")
        seq = int(s["seq"]) + 1
        rid = run_id(self.spec.name, seq)
        hyp = self.spec.hypotheses[s["hypothesis"]]
        duration = self.spec.durations_s[s["rung"]]
        config = self._config(s["values"])
        window = self.source.window(s["cursor_ns"], duration)
        if window is not None:
            config["start_ns"], config["end_ns"] = window
        changes = s["pending_changes"]
        run_yaml = {"run_id": rid, "hypothesis": f"{hyp.name}: {hyp.claim}", "parent_run": s["parent_run"],
                    "changes_from_parent": changes, **config}
        self.dir.write_run_yaml(rid, run_yaml)
        _checkpoint("plan-written")
        s.update(seq=seq, state="STARTING", cursor_ns=window[1] if window else s["cursor_ns"],
                 current={"run_id": rid, "seq": seq, "hypothesis": hyp.name, "rung": s["rung"], "duration_s": duration,
                          "values": dict(s["values"]), "changes": changes, "parent_run": s["parent_run"],
                          "window": list(window) if window else None})
        return s

    def _config(self, values: dict[str, float]) -> dict[str, Any]:
        """The base run config with the bounded values in place."""
        config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.spec.base.items()}
        for path, v in values.items():
            section, key = path.split(".", 1)
            config.setdefault(section, {})[key] = v
        return config

    # -- STARTING / RUNNING ----------------------------------------------------------------------------------------
    def _start(self, s: dict[str, Any]) -> dict[str, Any]:
        s["current"]["started_wall"] = s["current"].get("started_wall") or time.time()
        s["state"] = "RUNNING"
        return s

    def _run(self, s: dict[str, Any]) -> dict[str, Any]:
        cur = s["current"]
        rid = cur["run_id"]
        out = self.dir.run_result(rid)
        if not out.exists():  # a run killed before its result was written is run again: same id, same config
            config = {**read_yaml(self.dir.run_yaml(rid)), "duration_s": cur["duration_s"]}
            try:
                record = self.source.run(config, self.dir.runs_dir / rid, self.spec.inventory_limit)
            except (ArbkitError, OSError, ValueError, RuntimeError) as exc:
                s.update(state="ERROR", error=f"{rid}: {exc}", errors_in_row=int(s["errors_in_row"]) + 1)
                return s
            record["wall_s"] = time.time() - float(cur["started_wall"])
            write_json(out, record)
            _checkpoint("result-written")
        s["state"] = "ANALYZING"
        return s

    # -- ANALYZING: the verdict ----------------------------------------------------------------------------------
    def _analyze(self, s: dict[str, Any]) -> dict[str, Any]:
        record = read_json(self.dir.run_result(s["current"]["run_id"]), "run result")
        hyp = self.spec.hypotheses[s["hypothesis"]]
        s["analysis"] = judge(hyp, record["kpis"])
        s["state"] = "ADJUSTING"
        return s

    # -- ADJUSTING: the decision, history, report ---------------------------------------------------------------
    def _adjust(self, s: dict[str, Any]) -> dict[str, Any]:
        cur = s["current"]
        record = read_json(self.dir.run_result(cur["run_id"]), "run result")
        verdict = s["analysis"]
        if s.get("decision") is None:  # decided once, kept in state: a resumed step applies the same decision
            s["decision"] = self._decide(s, verdict, cur)
            self.dir.write_state(s)
            _checkpoint("decided")
        decision = s["decision"]
        entry = {"run_id": cur["run_id"], "seq": cur["seq"], "hypothesis": cur["hypothesis"],
                 "verdict": verdict["verdict"], "reasons": verdict["reasons"], "score": score(verdict),
                 "pnl_per_hour": record["kpis"].get("pnl_per_hour"), "fill_rate_pct": record["kpis"].get("fill_rate_pct"),
                 "duration_s": cur["duration_s"], "fills": record["fills"], "fills_hash": record["fills_hash"],
                 "start_ns": record["start_ns"], "end_ns": record["end_ns"], "parent_run": cur["parent_run"],
                 "changes": cur["changes"], "values": cur["values"], "decision": {k: decision[k] for k in ("action", "reason")},
                 "report": f"reports/{cur['run_id']}.md", "config": f"runs/{cur['run_id']}.yaml",
                 "recording": record.get("recording"), "replay_config": record.get("replay_config")}
        entry.update({k: record["kpis"][k] for k in LIVE_KPIS + MARKET_BASELINE_KPIS  # live / multi-market runs
                      if record["kpis"].get(k) is not None})
        claim = self.spec.hypotheses[s["hypothesis"]].claim
        self.dir.write_text(self.dir.report(cur["run_id"]), run_markdown(self.spec.name, entry, claim, record["kpis"]))
        self.dir.append_history(entry)
        _checkpoint("history-appended")
        s.update(hypothesis=decision["hypothesis"], retries=decision["retries"], rung=decision["rung"],
                 values=decision["values"], pending_changes=decision["changes"], parent_run=cur["run_id"],
                 last_safe=cur["values"], errors_in_row=0, current=None, analysis=None, decision=None)
        if decision["action"] == "stop":
            return self._done(s, decision["outcome"], decision["reason"])
        gate = self.spec.pause_after
        if gate == "run" or (gate == "hypothesis" and decision["action"] == "next_hypothesis"):
            atomic_write_text(self.dir.pause_path, f"pause_after: {gate}: {cur['run_id']} {verdict['verdict']}; "
                                                   "'arbkit campaign resume' approves the next run\n")
        s["state"] = "IDLE"
        return s

    def _decide(self, s: dict[str, Any], verdict: dict[str, Any], cur: dict[str, Any]) -> dict[str, Any]:
        """What comes after this verdict, with its reason: next hypothesis, adjusted retry, longer run, or stop."""
        spec, i = self.spec, int(s["hypothesis"])
        hyp = spec.hypotheses[i]
        keep = {"hypothesis": i, "retries": s["retries"], "rung": s["rung"], "values": s["values"], "changes": {}}
        v = verdict["verdict"]
        if v == "PASS":
            if i + 1 == len(spec.hypotheses):
                return {**keep, "action": "stop", "outcome": "ALL_PASSED",
                        "reason": f"PASS: all {len(spec.hypotheses)} hypotheses passed"}
            nxt = spec.hypotheses[i + 1]
            return {**keep, "hypothesis": i + 1, "retries": 0, "rung": 0, "action": "next_hypothesis",
                    "reason": f"PASS: {hyp.name} holds; next hypothesis {nxt.name}"}
        if v == "INCONCLUSIVE":
            rung = int(s["rung"])
            if rung + 1 < len(spec.durations_s):
                return {**keep, "rung": rung + 1, "action": "longer_run",
                        "reason": f"INCONCLUSIVE ({verdict['reasons'][0]}): next run {spec.durations_s[rung + 1]:g} s "
                                  f"(ladder step {rung + 2} of {len(spec.durations_s)})"}
            return {**keep, "action": "stop", "outcome": "INCONCLUSIVE",
                    "reason": f"INCONCLUSIVE: {hyp.name} still inconclusive at the longest run "
                              f"({spec.durations_s[-1]:g} s)"}
        retries = int(s["retries"])
        if retries >= hyp.max_retries:
            return {**keep, "action": "stop", "outcome": "FAILED",
                    "reason": f"FAIL: {hyp.name} failed after {retries} retries (max_retries {hyp.max_retries})"}
        if spec.adjuster == "optuna":
            history = self.dir.read_history() + [{"run_id": cur["run_id"], "hypothesis": hyp.name, "verdict": v,
                                                  "values": cur["values"], "score": score(verdict)}]
            values, changes = optuna_next(spec, hyp, s["values"], history, self.dir.optuna_path)
        else:
            values, changes = rules_next(hyp, s["values"], spec.bounds)
        if not changes:
            return {**keep, "action": "stop", "outcome": "FAILED",
                    "reason": f"FAIL: {hyp.name} failed and no adjustment is left within the bounds "
                              f"({', '.join(str(r) for r in hyp.adjust) or 'no rules'})"}
        what = ", ".join(f"{k} {c['from']:g} -> {c['to']:g}" for k, c in changes.items())
        return {**keep, "retries": retries + 1, "values": values, "changes": changes, "action": "retry",
                "reason": f"FAIL: retry {retries + 1} of {hyp.max_retries} with {what}"}

    # -- ERROR: restart with the last safe parameters -------------------------------------------------------------------
    def _recover(self, s: dict[str, Any]) -> dict[str, Any]:
        cur = s["current"]
        entry = {"run_id": cur["run_id"], "seq": cur["seq"], "hypothesis": cur["hypothesis"], "verdict": "ERROR",
                 "reasons": [s.get("error", "error")], "score": 0.0, "duration_s": cur["duration_s"], "fills": None,
                 "fills_hash": None, "parent_run": cur["parent_run"], "changes": cur["changes"], "values": cur["values"],
                 "decision": {"action": "restart", "reason": "ERROR: restart with the last safe parameters"},
                 "config": f"runs/{cur['run_id']}.yaml"}
        self.dir.append_history(entry)
        if int(s["errors_in_row"]) >= MAX_ERRORS_IN_ROW:
            s.update(current=None)
            return self._done(s, "ERROR", f"ERROR: {s['errors_in_row']} runs in a row failed to run; last: {s.get('error')}")
        safe = s["last_safe"]
        changes = {p: {"from": cur["values"][p], "to": safe[p], "reason": "restart after an error: last safe value"}
                   for p in safe if safe[p] != cur["values"].get(p)}
        s.update(state="IDLE", values=safe, pending_changes=changes, parent_run=cur["run_id"], current=None, error=None)
        return s

    def _done(self, s: dict[str, Any], outcome: str, reason: str) -> dict[str, Any]:
        s.update(state="DONE", outcome=outcome, reason=reason)
        return s


def pause(path: str | Path) -> None:
    """Ask the campaign to stop at its next transition (writes the PAUSE file)."""
    d = CampaignDir(path)
    d.require()
    atomic_write_text(d.pause_path, "paused by 'arbkit campaign pause'; 'arbkit campaign resume' goes on\n")


def resume(path: str | Path) -> str:
    """Lift the human gate: remove PAUSE and return a paused campaign to the state it left."""
    d = CampaignDir(path)
    d.require()
    if d.pause_path.exists():
        d.pause_path.unlink()
    with d.lock():
        s = d.read_state()
        if s["state"] == "PAUSED":
            s["state"] = s.pop("paused_from", "IDLE")
            d.write_state(s)
        return s["state"]


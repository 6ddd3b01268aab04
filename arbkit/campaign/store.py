"""A campaign directory: its files, each written atomically (temporary file, fsync, rename).

    campaign.yaml            the spec (copied in by ``init``)
    state.json               where the orchestrator is (rewritten at every transition)
    history.json             one entry per finished run, append-only (earlier entries never change)
    runs/<run_id>.yaml       the run's config with its provenance (written before the run starts)
    runs/<run_id>.result.json  the run's figures (written when it ends, before the state moves on)
    runs/<run_id>/           a live run's paper directory
    reports/<run_id>.md      the run's report
    optuna.db                the study (adjuster: optuna)
    PAUSE                    present: the campaign stops at the next transition (the human gate)
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from arbkit.core.errors import ConfigError
from arbkit.io.lock import DirectoryLock
from arbkit.io.manifest import atomic_write_text

STATES = ("IDLE", "STARTING", "RUNNING", "ANALYZING", "ADJUSTING", "PAUSED", "ERROR", "DONE")


def _clean(v: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars plain numbers."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_json(path: Path, data: Any) -> None:
    """``data`` as JSON at ``path``, atomically."""
    atomic_write_text(path, json.dumps(_clean(data), indent=1, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: Path, what: str) -> Any:
    """A JSON file the campaign wrote; a ConfigError naming it when it is unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the campaign's {what} ({exc})") from None


class CampaignDir:
    """The files of one campaign directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    spec_path = property(lambda self: self.path / "campaign.yaml")
    state_path = property(lambda self: self.path / "state.json")
    history_path = property(lambda self: self.path / "history.json")
    runs_dir = property(lambda self: self.path / "runs")
    reports_dir = property(lambda self: self.path / "reports")
    pause_path = property(lambda self: self.path / "PAUSE")
    optuna_path = property(lambda self: self.path / "optuna.db")

    def run_yaml(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.yaml"

    def run_result(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.result.json"

    def report(self, run_id: str) -> Path:
        return self.reports_dir / f"{run_id}.md"

    def lock(self) -> DirectoryLock:
        """One orchestrator at a time per directory (released by the OS even on SIGKILL)."""
        return DirectoryLock(self.path, "arbkit campaign")

    def require(self) -> None:
        """A ConfigError unless this is an initialised campaign directory."""
        if not self.state_path.is_file() or not self.spec_path.is_file():
            raise ConfigError(f"{self.path}: not a campaign directory (no campaign.yaml and state.json; "
                              "run 'arbkit campaign init' first)")

    # -- state ----------------------------------------------------------------------------------------
    def read_state(self) -> dict[str, Any]:
        state = read_json(self.state_path, "state")
        if not isinstance(state, dict) or state.get("state") not in STATES:
            raise ConfigError(f"{self.state_path}: state must be one of {', '.join(STATES)}")
        return state

    def write_state(self, state: dict[str, Any]) -> None:
        write_json(self.state_path, state)

    # -- history (append-only) ----------------------------------------------------------------------------
    def read_history(self) -> list[dict[str, Any]]:
        if not self.history_path.exists():
            return []
        data = read_json(self.history_path, "history")
        if not isinstance(data, list):
            raise ConfigError(f"{self.history_path}: expected a JSON list of runs")
        return data

    def append_history(self, entry: dict[str, Any]) -> bool:
        """Add ``entry`` unless its run id is already there (a resumed step); True when added."""
        history = self.read_history()
        if any(h.get("run_id") == entry["run_id"] for h in history):
            return False
        write_json(self.history_path, history + [entry])
        return True

    # -- runs -----------------------------------------------------------------------------------------------
    def write_run_yaml(self, run_id: str, config: dict[str, Any]) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_yaml(run_id), yaml.safe_dump(_clean(config), sort_keys=False))

    def write_text(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)

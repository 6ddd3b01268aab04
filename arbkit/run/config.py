"""A single run's settings (``run.yaml``): strategy, parameters, fill, latency, seed, window.

The same keys as the hydra config groups, so a run found by a sweep can be written out
and replayed with ``arbkit replay REC --config run.yaml``.

    strategy: touch_mm          # registry name or "package.module:factory"
    strategy_options: {interval_ms: 100}
    params: {asset: 1, half_spread_bps: 0.5}
    fill: {queue: power, queue_power: 2}
    latency: {entry: 1000000, response: 1000000}
    seed: 7
    equity_interval_ms: 1000
    start_ns: null
    end_ns: null
    allow_crossed: false        # replay books that end a message crossed (counted) instead of stopping
    clock_end_ns: null          # timers ran on to here after the last event (paper runs write it)
    allow_short: null           # null: perpetuals/futures may go short, spot and outcome tokens not; or true/false
    mark: mid                   # what equity / unrealised PnL mark positions at: mid | mark_price
    rewards: {rate: 0.5, max_spread: 0.03, min_size: 20}   # liquidity rewards of outcome markets (off: absent)

Provenance (ignored by the replay): ``run_id``, ``hypothesis`` (the claim the run tests),
``parent_run`` (the run it was derived from) and ``changes_from_parent`` (a mapping of what
changed, ``{key: {from, to, reason}}``), written by campaigns; ``origin`` (the sweep id, rank,
job id and fills_hash of the candidate it came from), written by ``arbkit apply-candidate``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from arbkit.core.errors import ConfigError
from arbkit.core.yaml_file import read_yaml_mapping
from arbkit.engine.config import Rewards, check_mark
from arbkit.run.replay import replay
from arbkit.run.result import RunResult
from arbkit.strategies import get_strategy

KEYS = ("strategy", "strategy_options", "params", "fill", "latency", "schedule", "guards", "seed", "equity_interval_ms",
        "chunk_rows", "start_ns", "end_ns", "allow_crossed", "clock_end_ns", "mark", "allow_short", "rewards")
#: provenance keys: who the run is and where it came from (campaigns and apply-candidate write them; replays ignore them)
PROVENANCE_KEYS = ("run_id", "hypothesis", "parent_run", "changes_from_parent", "origin")


@dataclass
class RunConfig:
    """One run's settings, the keys of ``run.yaml``."""
    strategy: str
    strategy_options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    fill: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] | None = None
    guards: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    equity_interval_ms: float = 1000.0
    chunk_rows: int = 1 << 16
    start_ns: int | None = None
    end_ns: int | None = None
    allow_crossed: bool = False
    clock_end_ns: int | None = None
    allow_short: bool | None = None
    mark: str = "mid"
    rewards: dict[str, Any] | None = None
    run_id: str | None = None
    hypothesis: str | None = None
    parent_run: str | None = None
    changes_from_parent: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, Any] | None = None  # the sweep and candidate it came from (arbkit apply-candidate)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "config") -> "RunConfig":
        """A RunConfig from a mapping; a ConfigError naming ``where``."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where}: expected a mapping of {', '.join(KEYS)}")
        unknown = sorted(set(d) - set(KEYS) - set(PROVENANCE_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(KEYS + PROVENANCE_KEYS)}")
        for key in ("run_id", "hypothesis", "parent_run"):
            if d.get(key) is not None and not isinstance(d[key], str):
                raise ConfigError(f"{where}: {key} must be a string, got {d[key]!r}")
        if "strategy" not in d:
            raise ConfigError(f"{where}: 'strategy' is required")
        for key in ("strategy_options", "params", "fill", "latency", "guards", "changes_from_parent", "origin", "rewards"):
            if d.get(key) is not None and not isinstance(d[key], Mapping):
                raise ConfigError(f"{where}: {key} must be a mapping, got {d[key]!r}")
        seed = d.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"{where}: seed must be an integer, got {seed!r}")
        if not isinstance(d.get("allow_crossed", False), bool):
            raise ConfigError(f"{where}: allow_crossed must be true or false, got {d['allow_crossed']!r}")
        if d.get("allow_short") is not None and not isinstance(d["allow_short"], bool):
            raise ConfigError(f"{where}: allow_short must be true, false or null, got {d['allow_short']!r}")
        try:
            check_mark(d.get("mark", "mid"))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            Rewards.from_dict(d.get("rewards"))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        clock_end = d.get("clock_end_ns")
        if clock_end is not None and (not isinstance(clock_end, int) or isinstance(clock_end, bool)):
            raise ConfigError(f"{where}: clock_end_ns must be an integer (ns), got {clock_end!r}")
        return cls(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in d.items() if v is not None})

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        """A RunConfig from a YAML file."""
        return cls.from_dict(read_yaml(path), where=str(path))

    def replay(self, recording: Any, *, seed: int | None = None, trace: tuple[int, int] | None = None,
               allow_bad_rows: bool = False, verify: bool = False, allow_crossed: bool | None = None) -> RunResult:
        """Run this configuration on ``recording`` (path or Recording); see :func:`arbkit.run.replay.replay`."""
        strat = get_strategy(self.strategy, **self.strategy_options)
        return replay(recording, strat, self.params, fill=self.fill, latency=self.latency,
                      seed=self.seed if seed is None else seed, schedule=self.schedule, guards=self.guards,
                      chunk_rows=self.chunk_rows, equity_interval_ms=self.equity_interval_ms,
                      start=self.start_ns, end=self.end_ns, trace=trace, allow_bad_rows=allow_bad_rows, verify=verify,
                      allow_crossed=self.allow_crossed if allow_crossed is None else allow_crossed,
                      clock_end=self.clock_end_ns, mark=self.mark, allow_short=self.allow_short,
                      rewards=self.rewards)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A run config file as a plain mapping; a ConfigError naming the file when it cannot be read."""
    return read_yaml_mapping(path, "run config", f"a mapping of {', '.join(KEYS)}")

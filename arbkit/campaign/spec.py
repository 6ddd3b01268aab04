"""``campaign.yaml``: the hypotheses in order, the duration ladder, bounds, adjustment and budget, checked key by key.

Every mistake is one :class:`~arbkit.core.errors.ConfigError` line naming the file and the
key (``campaign.yaml: hypotheses[1].checks[0]: ...``). The schema is documented in
docs/campaigns.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.campaign.rules import Rule
from arbkit.core.errors import ConfigError
from arbkit.core.yaml_file import read_yaml_mapping
from arbkit.kpi.campaign import LIVE_KPIS, MARKET_BASELINE_KPIS
from arbkit.kpi.gates import Threshold
from arbkit.run.config import KEYS as RUN_KEYS
from arbkit.run.config import RunConfig
from arbkit.strategies import get_strategy

TOP_KEYS = ("name", "source", "base", "durations_s", "hypotheses", "bounds", "adjuster", "budget", "inventory_limit",
            "optuna_seed", "pause_after")
PAUSE_AFTER = ("run", "hypothesis")
HYPOTHESIS_KEYS = ("name", "claim", "checks", "inconclusive_if", "max_retries", "adjust")
SOURCE_KEYS = {"offline": ("kind", "recording", "start_ns"),
               "live": ("kind", "venues", "flush_s", "checkpoint_s", "supervise", "ops_sample_s")}
BUDGET_KEYS = ("runs", "wall_s")
ADJUSTERS = ("rules", "optuna")
SECTIONS = ("params", "fill", "latency", "guards", "strategy_options")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Hypothesis:
    """One claim a run tests: PASS when every check holds, INCONCLUSIVE when any ``inconclusive_if`` holds."""
    name: str
    claim: str
    checks: tuple[Threshold, ...]
    inconclusive_if: tuple[Threshold, ...]
    max_retries: int
    adjust: tuple[Rule, ...]


@dataclass(frozen=True)
class Budget:
    """What a campaign may spend: runs and wall-clock seconds (None: no limit)."""
    runs: int | None = None
    wall_s: float | None = None


@dataclass(frozen=True)
class CampaignSpec:
    """A checked ``campaign.yaml``; ``bounds`` keys are paths ``section.name`` into the run config."""
    name: str
    source: Mapping[str, Any]
    base: Mapping[str, Any]
    durations_s: tuple[float, ...]
    hypotheses: tuple[Hypothesis, ...]
    bounds: Mapping[str, tuple[float, float]]
    adjuster: str = "rules"
    budget: Budget = field(default_factory=Budget)
    inventory_limit: float | None = None
    optuna_seed: int = 0
    pause_after: str | None = None

    @property
    def source_kind(self) -> str:
        return str(self.source.get("kind", "offline"))

    @classmethod
    def load(cls, path: str | Path) -> "CampaignSpec":
        """The spec in a YAML file (a ConfigError naming file and key on any mistake)."""
        data = read_yaml_mapping(path, "campaign", "a mapping of " + ", ".join(TOP_KEYS))
        return cls.from_dict(data, where=str(path), root=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "campaign.yaml", root: Path | None = None) -> "CampaignSpec":
        """The spec from a mapping; relative recording paths resolve against ``root``."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where}: expected a mapping of {', '.join(TOP_KEYS)}")
        _only(d, TOP_KEYS, where)
        for key in ("name", "source", "base", "durations_s", "hypotheses"):
            if key not in d:
                raise ConfigError(f"{where}: {key} is required")
        name = d["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: name must be 1-64 letters, digits, '_' or '-' (it starts every run id), "
                              f"got {name!r}")
        source = _source(d["source"], f"{where}: source", root)
        base = _base(d["base"], f"{where}: base")
        durations = _durations(d["durations_s"], f"{where}: durations_s")
        defaults = _strategy_defaults(base, f"{where}: base.strategy")
        bounds = _bounds(d.get("bounds") or {}, base, defaults, f"{where}: bounds")
        hyps = _hypotheses(d["hypotheses"], bounds, base, defaults, f"{where}: hypotheses")
        _measurable(hyps, source["kind"], base, f"{where}: hypotheses")
        adjuster = d.get("adjuster", "rules")
        if adjuster not in ADJUSTERS:
            raise ConfigError(f"{where}: adjuster must be one of {list(ADJUSTERS)}, got {adjuster!r}")
        if adjuster == "optuna" and not bounds:
            raise ConfigError(f"{where}: adjuster optuna needs bounds (the space it searches)")
        budget = _budget(d.get("budget") or {}, f"{where}: budget")
        limit = d.get("inventory_limit")
        if limit is not None and (not _number(limit) or limit < 0):
            raise ConfigError(f"{where}: inventory_limit must be a number >= 0, got {limit!r}")
        seed = d.get("optuna_seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"{where}: optuna_seed must be an integer, got {seed!r}")
        pause_after = d.get("pause_after")
        if pause_after is not None and pause_after not in PAUSE_AFTER:
            raise ConfigError(f"{where}: pause_after must be one of {list(PAUSE_AFTER)} (or left out), got {pause_after!r}")
        return cls(name=name, source=source, base=base, durations_s=durations, hypotheses=hyps, bounds=bounds,
                   adjuster=adjuster, budget=budget, inventory_limit=None if limit is None else float(limit),
                   optuna_seed=seed, pause_after=pause_after)

    def base_value(self, path: str) -> float:
        """The base run's value at ``section.name`` (the strategy's default when the base does not set it)."""
        section, key = path.split(".", 1)
        given = (self.base.get(section) or {}).get(key)
        if given is not None:
            return float(given)
        return float(_strategy_defaults(self.base, "base.strategy")[key])


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _only(d: Mapping[str, Any], keys: Sequence[str], where: str) -> None:
    unknown = sorted(set(d) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(keys)}")


def _source(s: Any, where: str, root: Path | None) -> dict[str, Any]:
    if not isinstance(s, Mapping):
        raise ConfigError(f"{where}: expected a mapping with kind: offline | live")
    kind = s.get("kind", "offline")
    if kind not in SOURCE_KEYS:
        raise ConfigError(f"{where}.kind must be one of {list(SOURCE_KEYS)}, got {kind!r}")
    _only(s, SOURCE_KEYS[kind], where)
    out = dict(s)
    out["kind"] = kind
    if kind == "offline":
        rec = s.get("recording")
        if not isinstance(rec, str) or not rec:
            raise ConfigError(f"{where}.recording: the recording's path is required (offline source)")
        p = Path(rec)
        if not p.is_absolute() and root is not None:
            p = root / p
        if not (p / "manifest.json").is_file():
            raise ConfigError(f"{where}.recording: {rec!r} is not a recording (no manifest.json at {p})")
        out["recording"] = str(p.resolve())
        start = s.get("start_ns")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            raise ConfigError(f"{where}.start_ns must be an integer (ns), got {start!r}")
    else:
        venues = s.get("venues")
        if not isinstance(venues, Sequence) or isinstance(venues, str) or not venues:
            raise ConfigError(f"{where}.venues: a non-empty list of {{venue, symbols, endpoint?, rest?}} is required "
                              "(live source)")
        for i, v in enumerate(venues):
            if not isinstance(v, Mapping) or "venue" not in v or "symbols" not in v:
                raise ConfigError(f"{where}.venues[{i}]: needs 'venue' and 'symbols'")
        for key in ("flush_s", "checkpoint_s", "ops_sample_s"):
            if key in s and (not _number(s[key]) or s[key] <= 0):
                raise ConfigError(f"{where}.{key} must be a number of seconds > 0, got {s[key]!r}")
        if "supervise" in s and (not isinstance(s["supervise"], int) or isinstance(s["supervise"], bool)
                                 or s["supervise"] < 0):
            raise ConfigError(f"{where}.supervise must be an integer >= 0 (restarts after a crash), got {s['supervise']!r}")
    return out


def _base(b: Any, where: str) -> dict[str, Any]:
    if not isinstance(b, Mapping):
        raise ConfigError(f"{where}: expected a run config mapping ({', '.join(RUN_KEYS)})")
    for key in ("start_ns", "end_ns", "clock_end_ns"):
        if key in b:
            raise ConfigError(f"{where}.{key}: set by the campaign (the run's window), not in base")
    RunConfig.from_dict(b, where=where)
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in b.items()}


def _strategy_defaults(base: Mapping[str, Any], where: str) -> dict[str, float]:
    try:
        strat = get_strategy(base["strategy"], **(base.get("strategy_options") or {}))
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return {k: float(v) for k, v in strat.params.items()}


def _durations(v: Any, where: str) -> tuple[float, ...]:
    if not isinstance(v, Sequence) or isinstance(v, str) or not v:
        raise ConfigError(f"{where}: a non-empty list of run lengths in seconds (the ladder), got {v!r}")
    out = []
    for i, x in enumerate(v):
        if not _number(x) or x <= 0:
            raise ConfigError(f"{where}[{i}]: a run length must be a number of seconds > 0, got {x!r}")
        if out and x <= out[-1]:
            raise ConfigError(f"{where}[{i}]: the ladder must grow ({x!r} after {out[-1]!r})")
        out.append(float(x))
    return tuple(out)


def resolve_path(name: str, base: Mapping[str, Any], defaults: Mapping[str, float], where: str) -> str:
    """``section.name`` for a parameter named bare (``half_spread_bps``: params, or fill when the base's fill sets
    it) or with its section (``fill.fill_probability``)."""
    if "." in name:
        section, key = name.split(".", 1)
        if section not in SECTIONS or not key:
            raise ConfigError(f"{where}: {name!r}: the section must be one of {list(SECTIONS)}")
        if section == "params" and key not in defaults:
            raise ConfigError(f"{where}: {name!r}: {base['strategy']} has no parameter {key!r}; "
                              f"known: {', '.join(defaults)}")
        if section != "params" and key not in (base.get(section) or {}):
            raise ConfigError(f"{where}: {name!r}: base.{section} does not set {key!r} (set its starting value there)")
        return name
    if name in (base.get("fill") or {}):
        return f"fill.{name}"
    if name in defaults:
        return f"params.{name}"
    raise ConfigError(f"{where}: {name!r} is neither a parameter of {base['strategy']} ({', '.join(defaults)}) "
                      "nor a key base.fill sets")


def _bounds(b: Any, base: Mapping[str, Any], defaults: Mapping[str, float], where: str) -> dict[str, tuple[float, float]]:
    if not isinstance(b, Mapping):
        raise ConfigError(f"{where}: expected a mapping name: [low, high]")
    out: dict[str, tuple[float, float]] = {}
    for name, pair in b.items():
        w = f"{where}.{name}"
        path = resolve_path(str(name), base, defaults, w)
        if (not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2
                or not all(_number(x) for x in pair)):
            raise ConfigError(f"{w}: expected [low, high] (finite numbers), got {pair!r}")
        lo, hi = float(pair[0]), float(pair[1])
        if lo > hi:
            raise ConfigError(f"{w}: low {lo:g} is above high {hi:g}")
        if path in out:
            raise ConfigError(f"{w}: {path} is bounded twice")
        section, key = path.split(".", 1)
        given = (base.get(section) or {}).get(key, defaults.get(key) if section == "params" else None)
        if given is not None and not (lo <= float(given) <= hi):
            raise ConfigError(f"{w}: the base value {float(given):g} is outside [{lo:g}, {hi:g}]")
        out[path] = (lo, hi)
    return out


def _thresholds(v: Any, where: str, required: bool) -> tuple[Threshold, ...]:
    if v is None and not required:
        return ()
    if not isinstance(v, Sequence) or isinstance(v, str) or (required and not v):
        raise ConfigError(f"{where}: expected a {'non-empty ' if required else ''}list of '<kpi> <op> <number>'")
    return tuple(Threshold.parse(t, f"{where}[{i}]") for i, t in enumerate(v))


def _hypotheses(v: Any, bounds: Mapping[str, tuple[float, float]], base: Mapping[str, Any],
                defaults: Mapping[str, float], where: str) -> tuple[Hypothesis, ...]:
    if not isinstance(v, Sequence) or isinstance(v, str) or not v:
        raise ConfigError(f"{where}: a non-empty list of hypotheses")
    out: list[Hypothesis] = []
    for i, h in enumerate(v):
        w = f"{where}[{i}]"
        if not isinstance(h, Mapping):
            raise ConfigError(f"{w}: expected a mapping of {', '.join(HYPOTHESIS_KEYS)}")
        _only(h, HYPOTHESIS_KEYS, w)
        name = h.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{w}.name: 1-64 letters, digits, '_' or '-', got {name!r}")
        if any(x.name == name for x in out):
            raise ConfigError(f"{w}.name: {name!r} is used twice")
        retries = h.get("max_retries", 2)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ConfigError(f"{w}.max_retries: an integer >= 0, got {retries!r}")
        rules_in = h.get("adjust") or []
        if not isinstance(rules_in, Sequence) or isinstance(rules_in, str):
            raise ConfigError(f"{w}.adjust: a list of rules such as 'half_spread_bps + 5'")
        rules = []
        for j, text in enumerate(rules_in):
            rule = Rule.parse(text, f"{w}.adjust[{j}]")
            path = resolve_path(rule.name, base, defaults, f"{w}.adjust[{j}]")
            if path not in bounds:
                raise ConfigError(f"{w}.adjust[{j}]: {rule.name!r} has no bounds (add it under bounds: [low, high])")
            rules.append(rule.at(path))
        claim = h.get("claim", name)
        if not isinstance(claim, str):
            raise ConfigError(f"{w}.claim: a sentence, got {claim!r}")
        out.append(Hypothesis(name=name, claim=claim, checks=_thresholds(h.get("checks"), f"{w}.checks", True),
                              inconclusive_if=_thresholds(h.get("inconclusive_if"), f"{w}.inconclusive_if", False),
                              max_retries=retries, adjust=tuple(rules)))
    return tuple(out)


def _measurable(hyps: Sequence[Hypothesis], kind: str, base: Mapping[str, Any], where: str) -> None:
    """Checks only on KPIs the runs will have: an offline run is a replay, without a wall clock (no latency or
    memory KPIs); the market baseline needs a strategy that quotes several markets (``single_market_params``)."""
    strategy = get_strategy(base["strategy"], **(base.get("strategy_options") or {}))
    for i, h in enumerate(hyps):
        for part, ths in (("checks", h.checks), ("inconclusive_if", h.inconclusive_if)):
            for j, th in enumerate(ths):
                if th.kpi.split(".")[0] in MARKET_BASELINE_KPIS and strategy.single_market_params is None:
                    raise ConfigError(f"{where}[{i}].{part}[{j}]: {th.kpi} compares the markets of a multi-market "
                                      f"run with each alone; {base['strategy']} quotes one market (use pm_mm)")
                if th.kpi in LIVE_KPIS and kind != "live":
                    raise ConfigError(f"{where}[{i}].{part}[{j}]: {th.kpi} is measured on the wall clock of a live "
                                      f"(paper) run; this campaign's source is {kind} (a replay has none)")


def _budget(b: Any, where: str) -> Budget:
    if not isinstance(b, Mapping):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(BUDGET_KEYS)}")
    _only(b, BUDGET_KEYS, where)
    runs, wall = b.get("runs"), b.get("wall_s")
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        raise ConfigError(f"{where}.runs: an integer >= 1, got {runs!r}")
    if wall is not None and (not _number(wall) or wall <= 0):
        raise ConfigError(f"{where}.wall_s: a number of seconds > 0, got {wall!r}")
    return Budget(runs=runs, wall_s=None if wall is None else float(wall))

"""Adjustment rules: a tiny grammar ``<name> <op> <number>`` (op ``+ - * / =``), applied and clipped to bounds.

``half_spread_bps + 5`` adds 5, ``fill_probability * 0.5`` halves, ``kappa = 0.8`` sets. The
text is matched by one regular expression; nothing is evaluated.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, replace
from typing import Mapping

from arbkit.core.errors import ConfigError

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "=": lambda _old, x: x}
_RULE = re.compile(r"^\s*([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)\s*([-+*/=])\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Rule:
    """One adjustment: ``name op value``; ``path`` is the ``section.name`` it acts on once resolved."""
    name: str
    op: str
    value: float
    path: str = ""

    @classmethod
    def parse(cls, text: object, where: str) -> "Rule":
        """A rule from text such as ``half_spread_bps + 5``; a ConfigError naming ``where`` otherwise."""
        m = _RULE.match(text) if isinstance(text, str) else None
        if not m:
            raise ConfigError(f"{where}: {text!r} is not '<parameter> <op> <number>' (op: + - * / =)")
        value = float(m.group(3))
        if m.group(2) == "/" and value == 0:
            raise ConfigError(f"{where}: {text!r} divides by zero")
        return cls(m.group(1), m.group(2), value)

    def at(self, path: str) -> "Rule":
        """The same rule resolved to ``section.name``."""
        return replace(self, path=path)

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value:g}"


def clip(value: float, bounds: tuple[float, float]) -> float:
    """``value`` inside ``[low, high]`` (NaN goes to low)."""
    lo, hi = bounds
    if not math.isfinite(value):
        return hi if value == math.inf else lo
    return min(max(value, lo), hi)


def apply_rules(rules: tuple[Rule, ...], values: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
                ) -> tuple[dict[str, float], dict[str, dict[str, object]]]:
    """New values after the rules (in order, each clipped to its bounds) and the changes, each with its reason."""
    new = dict(values)
    changes: dict[str, dict[str, object]] = {}
    for rule in rules:
        old = new[rule.path]
        raw = float(_OPS[rule.op](old, rule.value))
        val = clip(raw, bounds[rule.path])
        reason = f"rule '{rule}'"
        if val != raw:
            lo, hi = bounds[rule.path]
            reason += f", clipped to {'high' if val == hi else 'low'} bound {val:g}"
        if val != old:
            first = changes.get(rule.path, {}).get("from", old)
            why = (str(changes[rule.path]["reason"]) + "; " if rule.path in changes else "") + reason
            changes[rule.path] = {"from": first, "to": val, "reason": why}
        new[rule.path] = val
    return new, {k: v for k, v in changes.items() if v["from"] != v["to"]}

"""Gates: named sets of KPI thresholds that turn a KPI block into PASS/FAIL with reasons.

A threshold is ``"<kpi> <op> <number>"`` with op one of ``>= > <= < == !=``. ``<kpi>`` is a
KPI name, a dotted path into the block (``exit_reasons.tp.pct``), or ``<reason>_exit_pct``
for the share of round trips that ended for that reason (0 when none did).
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne}
_RULE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")
CONF_DIR = conf_path("gates")


@dataclass(frozen=True)
class Threshold:
    """One gate condition: ``kpi op value``."""
    kpi: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str, where: str) -> "Threshold":
        """A threshold from text such as ``win_rate_pct > 0``."""
        m = _RULE.match(text) if isinstance(text, str) else None
        if not m:
            raise ConfigError(f"{where}: {text!r} is not '<kpi> <op> <number>' (op: {' '.join(OPS)})")
        return cls(m.group(1), m.group(2), float(m.group(3)))

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.value:g}"


def kpi_value(block: Mapping[str, Any], name: str) -> float | None:
    """The number ``name`` refers to in a KPI block, or None when it has none."""
    if name.endswith("_exit_pct") and name not in block:
        reason = name[: -len("_exit_pct")]
        reasons = block.get("exit_reasons", {})
        return float(reasons.get(reason, {}).get("pct", 0.0)) if block.get("round_trips", 0) else None
    node: Any = block
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return float(node)


@dataclass(frozen=True)
class Gate:
    """A named list of thresholds a run must meet."""
    name: str
    thresholds: tuple[Threshold, ...]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "gate") -> "Gate":
        """A gate from ``{name, thresholds}``."""
        if not isinstance(d, Mapping) or set(d) - {"name", "thresholds"} or "thresholds" not in d:
            raise ConfigError(f"{where}: expected {{name, thresholds: [...]}}")
        rules = d["thresholds"]
        if not isinstance(rules, Sequence) or isinstance(rules, str) or not rules:
            raise ConfigError(f"{where}: thresholds must be a non-empty list")
        return cls(str(d.get("name", where)), tuple(Threshold.parse(r, f"{where}.thresholds[{i}]")
                                                     for i, r in enumerate(rules)))

    @classmethod
    def load(cls, name_or_path: str | Path) -> "Gate":
        """A gate from ``arbkit/conf/gates/<name>.yaml`` or from a YAML file path."""
        import yaml

        p = Path(name_or_path)
        if not p.suffix:
            p = CONF_DIR / f"{name_or_path}.yaml"
        if not p.is_file():
            known = sorted(x.stem for x in CONF_DIR.glob("*.yaml"))
            raise ConfigError(f"gate {name_or_path!r}: no such file {p} (known gates: {known})")
        try:
            data = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: cannot read gate ({exc})") from None
        return cls.from_dict(data, where=str(p))

    def evaluate(self, block: Mapping[str, Any]) -> dict[str, Any]:
        """PASS/FAIL per threshold and overall, each with the value seen and the reason."""
        results = []
        for th in self.thresholds:
            v = kpi_value(block, th.kpi)
            if v is None or math.isnan(v):
                ok, why = False, f"{th.kpi} is not available in this run"
            else:
                ok = bool(OPS[th.op](v, th.value))
                why = f"{th.kpi} = {v:.6g} {'meets' if ok else 'fails'} {th.op} {th.value:g}"
            results.append({"threshold": str(th), "value": v, "passed": ok, "reason": why})
        passed = all(r["passed"] for r in results)
        failed = [r["reason"] for r in results if not r["passed"]]
        return {"gate": self.name, "passed": passed, "verdict": "PASS" if passed else "FAIL",
                "reason": "all thresholds met" if passed else "; ".join(failed), "thresholds": results}

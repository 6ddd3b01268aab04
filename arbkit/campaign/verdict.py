"""A run's verdict on its hypothesis: INCONCLUSIVE when an ``inconclusive_if`` rule holds, else PASS or FAIL.

INCONCLUSIVE is judged first: a run too short (too few fills, too few hours) says nothing
about the claim, whatever its checks would give. A KPI the run does not have fails its check
(as in gates), except a live wall-clock KPI (``LIVE_KPIS``) the run did not measure (no order
sent, fewer than two memory samples): the run says nothing about it, so it is INCONCLUSIVE.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from arbkit.campaign.spec import Hypothesis
from arbkit.kpi.campaign import LIVE_KPIS
from arbkit.kpi.gates import OPS, Threshold, kpi_value

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")


def _holds(th: Threshold, kpis: Mapping[str, Any]) -> tuple[bool | None, str]:
    v = kpi_value(kpis, th.kpi)
    if v is None or math.isnan(v):
        return None, f"{th.kpi} is not available in this run"
    ok = bool(OPS[th.op](v, th.value))
    return ok, f"{th.kpi} = {v:.6g} {'meets' if ok else 'fails'} {th.op} {th.value:g}"


def judge(hypothesis: Hypothesis, kpis: Mapping[str, Any]) -> dict[str, Any]:
    """``{verdict, reasons, checks}``: every check with its value and whether it held."""
    for th in hypothesis.inconclusive_if:
        held, _ = _holds(th, kpis)
        if held:
            return {"verdict": "INCONCLUSIVE", "reasons": [f"{th} holds ({th.kpi} = {kpi_value(kpis, th.kpi):.6g})"],
                    "checks": []}
    for th in hypothesis.checks:
        if th.kpi in LIVE_KPIS and kpi_value(kpis, th.kpi) is None:
            return {"verdict": "INCONCLUSIVE", "checks": [],
                    "reasons": [f"{th.kpi} was not measured in this run (a live KPI: no quotes sent or fewer than "
                                "two memory samples); a longer run measures it"]}
    checks = []
    for th in hypothesis.checks:
        held, why = _holds(th, kpis)
        checks.append({"check": str(th), "value": kpi_value(kpis, th.kpi), "passed": bool(held), "reason": why})
    failed = [c["reason"] for c in checks if not c["passed"]]
    if failed:
        return {"verdict": "FAIL", "reasons": failed, "checks": checks}
    return {"verdict": "PASS", "reasons": [c["reason"] for c in checks], "checks": checks}


def score(verdict: Mapping[str, Any]) -> float:
    """What the Optuna adjuster maximises: the share of checks met (0 for INCONCLUSIVE)."""
    checks = verdict.get("checks") or []
    return sum(c["passed"] for c in checks) / len(checks) if checks else 0.0

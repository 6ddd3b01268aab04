"""Small campaign specs on the bundled recording for the campaign tests (seconds, not minutes)."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from helpers.paths import BUNDLED, ROOT

EXAMPLE = ROOT / "examples" / "campaign_mm" / "campaign.yaml"

#: two hypotheses, short windows: FAIL -> adjusted retry, then a PASS or INCONCLUSIVE; 3-5 runs
SMALL: dict[str, Any] = {
    "name": "small",
    "source": {"kind": "offline", "recording": str(BUNDLED)},
    "base": {"strategy": "mm", "strategy_options": {"quote_interval_ms": 200},
             "params": {"asset": 1, "mode": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05},
             "fill": {"fill_probability": 1.0}, "latency": {"entry": 1000000, "response": 1000000}, "seed": 3},
    "durations_s": [5, 10],
    "hypotheses": [
        {"name": "fills_few", "checks": ["fill_rate_pct <= 30"], "max_retries": 2, "adjust": ["fill_probability * 0.25"]},
        {"name": "held", "checks": ["inventory_within_limit_pct >= 50"], "inconclusive_if": ["fills < 5"],
         "max_retries": 1, "adjust": ["half_spread_bps + 1"]},
    ],
    "bounds": {"fill_probability": [0.05, 1.0], "half_spread_bps": [0.25, 3.0]},
    "budget": {"runs": 10},
}


def small(**changes: Any) -> dict[str, Any]:
    """A copy of SMALL with top-level keys replaced."""
    spec = copy.deepcopy(SMALL)
    spec.update(changes)
    return spec


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "campaign.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return path / "campaign.yaml"


def summary(history: list[dict[str, Any]]) -> list[tuple]:
    """What must match between an interrupted and an uninterrupted campaign: each run's id, hypothesis,
    verdict, fills_hash, values and decision."""
    return [(h["run_id"], h["hypothesis"], h["verdict"], h["fills_hash"], tuple(sorted(h["values"].items())),
             h["decision"]["action"]) for h in history]

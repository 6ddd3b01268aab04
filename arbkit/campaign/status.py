"""What a campaign is doing: its state, current hypothesis and run history (``arbkit campaign status``, the dashboard)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from arbkit.campaign.spec import CampaignSpec
from arbkit.campaign.store import CampaignDir


def status_of(path: str | Path) -> dict[str, Any]:
    """The campaign's state, hypotheses (with the current one), PAUSE and its history."""
    d = CampaignDir(path)
    d.require()
    spec = CampaignSpec.load(d.spec_path)
    s = d.read_state()
    i = min(int(s["hypothesis"]), len(spec.hypotheses) - 1)
    history = d.read_history()
    return {"campaign": spec.name, "state": s["state"], "outcome": s.get("outcome"), "reason": s.get("reason"),
            "pause_requested": d.pause_path.exists(), "hypothesis": spec.hypotheses[i].name,
            "claim": spec.hypotheses[i].claim, "hypotheses": [h.name for h in spec.hypotheses],
            "retries": s["retries"], "duration_s": spec.durations_s[int(s["rung"])], "values": s["values"],
            "current_run": (s.get("current") or {}).get("run_id"), "runs": len(history),
            "budget": {"runs": spec.budget.runs, "wall_s": spec.budget.wall_s}, "history": history}


def status_lines(data: dict[str, Any]) -> list[str]:
    """The status as text lines: a header and one line per run."""
    head = f"campaign {data['campaign']}: {data['state']}"
    if data["state"] == "DONE":
        head += f" ({data['outcome']}: {data['reason']})"
    else:
        head += f"; hypothesis {data['hypothesis']} (retries {data['retries']}, next run {data['duration_s']:g} s)"
    if data["pause_requested"]:
        head += "; PAUSE requested"
    lines = [head, f"runs {data['runs']}" + (f" of {data['budget']['runs']}" if data["budget"]["runs"] else "")]
    for h in data["history"]:
        fr = h.get("fill_rate_pct")
        lines.append(f"  {h['run_id']}  {h['hypothesis']:<24} {h['verdict']:<12} fills {h.get('fills')}  "
                     f"fill_rate {'n/a' if fr is None else f'{fr:.1f}%'}  -> {h['decision']['action']}")
    return lines

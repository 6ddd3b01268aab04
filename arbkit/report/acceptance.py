"""The long-run acceptance report of a paper run (``arbkit acceptance RUN_DIR --criteria paper_12h``).

Read from the run directory alone, with no replay: ``run.yaml`` (the config), ``paper_result.json``
(the final KPIs, guard figures, instruments), ``checkpoints.jsonl`` (the KPIs the run recorded as
its clock passed 5 min, 10 min, 30 min and every hour), ``ops.jsonl`` (each process segment's
start, its samples of CPU, memory and latency histograms, its end), ``paper.log`` (WARNING and
worse log records) and ``supervisor.jsonl`` (exit codes). The criteria file
(``arbkit/conf/acceptance/<name>.yaml`` or a path) lists thresholds over the final KPIs and the
operations KPIs (``arbkit.kpi.ops``) and the checkpoints to show; the report says PASS / FAIL
per criterion and overall, with reasons.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError, DataError
from arbkit.core.yaml_file import read_yaml_mapping
from arbkit.kpi.gates import Gate
from arbkit.kpi.ops import GUARD_NAMES, paper_ops_kpis

CRITERIA_DIR = conf_path("acceptance")
_LABEL = re.compile(r"^([MH])(\d+)$")


def checkpoint_seconds(label: str) -> int:
    """``M5`` -> 300, ``H12`` -> 43200."""
    m = _LABEL.match(label)
    if not m:
        raise ConfigError(f"checkpoint {label!r} is not M<minutes> or H<hours> (e.g. M5, M60, H12)")
    return int(m.group(2)) * (60 if m.group(1) == "M" else 3600)


@dataclass(frozen=True)
class Criteria:
    """An acceptance criteria file: thresholds (a gate) and the checkpoints the report shows."""

    name: str
    description: str
    gate: Gate
    checkpoints: tuple[str, ...]
    source: str

    @classmethod
    def load(cls, name_or_path: str | Path) -> "Criteria":
        """Criteria by name (``arbkit/conf/acceptance/<name>.yaml``) or YAML path."""
        p = Path(name_or_path)
        if not p.suffix:
            p = CRITERIA_DIR / f"{name_or_path}.yaml"
            if not p.is_file():
                known = sorted(x.stem for x in CRITERIA_DIR.glob("*.yaml"))
                raise ConfigError(f"acceptance criteria {name_or_path!r}: no such file {p} (known: {known})")
        d = read_yaml_mapping(p, "acceptance criteria", "a mapping with name, thresholds and checkpoints")
        unknown = sorted(set(d) - {"name", "description", "thresholds", "checkpoints"})
        if unknown:
            raise ConfigError(f"{p}: unknown key(s) {unknown}; known: name, description, thresholds, checkpoints")
        gate = Gate.from_dict({"name": d.get("name", p.stem), "thresholds": d.get("thresholds")}, where=str(p))
        cps = d.get("checkpoints") or []
        if not isinstance(cps, list):
            raise ConfigError(f"{p}: checkpoints must be a list such as [M5, M10, H1]")
        for c in cps:
            checkpoint_seconds(str(c))
        return cls(gate.name, str(d.get("description", "")), gate, tuple(str(c) for c in cps), str(p))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file (none when it is missing; a torn last line is skipped)."""
    if not path.is_file():
        return []
    out = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                continue  # the line a killed process was writing
            raise DataError("not a JSON line", path=path, row=i + 1) from None
        if isinstance(rec, dict):
            out.append(rec)
    return out


@dataclass
class RunRecords:
    """What a paper run directory holds, read once."""

    run_dir: Path
    config: dict[str, Any]
    result: dict[str, Any] | None
    checkpoints: list[dict[str, Any]]
    ops: list[dict[str, Any]]
    log: list[dict[str, Any]]
    supervisor: list[dict[str, Any]]

    @classmethod
    def read(cls, run_dir: str | Path) -> "RunRecords":
        """Read the run directory; a ConfigError when it is not a paper run's."""
        d = Path(run_dir)
        if not (d / "run.yaml").is_file():
            raise ConfigError(f"{d}: not a paper run directory (no run.yaml)")
        config = read_yaml_mapping(d / "run.yaml", "run config")
        result = None
        if (d / "paper_result.json").is_file():
            try:
                result = json.loads((d / "paper_result.json").read_text())
            except json.JSONDecodeError as exc:
                raise DataError(f"not JSON ({exc.msg})", path=d / "paper_result.json") from None
        return cls(d, config, result, _jsonl(d / "checkpoints.jsonl"), _jsonl(d / "ops.jsonl"),
                   _jsonl(d / "paper.log"), _jsonl(d / "supervisor.jsonl"))

    def starts(self) -> list[dict[str, Any]]:
        """Each process segment's start record."""
        return [r for r in self.ops if r.get("kind") == "start"]

    def span_ns(self) -> tuple[int | None, int | None]:
        """First event time and the run's last clock time (engine clock), from the result or the checkpoints."""
        r = self.result or {}
        start = r.get("start_ns") or next((c.get("start_ns") for c in self.checkpoints if c.get("start_ns")), None)
        end = r.get("clock_end_ns") or r.get("end_ns")
        if end is None:
            clocks = [s.get("clock_ns") for s in self.ops if s.get("clock_ns")]
            end = max(clocks) if clocks else None
        return start, end


def acceptance_kpis(rec: RunRecords) -> dict[str, Any]:
    """The block the criteria are judged on: the final total KPIs, guard figures, the live figures and the span."""
    res = rec.result or {}
    block: dict[str, Any] = {**(res.get("kpis") or {}), **(res.get("ops") or {})}
    block.update(paper_ops_kpis(rec.ops, rec.log))
    start, end = rec.span_ns()
    block["run_hours"] = (end - start) / 3.6e12 if start and end else None
    block["finished"] = 1 if rec.result is not None else 0
    return block


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:,.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _ts(ns: int | None) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).isoformat(timespec="seconds") if ns else "—"


def _hours(s: float | None) -> str:
    if s is None:
        return "—"
    h, rem = divmod(float(s), 3600)
    return f"{int(h)} h {int(rem // 60):02d} min {rem % 60:04.1f} s"


def judge(run_dir: str | Path, criteria: str | Path | Criteria) -> dict[str, Any]:
    """The verdict per criterion and overall, with the block it was judged on (no file written)."""
    crit = criteria if isinstance(criteria, Criteria) else Criteria.load(criteria)
    rec = RunRecords.read(run_dir)
    block = acceptance_kpis(rec)
    verdict = crit.gate.evaluate(block)
    return {"records": rec, "criteria": crit, "kpis": block, "verdict": verdict}


def acceptance_report(run_dir: str | Path, criteria: str | Path | Criteria, out: str | Path | None = None
                      ) -> tuple[Path, dict[str, Any]]:
    """Write the markdown acceptance report (default ``RUN_DIR/acceptance_<criteria>.md``); (path, verdict)."""
    j = judge(run_dir, criteria)
    rec: RunRecords = j["records"]
    crit: Criteria = j["criteria"]
    k, v = j["kpis"], j["verdict"]
    res = rec.result or {}
    cfg = rec.config
    starts = rec.starts()
    first = starts[0] if starts else {}
    start_ns, end_ns = rec.span_ns()
    md = [f"# Acceptance report: {crit.name} — **{v['verdict']}**\n",
          f"Run `{rec.run_dir}`; criteria `{crit.source}`" + (f" ({crit.description})" if crit.description else "")
          + ".\n"]
    if v["passed"]:
        md.append("Every criterion is met.\n")
    else:
        md.append("Failed: " + "; ".join(t["reason"] for t in v["thresholds"] if not t["passed"]) + ".\n")
    # -- environment
    md.append("## Environment\n")
    clock = first.get("clock", "live")
    src = first.get("source") or {}
    if clock == "recording":
        wall = k.get("wall_s_total") or 0.0
        span_s = (end_ns - start_ns) / 1e9 if start_ns and end_ns else None
        speed = f", {span_s / wall:,.0f}x real time" if span_s and wall else ""
        clock_text = (f"the recording's (accelerated{speed}): events of `{src.get('recording')}` "
                      f"played {src.get('loops', 1)} time(s), timestamps shifted by one period each time")
    else:
        clock_text = "live (the recorder's receive clock)"
    guards = {g: val for g, val in (cfg.get("guards") or {}).items() if val}
    rows = [
        ("strategy", cfg.get("strategy")), ("parameters", ", ".join(f"{a}={b:g}" if isinstance(b, (int, float)) else
                                                                     f"{a}={b}" for a, b in (cfg.get("params") or {}).items())),
        ("fill / latency", f"{json.dumps(cfg.get('fill') or {})} / {json.dumps(cfg.get('latency') or {})}"),
        ("guards", json.dumps(guards)), ("seed", cfg.get("seed")),
        ("clock", clock_text),
        ("span (engine clock)", f"{_ts(start_ns)} → {_ts(end_ns)} = "
                                f"{_hours((end_ns - start_ns) / 1e9) if start_ns and end_ns else '—'}"),
        ("run time across restarts (wall)", f"{_hours(k.get('wall_s_total'))} in {k.get('segments', 0)} process "
                                            f"segment(s), {k.get('restarts', 0)} restart(s)"),
        ("initial equity", "0 (the run starts flat: no position, no cash; equity is PnL)"
         + (f"; budget {guards['budget']:g}" if "budget" in guards else "")),
        ("finished", "yes (paper_result.json)" if rec.result is not None else "NO: no paper_result.json"),
        ("fills_hash", res.get("fills_hash")),
    ]
    md.append(_table(["", ""], rows))
    insts = res.get("instruments") or []
    if insts:
        md.append("### Instruments\n")
        md.append(_table(["instrument", "type", "tick", "lot", "maker bps", "taker bps"],
                         [(i.get("key"), i.get("contract_type"), i.get("tick_size"), i.get("lot_size"),
                           i.get("maker_fee_bps"), i.get("taker_fee_bps")) for i in insts]))
    # -- counts
    md.append("## Counts\n")
    ratio = k.get("block_ratio_pct") or {}
    md.append(_table(["figure", "value"], [
        ("entry attempts", k.get("entry_attempts")), ("entries", k.get("entries")),
        ("budget cap applied", k.get("cap_applied")),
        ("portfolio budget BLOCK ratio %", ratio.get("budget")),
        ("blocks, all guards", (k.get("guard_blocks") or {}).get("all")),
        ("longest time a guard kept entries at zero", _hours(k.get("max_block_run_s"))),
        ("stuck-guard windows", k.get("stuck_guard_windows")),
        ("kill switch tripped", k.get("kill_switch_tripped")),
        ("ERROR / CRITICAL log records", k.get("log_errors")), ("WARNING log records", k.get("log_warnings")),
        ("abnormal exits", k.get("abnormal_exits")), ("restarts", k.get("restarts")),
        ("round trips", k.get("round_trips")), ("fills", k.get("fills")),
        ("loop latency p50 / p99 ms", f"{_fmt(k.get('loop_latency_ms_p50'))} / {_fmt(k.get('loop_latency_ms_p99'))}"),
        ("quote latency p50 / p99 ms", f"{_fmt(k.get('quote_latency_ms_p50'))} / {_fmt(k.get('quote_latency_ms_p99'))}"
         + (" (not measured: the clock is the recording's)" if clock == "recording" else "")),
        ("CPU %", k.get("cpu_pct")), ("RSS max / last MB", f"{_fmt(k.get('rss_mb_max'))} / {_fmt(k.get('rss_mb_last'))}"),
    ]))
    md.append("### Risk guards\n")
    blocks = k.get("guard_blocks") or {}
    runs = k.get("longest_block_run_s") or {}
    md.append(_table(["guard", "blocks", "blocks / entry attempts %", "longest block run s"],
                     [(g, blocks.get(g), ratio.get(g), runs.get(g)) for g in GUARD_NAMES]))
    # -- checkpoints
    md.append("## Checkpoints\n")
    by_s = {int(c["elapsed_s"]): c for c in rec.checkpoints if "elapsed_s" in c}
    cols = ("total_pnl", "round_trips", "win_rate_pct", "fills", "max_drawdown", "time_in_market_pct")
    rows2 = []
    for label in crit.checkpoints:
        c = by_s.get(checkpoint_seconds(label))
        if c is None:
            rows2.append((label, "not reached", *["—"] * (len(cols) + 1)))
            continue
        t = c.get("kpis") or {}
        rows2.append((label, _ts(c.get("clock_ns")), _ts(c.get("ts_ns")), *(t.get(x) for x in cols)))
    md.append(_table(["checkpoint", "engine time", "wall time recorded", *cols], rows2))
    # -- equity
    md.append("## Equity and drawdown\n")
    pnl_path = [(0, 0.0)] + [(int(c["elapsed_s"]), (c.get("kpis") or {}).get("total_pnl")) for c in
                             sorted(by_s.values(), key=lambda c: c["elapsed_s"])]
    vals = [p for _, p in pnl_path if isinstance(p, (int, float))]
    md.append(_table(["figure", "value"], [
        ("initial equity", 0.0), ("final equity (total PnL)", k.get("total_pnl")),
        ("max drawdown (engine, from the starting equity)", k.get("max_drawdown")),
        ("highest / lowest equity at the start and the checkpoints", f"{_fmt(max(vals) if vals else None)} / "
                                                       f"{_fmt(min(vals) if vals else None)}"),
        ("fees paid", k.get("fees_paid")), ("time in market %", k.get("time_in_market_pct")),
        ("sharpe (no capital base)", k.get("sharpe")),
    ]))
    # -- verdict
    md.append("## Criteria\n")
    md.append(_table(["criterion", "value", "verdict", "reason"],
                     [(t["threshold"], t["value"], "PASS" if t["passed"] else "FAIL", t["reason"])
                      for t in v["thresholds"]]))
    md.append(f"**Overall: {v['verdict']}**" + ("" if v["passed"] else f" — {v['reason']}") + "\n")
    path = Path(out) if out is not None else rec.run_dir / f"acceptance_{crit.name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(md))
    return path, {"verdict": v["verdict"], "passed": v["passed"], "reason": v["reason"],
                  "criteria": v["thresholds"], "kpis": {kk: vv for kk, vv in k.items()}}

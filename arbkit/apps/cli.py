"""The ``arbkit`` command line: convert, info, validate, merge, replay, record, paper, report, dashboard,
validate-candidates, acceptance, sweep-run, apply-candidate, campaign, bench."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from arbkit.convert import FORMATS
from arbkit.core.errors import ArbkitError, ConfigError


def _load_instruments_arg(path: str | None) -> dict[str, dict[str, Any]] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArbkitError(f"{path}: cannot read instrument overrides ({exc})") from None
    return data


def _resolution_arg(values: list[str]) -> dict[str, str]:
    """``--resolution`` values (``WINNER`` for every market, or ``MARKET=WINNER``) as a mapping."""
    out: dict[str, str] = {}
    for v in values:
        market, _, winner = v.rpartition("=")
        if not winner:
            raise ArbkitError(f"--resolution {v!r}: give WINNER or MARKET=WINNER (e.g. Up, or "
                              "sol-updown-15m-1765450800=Down)")
        out[market or "*"] = winner
    return out


def cmd_resolve(args: argparse.Namespace) -> int:
    """``arbkit resolve``: record a binary market's winner (and resolution time) in a recording's manifest."""
    from arbkit.io.resolve import resolve_recording

    keys = resolve_recording(args.recording, args.winner, at=args.at, market=args.market)
    print(f"resolved {', '.join(keys)}: winner {args.winner}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """``arbkit convert``: vendor/venue files to a recording."""
    from arbkit.convert import convert
    from arbkit.core.schema import Instrument
    from arbkit.io.info import info

    options: dict[str, Any] = {}
    inst = _load_instruments_arg(args.instruments)
    if inst is not None:
        Instrument.check_overrides(inst, args.instruments)  # names the entry and the field of a bad key or value
    if inst:
        options["instruments"] = inst
    if args.resolution:
        if args.format != "polymarket":
            raise ArbkitError(f"--resolution applies to --format polymarket (binary markets), not {args.format}")
        options["resolution"] = _resolution_arg(args.resolution)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = convert(args.format, args.sources, args.output, overwrite=args.force, keep_raw=args.keep_raw,
                      venue_meta=args.venue_meta or (), **options)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for key in inst or {}:
        if not any(key in (i.key, i.symbol) for i in rec.instruments):
            print(f"warning: {args.instruments}: override {key!r} matches no instrument of the recording "
                  f"({', '.join(i.key for i in rec.instruments)})", file=sys.stderr)
    summary = info(rec, books=False)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {rec.path}: {summary['events']} events, {len(summary['instruments'])} instruments, "
              f"{summary['span_s']:.1f} s, gaps={summary['gaps']}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """``arbkit info``: a recording's summary."""
    from arbkit.io.info import info

    data = info(args.recording, books=not args.no_books)
    if args.json:
        print(json.dumps(data))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{data['path']}[/]  events={data['events']:,}  span={data['span_s']:.1f}s  "
                  f"gaps={data['gaps']}  parts={data['parts']}  bytes={data['bytes']:,}")
    console.print("by kind: " + ", ".join(f"{k}={v:,}" for k, v in data["by_kind"].items()))
    table = Table("asset", "instrument", "type", "tick", "events", "bid", "bid qty", "ask", "ask qty")
    for e in data["instruments"]:
        top = e.get("final_top") or {}
        table.add_row(str(e["asset"]), f"{e['venue']}:{e['symbol']}", e["contract_type"], f"{e['tick_size']:g}",
                      f"{e.get('events', 0):,}", *(_exact(top.get(k)) for k in ("bid", "bid_qty", "ask", "ask_qty")))
    console.print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``arbkit validate``: check a recording; 1 on errors."""
    from arbkit.io.check import validate

    report = validate(args.recording, check_books=not args.no_books)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        for issue in report.issues:
            print(issue, file=sys.stderr if issue.severity == "error" else sys.stdout)
        extra = {k: v for k, v in report.counts.items() if v > 20}
        if extra:
            print(f"(only the first 20 of each shown; totals: {extra})")
        status = "OK" if report.ok else "FAILED"
        print(f"{status}: {args.recording}: {report.rows_checked} rows checked, {report.error_count} "
              f"error{'' if report.error_count == 1 else 's'}, {report.warning_count} "
              f"warning{'' if report.warning_count == 1 else 's'}")
    return 0 if report.ok else 1


def _exact(x: float | None) -> str:
    """A price or size as recorded (shortest round-trip form, not rounded to 6 digits: 65083.66 stays itself)."""
    return "-" if x is None else repr(float(x)).removesuffix(".0")


def cmd_merge(args: argparse.Namespace) -> int:
    """``arbkit merge``: recordings onto one clock."""
    from arbkit.io.merge import merge_recordings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = merge_recordings(args.recordings, args.output, overwrite=args.force, align_starts=args.align_starts)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"wrote {rec.path}: {rec.n_events} events, instruments {[i.key for i in rec.instruments]}")
    return 0


def parse_time_ns(text: str) -> int:
    """Nanoseconds since the epoch from an integer or an ISO-8601 time (UTC unless it says otherwise)."""
    from datetime import datetime, timezone

    try:
        return int(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArbkitError(f"{text!r} is neither nanoseconds nor an ISO-8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def set_value(key: str, raw: str) -> Any:
    """A ``--set`` value as YAML reads it, except that number-like text is a number (YAML 1.1 reads ``1e30`` as text)."""
    import yaml

    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}={raw}: not a value ({' '.join(str(exc).split())})") from None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _apply_sets(cfg_dict: dict[str, Any], sets: list[str]) -> None:
    """``key=value`` -> params[key]; ``fill.key=value`` / ``latency.key=value`` / ``rewards.key=value`` / ``seed=N``
    into their section."""
    for item in sets:
        if "=" not in item:
            raise ArbkitError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        value = set_value(key, raw)
        section, _, name = key.partition(".")
        if name and section in ("fill", "latency", "params", "strategy_options", "schedule", "guards", "rewards"):
            cfg_dict.setdefault(section, {})
            cfg_dict[section][name] = value
        elif key in ("seed", "equity_interval_ms", "chunk_rows", "start_ns", "end_ns", "allow_crossed", "mark", "allow_short"):
            cfg_dict[key] = value
        else:
            cfg_dict.setdefault("params", {})[key] = value


def cmd_replay(args: argparse.Namespace) -> int:
    """``arbkit replay``: run a strategy over a recording."""
    from arbkit.run.config import RunConfig, read_yaml

    if args.config:
        cfg_dict = read_yaml(args.config)
    else:
        if not args.strategy:
            raise ArbkitError("give --config run.yaml or --strategy NAME")
        cfg_dict = {}
    if args.strategy:
        cfg_dict["strategy"] = args.strategy
    _apply_sets(cfg_dict, args.set or [])
    cfg = RunConfig.from_dict(cfg_dict, where=args.config or "command line")
    trace = None
    if args.trace_from is not None or args.trace_to is not None:
        lo = parse_time_ns(args.trace_from) if args.trace_from is not None else -(1 << 63)
        hi = parse_time_ns(args.trace_to) if args.trace_to is not None else (1 << 63) - 1
        if hi < lo:
            raise ArbkitError(f"--trace-to ({hi}) is before --trace-from ({lo})")
        trace = (lo, hi)
    from arbkit.run.replay import BadRowsWarning, EmptyRunWarning

    with warnings.catch_warnings(record=True) as caught:
        for category in (EmptyRunWarning, BadRowsWarning):
            warnings.filterwarnings("always", category=category)
        res = cfg.replay(args.recording, seed=args.seed, trace=trace, allow_bad_rows=args.allow_bad_rows,
                         verify=args.verify, allow_crossed=True if args.allow_crossed else None)
    for w in caught:
        if not issubclass(w.category, (EmptyRunWarning, BadRowsWarning)):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            continue
        if args.strict and issubclass(w.category, EmptyRunWarning):
            raise ArbkitError(f"{args.recording}: {w.message} (--strict)")
        print(f"arbkit replay: notice: {w.message}", file=sys.stderr)
    summary = res.summary()
    from arbkit.kpi import checkpoints

    ev = res.evaluate(gate=args.gate)
    summary["kpis"] = {"total": ev.total, "instruments": ev.kpis["instruments"]}
    summary["checkpoints"] = checkpoints(res)
    if ev.edge is not None:
        summary["edge"] = ev.edge
    if args.gate:
        summary["gate"] = ev.gates[0]
    if args.json:
        if trace is not None:
            summary["trace"] = res.trace
        print(json.dumps(summary, default=float))
        return 0 if not args.gate or summary["gate"]["passed"] else 1
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if trace is not None:
        for row in res.trace:
            orders = " ".join(f"#{o['id']}{'+' if o['side'] > 0 else '-'}{o['leaves']:g}@{o['price']:g}"
                              f"(q{o['queue_ahead']:g})" for o in row["open_orders"])
            console.print(f"{row['ts_local']} r{row['row']} a{row['asset']} {row['kind']:<8} {row['side']:+d} "
                          f"{row['price']:g} x {row['qty']:g} | top {row['best_bid']} / {row['best_ask']} | {orders}")
            for f in row["fills"]:
                console.print(f"    [bold]FILL[/] order {f['order_id']} {'buy' if f['side'] > 0 else 'sell'} "
                              f"{f['qty']:g} @ {f['price']:g} {'maker' if f['maker'] else 'taker'} level {f['level']}"
                              f" fee {f['fee']:.6g}")
    console.print(f"[bold]{res.strategy}[/] on {args.recording}  seed={res.seed}  events={summary['events']:,}  "
                  f"fills={summary['fills']:,}  pnl={summary['pnl']:.6g}")
    console.print(f"fills_hash {summary['fills_hash']}")
    table = Table("instrument", "position", "realised", "unrealised", "fees", "funding", "volume", "equity (quote)")
    for row in res.account_table().iter_rows(named=True):
        table.add_row(row["instrument"], f"{row['position']:g}", f"{row['realised']:.6g}", f"{row['unrealised']:.6g}",
                      f"{row['fees']:.6g}", f"{row['funding']:.6g}", f"{row['volume']:g}", f"{row['equity_quote']:.6g}")
    console.print(table)
    console.print("counters: " + ", ".join(f"{k}={v:,}" for k, v in summary["counters"].items() if v))
    tot = summary["kpis"]["total"]
    console.print("kpis: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in tot.items() if k != "exit_reasons"))
    if tot["exit_reasons"]:
        console.print("exit reasons: " + ", ".join(f"{k}={v['count']} ({v['pct']:.0f}%)" for k, v in tot["exit_reasons"].items()))
    if "edge" in summary:
        e = summary["edge"]
        console.print("edge (bps): " + ", ".join(f"{n}={e['edge_' + n]:.3g}" for n in ("optimistic", "realistic",
                                                                                       "conservative"))
                      + f", realised={e.get('realised_edge_bps', float('nan')):.3g}; structurally safe="
                      f"{e['is_structurally_safe']}, recommended={e['is_recommended']}")
    if args.gate:
        g = summary["gate"]
        console.print(f"gate {g['gate']}: [bold]{g['verdict']}[/] — {g['reason']}")
        return 0 if g["passed"] else 1
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``arbkit bench``: replay throughput and memory."""
    from arbkit.apps.bench import BUNDLED, run_benchmarks

    report = run_benchmarks(n_events=args.events, quick=args.quick, out=args.json,
                            source=Path(args.recording) if args.recording else BUNDLED)
    print(json.dumps(report, indent=2))
    return 0


def cmd_validate_candidates(args: argparse.Namespace) -> int:
    """``arbkit validate-candidates``: staged validation of a sweep's candidates; exit 1 on NO-GO."""
    from rich.console import Console
    from rich.table import Table

    from arbkit.run.config import read_yaml
    from arbkit.sweep.staged import plan_validation, run_validation

    source = args.candidates or args.sweep_dir
    if not source:
        raise ConfigError("give a sweep directory or --candidates FILE")
    if args.candidates and args.sweep_dir:
        raise ConfigError("give a sweep directory or --candidates FILE, not both")
    run_settings = None
    if args.config:
        cfg = read_yaml(args.config)
        run_settings = {k: cfg.get(k) for k in ("fill", "latency", "guards", "seed")}
    plan = plan_validation(source, recording=args.recording, settings=args.settings, nested=args.nested,
                           paper=args.paper, allow_in_sample=args.allow_in_sample, out_dir=args.out,
                           start_ns=parse_time_ns(args.start) if args.start else None, strategy=args.strategy,
                           run_settings=run_settings, prefix=args.prefix)
    console = Console(width=140)
    if args.dry_run:
        desc = plan.describe()
        if args.json:
            print(json.dumps(desc, indent=1, default=float))
        else:
            console.print(f"[bold]plan[/] ({desc['mode']}): {desc['candidates_file']} -> {desc['out_dir']}; strategy "
                          f"{desc['strategy']}; sweep window {desc['sweep_window']['start']} -> "
                          f"{desc['sweep_window']['end']}")
            table = Table("stage", "duration", "top", "window", "coverage", "in-sample s", "gate", "file")
            for st in desc["stages"]:
                w = st["window"]
                table.add_row(str(st["stage"]), st["label"], str(st["top"]),
                              f"{w['start']} -> {w['end']}" if w else "live", "-" if st["coverage"] is None
                              else f"{st['coverage']:.0%}", f"{st['in_sample_overlap_s']:g}", "; ".join(st["gate"]),
                              Path(st["summary_file"]).name)
            console.print(table)
            for r in desc["stage1_runs"]:
                console.print(f"  stage 1 run {r['run_id']}  (rank {r['rank']}: "
                              + ", ".join(f"{k}={v:g}" for k, v in r["params"].items()) + ")")
            console.print("dry run: nothing written")
        if desc["refused"]:
            print(f"arbkit validate-candidates: error: {desc['refused']}", file=sys.stderr)
            return 2
        return 0
    runner = None
    if args.paper:
        from arbkit.live.paper_stages import PaperStages

        runner = PaperStages(_venue_specs(args), plan, flush_s=args.flush_s, silence_s=args.silence_s,
                             **_connection_options(args))
    report = run_validation(plan, runner)
    if args.json:
        print(json.dumps(report, indent=1, default=float))
    else:
        table = Table(title=f"staged validation ({report['mode']}{', IN-SAMPLE' if report['in_sample'] else ''})")
        table.add_column("candidate")
        for st in report["stages"]:
            table.add_column(f"stage {st['stage']}: {st['label']}, top {st['top']}")
        for cand in report["candidates"]:
            if not cand["stages"]:
                continue
            cells = [f"{s['verdict']} {s['status']} (pnl {s['total_pnl'] if s['total_pnl'] is not None else float('nan'):.4g}, "
                     f"{s['fills']} fills)" for s in cand["stages"]]
            table.add_row(f"rank {cand['rank']}: " + ", ".join(f"{k}={v:g}" for k, v in cand["params"].items()),
                          *(cells + ["-"] * (len(report["stages"]) - len(cells))))
        console.print(table)
        console.print(f"[bold]{report['verdict']}[/]: " + "; ".join(report["reasons"]))
        console.print(f"files: {report['out_dir']}/validation.json, "
                      + ", ".join(st["summary"] for st in report["stages"]) + ", runs/")
    return 0 if report["verdict"] == "GO" else 1


def cmd_sweep_run(args: argparse.Namespace) -> int:
    """``arbkit sweep-run``: run a sweep's job plan (jobs.jsonl), all of it or some jobs."""
    from arbkit.sweep.runner import run_plan

    jobs = [j for j in args.jobs.split(",") if j] if args.jobs else None
    res = run_plan(args.plan, out_dir=args.output, jobs=jobs, n_jobs=args.n_jobs, batch_size=args.batch_size,
                   backend="local", scheduler=None, progress=None, top=args.top, csv=args.csv, summary=True,
                   batched=True, resume=not args.no_resume, verify=args.verify)
    print(f"results in {res.out_dir} (sweep {res.sweep_id})")
    return 0


def cmd_apply_candidate(args: argparse.Namespace) -> int:
    """``arbkit apply-candidate``: write a run config from one of a sweep's candidates (only when asked)."""
    from arbkit.sweep.apply import apply_candidate

    path = apply_candidate(args.sweep_dir, args.output, rank=args.rank, force=args.force)
    print(f"wrote {path} from candidate ranked {args.rank} of {args.sweep_dir}")
    return 0


def _venue_specs(args: argparse.Namespace) -> list:
    from arbkit.core.yaml_file import read_yaml_mapping
    from arbkit.live.record import VenueSpec

    venues_file = getattr(args, "venues_file", None) if args.command != "record" else args.config
    if venues_file:
        conf = read_yaml_mapping(venues_file, "venues file", "a mapping with a 'venues' list")
        venues = conf.get("venues")
        if not isinstance(venues, list) or not venues:
            raise ConfigError(f"{venues_file}: 'venues' must be a list of {{venue, symbols, channels?, endpoint?, rest?, "
                              "rest_rate?, rest_burst?}}")
        out = []
        for i, v in enumerate(venues):
            if not isinstance(v, dict) or "venue" not in v or "symbols" not in v:
                raise ConfigError(f"{venues_file}: venues[{i}] needs 'venue' and 'symbols'")
            syms = v["symbols"].split(",") if isinstance(v["symbols"], str) else list(v["symbols"])
            out.append(VenueSpec(v["venue"], syms, tuple(v.get("channels", ("depth", "trades", "bbo", "funding"))),
                                 v.get("endpoint"), v.get("rest"), v.get("rest_rate"), v.get("rest_burst")))
        return out
    if not args.venue or not args.symbols:
        raise ConfigError("record: give --venue and --symbols (or --config with a venues list)")
    return [VenueSpec(args.venue, [s for s in args.symbols.split(",") if s], tuple(args.channels.split(",")),
                      args.endpoint, args.rest)]


def _connection_options(args: argparse.Namespace) -> dict:
    """The recorder's connection settings from the command line (record and paper share them)."""
    if not args.max_frame_mb > 0:
        raise ConfigError(f"--max-frame-mb must be a positive number of MiB, got {args.max_frame_mb!r}")
    return {"healthy_s": args.healthy_s, "max_frame_bytes": max(1024, int(args.max_frame_mb * (1 << 20))),
            "rest_rate": args.rest_rate, "rest_burst": args.rest_burst}


def cmd_record(args: argparse.Namespace) -> int:
    """``arbkit record``: the live recorder."""
    import logging

    from arbkit.live.record import RecorderError, record

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        stats = record(args.output, _venue_specs(args), duration_s=args.duration, flush_s=args.flush_s,
                       silence_s=args.silence_s, overwrite=args.force, status=False if args.quiet else None,
                       **_connection_options(args))
    except RecorderError as exc:
        print(f"arbkit record: error: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(stats))
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    """``arbkit paper``: paper trading on live data."""
    import logging

    from arbkit.live.paper import PaperRun
    from arbkit.live.record import RecorderError
    from arbkit.run.config import RunConfig

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.ops_sample_s > 0:
        print(f"arbkit paper: error: --ops-sample-s must be a number of seconds > 0, got {args.ops_sample_s:g}",
              file=sys.stderr)
        return 2
    if args.supervise:
        return _supervise_paper(args)
    cfg = RunConfig.load(args.config)
    if args.seed is not None:
        cfg.seed = args.seed
    if args.verify and args.resume and (Path(args.output) / "recording" / "manifest.json").is_file():
        from arbkit.io.read_checks import verify_parts
        from arbkit.io.recording import load

        verify_parts(load(Path(args.output) / "recording"))  # before the checkpoint and its parts are trusted
    feed, venues, options = None, None, {}
    if args.from_recording:
        from arbkit.live.replay_feed import RecordingFeed

        feed = RecordingFeed(args.from_recording, loops=args.loops, gap_s=args.loop_gap_s, flush_s=args.flush_s,
                             speed=args.speed)
    else:
        venues, options = _venue_specs(args), _connection_options(args)
    try:
        run = PaperRun(cfg, venues, args.output, duration_s=args.duration, flush_s=args.flush_s,
                       silence_s=args.silence_s, overwrite=args.force, status=False if args.quiet else None,
                       checkpoint_s=args.checkpoint_s, resume=args.resume, feed=feed,
                       ops_sample_s=args.ops_sample_s, **options)
        result = run.run()
    except RecorderError as exc:
        print(f"arbkit paper: error: {exc}", file=sys.stderr)
        return 3
    if run.refused is not None:
        raise run.refused  # one line (main), exit 2: the recording so far is kept
    out = {"fills": 0 if result is None else result.n_trades,
           "fills_hash": None if result is None else result.fills_hash,
           "pnl": None if result is None else result.pnl, "errors": run.errors, "run_dir": str(run.out)}
    print(json.dumps(out))
    return 0 if not run.errors else 1


def _supervise_paper(args: argparse.Namespace) -> int:
    """Run ``arbkit paper`` in a child process; restart it (resuming from its checkpoint) when it dies."""
    import subprocess
    import time

    argv = list(sys.argv[1:]) if sys.argv[1:2] == ["paper"] else ["paper"]
    clean: list[str] = []
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a in ("--supervise", "--duration"):
            skip = True
            continue
        if a.startswith(("--supervise=", "--duration=")) or a == "--resume":
            continue
        clean.append(a)
    t_end = time.monotonic() + args.duration if args.duration else None
    restarts = 0
    log_path = Path(args.output) / "supervisor.jsonl"
    Path(args.output).mkdir(parents=True, exist_ok=True)
    while True:
        cmd = [sys.executable, "-m", "arbkit.apps.cli", *clean, "--resume"]
        if t_end is not None:
            left = t_end - time.monotonic()
            if left <= 0:
                return 0
            cmd += ["--duration", f"{left:.3f}"]
        proc = subprocess.run(cmd)
        with open(log_path, "a") as fh:
            fh.write(json.dumps({"ts_ns": time.time_ns(), "exit_code": proc.returncode, "restarts": restarts}) + "\n")
        if proc.returncode == 0:
            return 0
        if proc.returncode in (1, 2, 3) or restarts >= args.supervise:
            return proc.returncode or 1  # a refused config or too many crashes: stop for good
        restarts += 1
        pause = min(30.0, 0.5 * 2 ** (restarts - 1))
        if t_end is not None and t_end - time.monotonic() <= pause:
            print(f"arbkit paper: run exited with {proc.returncode}; no time left to restart it", file=sys.stderr)
            return 0
        print(f"arbkit paper: run exited with {proc.returncode}; restart {restarts}/{args.supervise} from the "
              f"last checkpoint", file=sys.stderr)
        time.sleep(pause)


def cmd_report(args: argparse.Namespace) -> int:
    """``arbkit report``: markdown report of a run or a sweep."""
    from arbkit.io.recording import load
    from arbkit.report import run_report, sweep_report
    from arbkit.run.config import RunConfig

    target = Path(args.target)
    if (target / "results.parquet").is_file():
        path = sweep_report(target, args.output, kpi=args.kpi)
    else:
        config = args.config or (target / "run.yaml" if (target / "run.yaml").is_file() else None)
        rec_dir = target / "recording" if (target / "recording" / "manifest.json").is_file() else target
        if config is None or not (rec_dir / "manifest.json").is_file():
            raise ConfigError(f"{target}: not a sweep directory (results.parquet), a paper run (run.yaml + "
                              "recording/), or a recording given with --config run.yaml")
        rec = load(rec_dir)
        result = RunConfig.load(config).replay(rec)
        path = run_report(result, args.output, recording=rec, gates=tuple(args.gate or ()))
    print(path)
    return 0


def cmd_acceptance(args: argparse.Namespace) -> int:
    """``arbkit acceptance``: the long-run acceptance report of a paper run; exit 1 on FAIL."""
    from arbkit.report.acceptance import acceptance_report

    path, verdict = acceptance_report(args.run_dir, args.criteria, args.output)
    if args.json:
        print(json.dumps({"report": str(path), **verdict}, default=float))
    else:
        print(f"{verdict['verdict']}: {path}" + ("" if verdict["passed"] else f" ({verdict['reason']})"))
    return 0 if verdict["passed"] else 1


def cmd_dashboard(args: argparse.Namespace) -> int:
    """``arbkit dashboard``: the live page of a paper run."""
    from arbkit.live.dashboard.server import bind

    server = bind(args.run, args.port, args.host)
    print(f"arbkit dashboard: http://{args.host}:{server.server_address[1]}/ (run {args.run}); Ctrl-C to stop",
          file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _connection_arguments(p: argparse.ArgumentParser) -> None:
    """Reconnect, frame-size and REST pacing options of ``record`` and ``paper``."""
    p.add_argument("--healthy-s", type=float, default=30.0,
                   help="the reconnect backoff starts over only after a connection delivered data this long (default 30)")
    p.add_argument("--max-frame-mb", type=float, default=64.0,
                   help="largest websocket frame recorded, MiB (default 64); a larger one leaves a marker in the raw "
                        "log, a GAP, and a reconnect")
    p.add_argument("--rest-rate", type=float,
                   help="REST snapshot requests per second per venue (default: a quarter of the venue's documented "
                        "budget, 0.5/s for Binance)")
    p.add_argument("--rest-burst", type=int, help="REST snapshot requests at once per venue (default 10)")


def cmd_campaign(args: argparse.Namespace) -> int:
    """``arbkit campaign init|step|run|pause|resume|status``: a series of runs judged against hypotheses."""
    from arbkit.campaign.orchestrator import Campaign, init_campaign, pause, resume
    from arbkit.campaign.status import status_lines, status_of

    if args.action == "init":
        camp = init_campaign(args.dir, args.config)
        print(f"{camp.dir.path}: campaign {camp.spec.name!r} initialised ({len(camp.spec.hypotheses)} hypotheses), IDLE")
        return 0
    if args.action == "pause":
        pause(args.dir)
        print(f"{args.dir}: PAUSE written; the campaign stops at its next transition ('arbkit campaign resume' goes on)")
        return 0
    if args.action == "resume":
        print(f"{args.dir}: resumed, state {resume(args.dir)}")
        return 0
    if args.action == "dashboard":
        from arbkit.campaign.dashboard import serve

        print(f"arbkit campaign dashboard: http://{args.host}:{args.port}/ (campaign {args.dir}); Ctrl-C to stop",
              file=sys.stderr)
        serve(args.dir, args.port, args.host)
        return 0
    if args.action == "status":
        data = status_of(args.dir)
        print(json.dumps(data, indent=1) if args.json else "\n".join(status_lines(data)))
        return 0
    camp = Campaign(args.dir)
    if args.action == "step":
        print(camp.step())
        return 0
    state = camp.run(max_steps=args.max_steps, on_step=None if args.quiet else (lambda st: print(st, flush=True)))
    s = camp.state()
    if state == "DONE":
        print(f"DONE {s['outcome']}: {s['reason']}")
    elif state == "PAUSED":
        print("PAUSED (remove the gate with 'arbkit campaign resume')")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``arbkit`` argument parser (one sub-command per job)."""

    p = argparse.ArgumentParser(prog="arbkit", description="Record/replay backtesting for order-book trading.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert real vendor/venue files into a recording")
    c.add_argument("--format", "-f", required=True, choices=sorted(FORMATS))
    c.add_argument("sources", nargs="+", help="source files (several days of one symbol are chained in time order)")
    c.add_argument("-o", "--output", required=True, help="recording directory to write")
    c.add_argument("--force", action="store_true", help="replace an existing recording in the output directory")
    c.add_argument("--keep-raw", action="store_true", help="keep compressed copies of the sources in raw/")
    c.add_argument("--instruments", help="JSON file of per-instrument overrides (tick_size, lot_size, fees, ...)")
    c.add_argument("--venue-meta", action="append", metavar="CAPTURE",
                   help="a cryptofeed capture whose REST responses give the venue's tick / lot / contract sizes "
                        "(repeatable)")
    c.add_argument("--json", action="store_true", help="print a JSON summary")
    c.add_argument("--resolution", action="append", metavar="[MARKET=]WINNER",
                   help="polymarket: the winning outcome (Up / Down) of every market, or of one market id "
                        "(repeatable); the resolution time comes from the file names")
    c.set_defaults(func=cmd_convert)

    rv = sub.add_parser("resolve", help="record a binary market's winner (and resolution time) in a recording")
    rv.add_argument("recording")
    rv.add_argument("--winner", required=True, help="the winning outcome's name (e.g. Up)")
    rv.add_argument("--at", help="resolution time: ns since epoch or ISO time (default: keep the manifest's)")
    rv.add_argument("--market", help="market id (needed when the recording holds several markets)")
    rv.set_defaults(func=cmd_resolve)

    i = sub.add_parser("info", help="summarise a recording (events, kinds, instruments, final top of book)")
    i.add_argument("recording")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.add_argument("--no-books", action="store_true", help="skip the book replay (no final_top)")
    i.set_defaults(func=cmd_info)

    v = sub.add_parser("validate", help="check a recording; exit 1 when it has errors")
    v.add_argument("recording")
    v.add_argument("--json", action="store_true")
    v.add_argument("--no-books", action="store_true", help="skip the crossed-book replay")
    v.set_defaults(func=cmd_validate)

    m = sub.add_parser("merge", help="merge recordings into one multi-venue recording on one clock")
    m.add_argument("recordings", nargs="+")
    m.add_argument("-o", "--output", required=True)
    m.add_argument("--force", action="store_true")
    m.add_argument("--align-starts", action="store_true",
                   help="move recordings of different times onto the first one's start (recorded in the manifest; "
                        "the result is not simultaneous data)")
    m.set_defaults(func=cmd_merge)

    r = sub.add_parser("replay", help="replay a strategy over a recording (optionally tracing a time window)")
    r.add_argument("recording")
    r.add_argument("--config", help="run.yaml: strategy, params, fill, latency, seed")
    r.add_argument("--strategy", help="strategy name (arb, touch_mm, cross_taker, or package.module:factory)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a parameter (entry_bps=12), or fill.X / latency.X / guards.X / seed (repeatable)")
    r.add_argument("--gate", help="evaluate a gate from arbkit/conf/gates (name or YAML path); exit 1 when it fails")
    r.add_argument("--seed", type=int, help="override the config's seed")
    r.add_argument("--trace-from", help="start of the trace window (ns or ISO-8601)")
    r.add_argument("--trace-to", help="end of the trace window (ns or ISO-8601)")
    r.add_argument("--allow-crossed", action="store_true",
                   help="replay books left crossed after a complete message (counted) instead of stopping")
    r.add_argument("--json", action="store_true", help="print one JSON object (events, fills, fills_hash, pnl, ...)")
    r.add_argument("--allow-bad-rows", action="store_true",
                   help="replay without the rows `arbkit validate` rejects (counted in the result) instead of refusing")
    r.add_argument("--verify", action="store_true", help="check every part's sha256 against manifest.json first")
    r.add_argument("--strict", action="store_true",
                   help="a window (or trace window) holding no events is an error (exit 2), not a notice")
    r.set_defaults(func=cmd_replay)

    rc = sub.add_parser("record", help="record live order books (websockets) into a recording that survives a kill")
    rc.add_argument("--venue", help="binance-spot, binance-usdm, binance-coinm, bybit-linear, bybit-inverse, bybit-spot, okx")
    rc.add_argument("--symbols", help="comma-separated symbols (BTCUSDT / BTC-USDT)")
    rc.add_argument("--channels", default="depth,trades,bbo,funding",
                    help="any of depth,trades,bbo,funding (funding: funding rate and mark price where the venue has them)")
    rc.add_argument("--config", help="YAML with a 'venues' list (several venues in one recorder, one clock)")
    rc.add_argument("-o", "--output", required=True)
    rc.add_argument("--duration", type=float, help="seconds to record (default: until SIGINT/SIGTERM)")
    rc.add_argument("--endpoint", help="websocket base URL (default: the venue's)")
    rc.add_argument("--rest", help="REST base URL for depth snapshots (Binance)")
    rc.add_argument("--flush-s", type=float, default=2.0, help="seconds between Parquet parts (default 2)")
    rc.add_argument("--silence-s", type=float, default=15.0, help="reconnect after this long without a message")
    rc.add_argument("--force", action="store_true",
                    help="overwrite an existing recording (never one a running recorder holds)")
    rc.add_argument("--quiet", action="store_true", help="no status line")
    _connection_arguments(rc)
    rc.set_defaults(func=cmd_record)

    pp = sub.add_parser("paper", help="paper-trade a run config on live data (recorded as it goes)")
    pp.add_argument("--config", required=True, help="run.yaml: strategy, params, fill, latency, guards, seed")
    pp.add_argument("--venue")
    pp.add_argument("--symbols")
    pp.add_argument("--channels", default="depth,trades,bbo")
    pp.add_argument("--venues", dest="venues_file", help="YAML with a 'venues' list (instead of --venue/--symbols)")
    pp.add_argument("-o", "--output", required=True, help="run directory (recording/, trades.jsonl, live_state.json)")
    pp.add_argument("--duration", type=float, help="seconds to run (default: until SIGINT/SIGTERM)")
    pp.add_argument("--endpoint")
    pp.add_argument("--rest")
    pp.add_argument("--seed", type=int)
    pp.add_argument("--flush-s", type=float, default=0.5, help="seconds between batches fed to the engine")
    pp.add_argument("--silence-s", type=float, default=15.0)
    pp.add_argument("--force", action="store_true")
    pp.add_argument("--quiet", action="store_true")
    pp.add_argument("--checkpoint-s", type=float, default=5.0, help="seconds between engine checkpoints")
    pp.add_argument("--ops-sample-s", type=float, default=5.0,
                    help="seconds of wall time between operations samples in ops.jsonl (memory, CPU, latencies)")
    pp.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    pp.add_argument("--verify", action="store_true", help="with --resume: check the recording's part hashes first")
    pp.add_argument("--supervise", type=int, default=0, metavar="N",
                    help="run in a child process and restart it up to N times when it crashes")
    pp.add_argument("--from-recording", metavar="REC",
                    help="trade a recording instead of the live feed, on the recording's clock, as fast as possible "
                         "(acceptance runs: docs/validation.md); --flush-s is then seconds of the recording")
    pp.add_argument("--loops", type=int, default=1, help="--from-recording: play the recording N times in a row")
    pp.add_argument("--loop-gap-s", type=float, default=1.0,
                    help="--from-recording: seconds between one loop's last event and the next loop's first")
    pp.add_argument("--speed", type=float, help="--from-recording: at most this many times real time")
    _connection_arguments(pp)
    pp.set_defaults(func=cmd_paper)

    rp = sub.add_parser("report", help="markdown report with PNG figures of a run (replayed) or a sweep")
    rp.add_argument("target", help="sweep dir, paper run dir, or a recording (with --config)")
    rp.add_argument("-o", "--output", required=True, help="report.md (figures go beside it)")
    rp.add_argument("--config", help="run.yaml to replay the recording with")
    rp.add_argument("--gate", action="append", help="gate(s) to evaluate (arbkit/conf/gates name or file); repeatable")
    rp.add_argument("--kpi", help="sweep reports: the KPI of the heatmaps (default: the ranking's)")
    rp.set_defaults(func=cmd_report)

    ac = sub.add_parser("acceptance", help="markdown acceptance report of a (long) paper run against criteria; "
                                           "exit 1 on FAIL")
    ac.add_argument("run_dir", help="the paper run directory")
    ac.add_argument("--criteria", default="paper_12h",
                    help="a name in arbkit/conf/acceptance or a YAML path (default: paper_12h)")
    ac.add_argument("-o", "--output", help="report path (default: RUN_DIR/acceptance_<criteria>.md)")
    ac.add_argument("--json", action="store_true", help="print the verdict as JSON")
    ac.set_defaults(func=cmd_acceptance)

    db = sub.add_parser("dashboard", help="serve a live web page for a paper run (live_state.json, trades.jsonl)")
    db.add_argument("--run", required=True, help="the paper run directory")
    db.add_argument("--port", type=int, default=8501)
    db.add_argument("--host", default="127.0.0.1")
    db.set_defaults(func=cmd_dashboard)

    vc = sub.add_parser("validate-candidates",
                        help="run a sweep's candidates through staged validation (forward windows, nested, or live "
                             "paper stages); GO / NO-GO (exit 1)")
    vc.add_argument("sweep_dir", nargs="?", help="a sweep directory (its candidates.json)")
    vc.add_argument("--candidates", help="a candidates.json made elsewhere (instead of a sweep directory)")
    vc.add_argument("--recording", help="the data to validate on (default: the candidates' recording, after the "
                                        "sweep's window)")
    vc.add_argument("--settings", help="stages: a name in arbkit/conf/validation or a YAML path (default: default)")
    vc.add_argument("--nested", action="store_true", help="every stage from the same start (default: forward, each "
                                                          "stage on the data after the previous one)")
    vc.add_argument("--paper", action="store_true", help="each stage a live paper run (give --venue/--symbols or "
                                                         "--venues)")
    vc.add_argument("--allow-in-sample", action="store_true",
                    help="run on data overlapping the sweep's window, labelled in-sample in every output")
    vc.add_argument("--dry-run", action="store_true", help="print the plan (stages, windows, run ids); write nothing")
    vc.add_argument("--out", help="output directory (default: validation/ beside candidates.json)")
    vc.add_argument("--prefix", help="run-id prefix (default: the settings' prefix)")
    vc.add_argument("--start", help="start of stage 1 (ns or ISO-8601; default: the end of the sweep's window)")
    vc.add_argument("--strategy", help="strategy, when the candidates file names none")
    vc.add_argument("--config", help="run.yaml whose fill, latency, guards and seed replace the sweep's")
    vc.add_argument("--json", action="store_true", help="print the report (or the plan) as JSON")
    vc.add_argument("--venue")
    vc.add_argument("--symbols")
    vc.add_argument("--channels", default="depth,trades,bbo")
    vc.add_argument("--venues", dest="venues_file", help="paper: YAML with a 'venues' list")
    vc.add_argument("--endpoint")
    vc.add_argument("--rest")
    vc.add_argument("--flush-s", type=float, default=0.5, help="paper: seconds between batches fed to the engine")
    vc.add_argument("--silence-s", type=float, default=15.0)
    _connection_arguments(vc)
    vc.set_defaults(func=cmd_validate_candidates)

    sr = sub.add_parser("sweep-run", help="run a sweep's job plan (jobs.jsonl): all jobs, or some (--jobs)")
    sr.add_argument("plan", help="the plan, a jobs.jsonl written by a sweep")
    sr.add_argument("--jobs", help="comma-separated job ids to run (default: all)")
    sr.add_argument("-o", "--output", help="output directory (default: the plan's directory)")
    sr.add_argument("--csv", help="also write the ranked table as CSV here")
    sr.add_argument("--n-jobs", type=int, default=1, help="worker processes (default 1)")
    sr.add_argument("--batch-size", type=int, default=64, help="parameter sets per pass of the batched kernel")
    sr.add_argument("--top", type=int, default=10, help="candidates written to candidates.json")
    sr.add_argument("--no-resume", action="store_true", help="replay jobs whose row already exists too")
    sr.add_argument("--verify", action="store_true", help="check the recording's part hashes first")
    sr.set_defaults(func=cmd_sweep_run)

    ac = sub.add_parser("apply-candidate", help="write a run config (run.yaml) from a sweep's candidate, by rank")
    ac.add_argument("sweep_dir")
    ac.add_argument("--rank", type=int, default=1, help="the candidate's rank (default 1, the best)")
    ac.add_argument("-o", "--output", required=True, help="the run config to write, e.g. run.yaml")
    ac.add_argument("--force", action="store_true", help="overwrite the output when it exists")
    ac.set_defaults(func=cmd_apply_candidate)

    cp = sub.add_parser("campaign", help="a campaign of runs: hypotheses in order, verdicts, bounded adjustment, budget")
    cps = cp.add_subparsers(dest="action", required=True)
    ci = cps.add_parser("init", help="make DIR a campaign directory (state IDLE)")
    ci.add_argument("dir")
    ci.add_argument("--config", help="campaign.yaml to copy in (default: DIR/campaign.yaml)")
    for name, text in (("step", "make exactly one transition (cron-friendly)"),
                       ("run", "step until DONE or PAUSED; a killed run resumes where it stopped"),
                       ("pause", "write the PAUSE file: the campaign stops at its next transition"),
                       ("resume", "remove the PAUSE file and return to the state the campaign left"),
                       ("status", "state, current hypothesis and the run history"),
                       ("dashboard", "serve the campaign page: history, reports, strategy internals")):
        a = cps.add_parser(name, help=text)
        a.add_argument("dir")
        if name == "run":
            a.add_argument("--max-steps", type=int, help="stop after this many transitions")
            a.add_argument("--quiet", action="store_true", help="do not print each state")
        if name == "status":
            a.add_argument("--json", action="store_true", help="the status as JSON")
        if name == "dashboard":
            a.add_argument("--port", type=int, default=8502)
            a.add_argument("--host", default="127.0.0.1")
    cp.set_defaults(func=cmd_campaign)

    b = sub.add_parser("bench", help="measure replay events/s and peak RSS against a bare numba loop")
    b.add_argument("--json", metavar="OUT", help="write the figures to this JSON file")
    b.add_argument("--events", type=int, default=5_000_000, help="events in the generated recording (default 5M)")
    b.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    b.add_argument("--recording", help="the real recording the benchmark repeats (default: the repository's "
                                        "recordings/binance_btc_3venues_20240808, from its root)")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code (2 on a clear user error)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ArbkitError as exc:
        print(f"arbkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

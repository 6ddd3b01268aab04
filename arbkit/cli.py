"""The ``arbkit`` command line: convert, info, validate, merge."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from arbkit.errors import ArbkitError


def _load_instruments_arg(path: str | None) -> dict[str, dict[str, Any]] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArbkitError(f"{path}: cannot read instrument overrides ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ArbkitError(f"{path}: expected an object of 'venue:symbol' or 'symbol' -> {{field: value}}")
    return data


def cmd_convert(args: argparse.Namespace) -> int:
    from arbkit.io.convert import convert
    from arbkit.info import info

    options: dict[str, Any] = {}
    inst = _load_instruments_arg(args.instruments)
    if inst:
        options["instruments"] = inst
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = convert(args.format, args.sources, args.output, overwrite=args.force, keep_raw=args.keep_raw, **options)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    summary = info(rec, books=False)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {rec.path}: {summary['events']} events, {len(summary['instruments'])} instruments, "
              f"{summary['span_s']:.1f} s, gaps={summary['gaps']}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from arbkit.info import info

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
                      f"{e.get('events', 0):,}", *(f"{top.get(k):g}" if top.get(k) is not None else "-"
                                                   for k in ("bid", "bid_qty", "ask", "ask_qty")))
    console.print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from arbkit.validate import validate

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
        print(f"{status}: {args.recording}: {report.rows_checked} rows checked, {len(report.errors)} errors, "
              f"{len(report.warnings)} warnings")
    return 0 if report.ok else 1


def cmd_merge(args: argparse.Namespace) -> int:
    from arbkit.io.merge import merge_recordings

    rec = merge_recordings(args.recordings, args.output, overwrite=args.force)
    print(f"wrote {rec.path}: {rec.n_events} events, instruments {[i.key for i in rec.instruments]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from arbkit.io.convert import FORMATS

    p = argparse.ArgumentParser(prog="arbkit", description="Record/replay backtesting for order-book trading.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert real vendor/venue files into a recording")
    c.add_argument("--format", "-f", required=True, choices=sorted(FORMATS))
    c.add_argument("sources", nargs="+", help="source files (several days of one symbol are chained in time order)")
    c.add_argument("-o", "--output", required=True, help="recording directory to write")
    c.add_argument("--force", action="store_true", help="replace an existing recording in the output directory")
    c.add_argument("--keep-raw", action="store_true", help="keep compressed copies of the sources in raw/")
    c.add_argument("--instruments", help="JSON file of per-instrument overrides (tick_size, lot_size, fees, ...)")
    c.add_argument("--json", action="store_true", help="print a JSON summary")
    c.set_defaults(func=cmd_convert)

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
    m.set_defaults(func=cmd_merge)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ArbkitError as exc:
        print(f"arbkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

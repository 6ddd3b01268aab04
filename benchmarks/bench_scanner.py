"""Per-row cost of the book scanner behind ``arbkit info`` / ``arbkit validate``: the old kernel and the new.

Both in one process on the same in-memory benchmark recording (the one ``bench_engine.py`` makes,
≥5M events), alternating old/new, best CPU time of ``--repeat`` each:

- ``old``: the scanner as it was, one ``book_apply_nb`` call per row passing the book struct
  (kept as the tests' oracle, ``tests/helpers/scanner_oracle.py``);
- ``new``: ``arbkit.book.scanner``, one pass over the chunk with the book's arrays hoisted;
- for scale, the engine's own ladder update alone (``bench_breakdown.book_only_nb``, stage ``book``).

Each with and without per-row tops (``record_tops``, what the plots use). The two scanners' final
books, crossings and tops must be equal (the script stops otherwise). Then the wall time of the
commands, each in a fresh process, old and new alternating for ``--rounds`` rounds: ``arbkit
validate`` and ``arbkit info`` on the recording (the old kernel swapped in for the "before" runs).

    python benchmarks/bench_scanner.py [--events N] [--repeat R] [--rounds K] [--recording DIR] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
TESTS = ROOT.parent / "tests"
CHUNK = 1 << 16  # validate's batch size; info feeds 1 << 18

#: a fresh process running the CLI, with the old kernel swapped in when argv[1] == "old"
_CLI = (
    "import sys\n"
    "if sys.argv[1] == 'old':\n"
    f"    sys.path.insert(0, {str(TESTS)!r})\n"
    "    from helpers.scanner_oracle import scan_per_row_calls_nb\n"
    "    from arbkit.book.scanner import BookScanner\n"
    "    BookScanner.kernel = staticmethod(scan_per_row_calls_nb)\n"
    "from arbkit.apps.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def _scan(cls, ticks, cols, record: bool):
    scanner = cls(ticks)
    out = []
    for i in range(0, len(cols), CHUNK):
        tops = scanner.feed(cols.take(slice(i, i + CHUNK)), record_tops=record)
        if record:
            out.append(tops)
    scanner.finish()
    return scanner, out  # the chunks' tops as the scanner returned them (not joined: that is not the scanner's work)


def _cpu_best(fn, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()  # CPU time: on a shared machine wall time mostly measures the others
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _command(version: str, args: list[str]) -> dict[str, float]:
    """Run ``arbkit <args>`` with the ``version`` kernel in a fresh process: wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CLI, version, *args], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="old/new rounds of each command")
    ap.add_argument("--recording", default=None, help="the generated benchmark recording (made in a temp dir when missing)")
    ap.add_argument("--json", default=str(ROOT / "results" / "scanner.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "scanner.md"))
    args = ap.parse_args()

    sys.path.insert(0, str(TESTS))
    from bench_breakdown import book_only_nb
    from helpers.scanner_oracle import PerRowCallScanner

    from arbkit.apps import bench
    from arbkit.book.ladder import new_books
    from arbkit.book.scanner import BookScanner
    from arbkit.io.recording import load

    tmp = None
    path = Path(args.recording) if args.recording else None
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench"
    if not (path / "manifest.json").is_file():
        bench.make_bench_recording(path, args.events, source=ROOT.parent / "recordings" / "binance_btc_3venues_20240808")
    rec = load(path)
    cols = rec.to_numpy()
    ticks = np.array([i.tick_size for i in rec.instruments])
    n = len(cols)
    head = cols.take(slice(0, 1000))
    for cls in (BookScanner, PerRowCallScanner):  # compile (or load from the cache) before timing
        for record in (False, True):
            _scan(cls, ticks, head, record)
    arrays = (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq)
    top0 = np.zeros((len(ticks), 2), np.int64)
    book_only_nb(new_books(ticks), *(a[:10] for a in arrays), top0, False)

    rows: list[dict[str, Any]] = []
    for record in (False, True):
        best = {"old": float("inf"), "new": float("inf")}
        outs = {}
        for _ in range(args.repeat):  # alternate, so both meet the same machine
            for name, cls in (("old", PerRowCallScanner), ("new", BookScanner)):
                s, outs[name] = _cpu_best(lambda: _scan(cls, ticks, cols, record), 1)
                best[name] = min(best[name], s)
        (so, to), (sn, tn) = outs["old"], outs["new"]
        for field in so.books._fields:
            assert np.array_equal(getattr(so.books, field), getattr(sn.books, field), equal_nan=True), field
        assert (so.crossed_rows, so.n_crossed) == (sn.crossed_rows, sn.n_crossed)
        assert len(to) == len(tn) and all(np.array_equal(x, y, equal_nan=True) for x, y in zip(to, tn))
        row = {"record_tops": record, "old_ns_per_row": best["old"] / n * 1e9, "new_ns_per_row": best["new"] / n * 1e9,
               "speedup": best["old"] / best["new"], "crossed": sn.n_crossed,
               "dropped": [int(x) for x in sn.books.dropped]}
        rows.append(row)
        print(f"record_tops={record}: old {row['old_ns_per_row']:.1f} ns/row, new {row['new_ns_per_row']:.1f} ns/row, "
              f"{row['speedup']:.1f}x", flush=True)
    s, _ = _cpu_best(lambda: book_only_nb(new_books(ticks), *arrays, top0.copy(), False), args.repeat)
    ladder_ns = s / n * 1e9
    print(f"engine ladder update alone: {ladder_ns:.1f} ns/row", flush=True)

    commands: dict[str, dict[str, Any]] = {}
    for cmd in (["validate", str(path)], ["info", str(path)]):
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for version in ("old", "new"):
                runs[version].append(_command(version, cmd))
        med = {v: {k: float(np.median([r[k] for r in runs[v]])) for k in ("wall_s", "cpu_s")} for v in runs}
        commands[cmd[0]] = {"runs": runs, "median": med, "wall_ratio": med["old"]["wall_s"] / med["new"]["wall_s"]}
        print(f"arbkit {cmd[0]}: old {med['old']['wall_s']:.2f} s, new {med['new']['wall_s']:.2f} s wall (medians)",
              flush=True)

    report = {"machine": bench.machine(), "events": n, "repeat": args.repeat, "rounds": args.rounds,
              "chunk_rows": CHUNK, "scanner": rows, "engine_ladder_update_ns_per_row": ladder_ns,
              "commands": commands, "loadavg": Path("/proc/loadavg").read_text().split()[:3],
              "command": "python benchmarks/bench_scanner.py"}
    lines = [f"{n:,} events; scanner: best CPU time of {args.repeat} (old and new alternating); commands: medians "
             f"of {args.rounds} alternating runs, each a fresh process.", "",
             "| scanner | old ns/row | new ns/row | speed-up |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {'with per-row tops' if r['record_tops'] else 'books and crossings'} | "
                     f"{r['old_ns_per_row']:.1f} | {r['new_ns_per_row']:.1f} | {r['speedup']:.1f}x |")
    lines += ["", f"The engine's ladder update alone (bench_breakdown stage `book`): {ladder_ns:.1f} ns/row.", "",
              "| command | old wall s | new wall s | ratio | old CPU s | new CPU s |", "|---|---|---|---|---|---|"]
    for name, c in commands.items():
        m = c["median"]
        lines.append(f"| arbkit {name} | {m['old']['wall_s']:.2f} | {m['new']['wall_s']:.2f} | {c['wall_ratio']:.2f}x | "
                     f"{m['old']['cpu_s']:.2f} | {m['new']['cpu_s']:.2f} |")
    bench.write_report(report, args.json, args.markdown, "\n".join(lines) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()

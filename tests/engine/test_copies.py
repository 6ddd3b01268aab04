"""Blocks written out for speed stay the same text, and the books they build agree on small ladders.

The per-row ladder update lives in five places (the single-run loop, the batched kernel,
``ladder.book_set_nb``, the book scanner's pass and the ladder stage of ``benchmarks/bench_breakdown.py``)
and the message end in two (the loop and ``loop.end_message_nb``), each between
``# --- copy: NAME (begin)`` / ``(end)`` markers.
The marked blocks must be identical after removing indentation, comments and the renames
listed here. Then, with ladders of 64 and 256 ticks (so recentring and dropped levels
happen), the single run's books equal the scanner's, and a batched run's equal a single run's.
"""
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.book.scanner import BookScanner
from arbkit.engine import Schedule
from arbkit.engine.batch import BatchReplayer
from arbkit.engine.replayer import Replayer
from helpers.events import make_events
from helpers.probe_strategy import probe
from helpers.streams import instruments

ROOT = Path(__file__).resolve().parents[2]
COPIES = {
    "ladder-update": ["arbkit/engine/loop.py", "arbkit/engine/batch_loop.py", "arbkit/book/ladder.py",
                      "arbkit/book/scanner.py", "benchmarks/bench_breakdown.py"],
    "message-end": ["arbkit/engine/loop.py", "arbkit/engine/loop.py"],
}
#: documented renames: none are needed today (every copy uses the same local names); add here when one must differ
RENAMES: dict[str, str] = {}


def blocks(name: str) -> list[tuple[str, list[str]]]:
    """Every ``name`` block of the listed files: (file, normalised lines)."""
    out = []
    for rel in dict.fromkeys(COPIES[name]):
        text = (ROOT / rel).read_text()
        pattern = re.compile(rf"# --- copy: {re.escape(name)} \(begin\)\n(.*?)\n\s*# --- copy: {re.escape(name)} \(end\)",
                             re.S)
        for body in pattern.findall(text):
            lines = []
            for line in body.splitlines():
                line = line.split("#", 1)[0].strip()
                for old, new in RENAMES.items():
                    line = re.sub(rf"\b{re.escape(old)}\b", new, line)
                if line:
                    lines.append(line)
            out.append((rel, lines))
    return out


@pytest.mark.parametrize("name", sorted(COPIES))
def test_written_out_copies_are_the_same_text(name):
    found = blocks(name)
    assert len(found) == len(COPIES[name]), [f for f, _ in found]  # every copy is marked
    first_file, first = found[0]
    assert len(first) > 20
    for rel, lines in found[1:]:
        assert lines == first, f"{rel} differs from {first_file}"


@hs.composite
def wandering_streams(draw):
    """Book rows whose price walks far (tens of ticks per step), so a small ladder recentres and drops levels."""
    rows = [(1_000, 0, 5, 0, 0.0, 0.0, 0)]
    centre = 2000
    for k in range(1, 6):
        rows.append((1_000, 0, 1, 1, (centre - k) * 0.5, 1.0, 0))
        rows.append((1_000, 0, 1, -1, (centre + k) * 0.5, 1.0, 0))
    t = 1_000
    for seq in range(1, draw(hs.integers(20, 120))):
        t += draw(hs.sampled_from([0, 1, 1_000]))
        if draw(hs.integers(0, 5)) == 0:
            centre += draw(hs.integers(-60, 60))  # a jump: the old levels are far away
        for _ in range(draw(hs.integers(1, 4))):
            side = draw(hs.sampled_from([1, -1]))
            tk = centre - draw(hs.integers(1, 40)) if side > 0 else centre + draw(hs.integers(1, 40))
            rows.append((t, 0, 2, side, tk * 0.5, draw(hs.sampled_from([0.0, 0.25, 1.0, 3.0])), seq))
        if draw(hs.integers(0, 15)) == 0:  # a fresh image around the new centre
            rows.append((t, 0, 5, 0, 0.0, 0.0, seq))
            for k in range(1, 4):
                rows.append((t, 0, 1, 1, (centre - k) * 0.5, 2.0, seq))
                rows.append((t, 0, 1, -1, (centre + k) * 0.5, 2.0, seq))
    return rows


def _book(books, a=0):
    return (books.bid_qty[a].copy(), books.ask_qty[a].copy(), int(books.base[a]), int(books.best_bid[a]),
            int(books.best_ask[a]), int(books.n_bid[a]), int(books.n_ask[a]), int(books.dropped[a]))


def _same(x, y):
    assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and x[2:] == y[2:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=wandering_streams(), ladder=hs.sampled_from([64, 256]), chunk=hs.sampled_from([1, 5, 1000]))
def test_loop_books_equal_the_scanners_on_small_ladders(rows, ladder, chunk):
    inst = instruments(1)
    events = make_events(rows)
    rp = Replayer(inst, probe(Schedule(interval_ms=0.001)), ladder=ladder, allow_crossed=True)
    scanner = BookScanner([inst[0].tick_size], ladder=ladder)
    for i in range(0, len(events), chunk):
        part = events.take(slice(i, i + chunk))
        rp.feed(part)
        scanner.feed(part)
        _same(_book(rp.state.books), _book(scanner.books))
    rp.finish()
    _same(_book(rp.state.books), _book(scanner.books))


def test_small_ladders_do_drop_and_recentre():
    """A 64-tick ladder recentres when the book walks away from its centre and drops what falls off the window."""
    rows = [(1_000, 0, 5, 0, 0.0, 0.0, 0), (1_000, 0, 1, 1, 999.5, 1.0, 0), (1_000, 0, 1, 1, 999.0, 1.0, 0),
            (1_000, 0, 1, -1, 1000.5, 1.0, 0),
            (2_000, 0, 2, 1, 999.5, 0.0, 1), (2_000, 0, 2, -1, 1000.5, 0.0, 1), (2_000, 0, 2, 1, 1010.0, 1.0, 1),
            (2_000, 0, 2, -1, 1011.0, 1.0, 1)]
    scanner = BookScanner([0.5], ladder=64)
    scanner.feed(make_events(rows))
    b = scanner.books
    assert b.base[0] == 2020 - 32 and b.dropped[0] == 0  # recentred on the new best bid (centre 1999 -> 2020)
    more = [(3_000, 0, 2, -1, 1011.0, 0.0, 2), (3_000, 0, 2, 1, 1025.0, 1.0, 2), (4_000, 0, 2, 1, 900.0, 1.0, 3)]
    scanner.feed(make_events(more))
    assert b.base[0] == 2050 - 32  # again: the bid at 999.0 (tick 1998) fell off the window's low end
    assert b.dropped[0] == 2  # that level, and the update at 900.0 (off the window)
    assert b.best_bid[0] == 2050 and b.bid_qty[0, 2020 - b.base[0]] == 1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=wandering_streams(), ladder=hs.sampled_from([64, 256]))
def test_batched_books_and_runs_equal_single_runs_on_small_ladders(rows, ladder):
    from helpers.script_strategy import script_strategy
    inst = instruments(1)
    events = make_events(rows)
    t_mid = rows[len(rows) // 2][0]
    acts = [(rows[0][0], 0, 0, 1, 999.5, 1.0, 1, 0), (t_mid, 0, 0, -1, 1001.0, 0.5, 0, 0),
            (t_mid, 0, 0, 1, 1000.0, 0.5, 2, 0)]
    strat, params = script_strategy(acts, schedule=Schedule(every_event=True, interval_ms=0.001))
    singles = []
    for seed in (1, 2):
        rp = Replayer(inst, strat, params, seed=seed, ladder=ladder, allow_crossed=True)
        rp.feed(events)
        singles.append((rp.finish(), _book(rp.state.books)))
    batch = BatchReplayer(inst, strat, [params, params], seeds=[1, 2], ladder=ladder, allow_crossed=True)
    for i in range(0, len(events), 7):
        batch.feed(events.take(slice(i, i + 7)))
    got = batch.finish()
    for (single, book), res in zip(singles, got):
        assert res.fills_hash == single.fills_hash and res.counters == single.counters
    _same(_book(batch.runs[0].state.books), singles[0][1])

"""The book scanner's one-pass kernel against the old per-row-call scanner and a plain-Python book.

Random event streams on two assets: books that cross (bids at or above asks), gaps, clears and
snapshots, BBO and trade rows, rows whose ts_local or seq goes back (rows ``validate`` rejects; the
scanner applies them as they come), updates far off a small ladder, fed in chunks that split messages;
and the bundled real recording.
"""
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from arbkit.book.scanner import MAX_CROSSED_REPORTED, BookScanner, scan_books
from helpers.events import make_events
from helpers.scanner_oracle import PerRowCallScanner

TICKS = [0.5, 0.01]
CENTRE = [200, 10_000]  # ticks


@hs.composite
def event_streams(draw, far=False):
    """Rows (ts, asset, kind, side, price, qty, seq); ``far``: some updates hundreds of ticks away."""
    rows = []
    t = 1_000
    seq = 0
    for _ in range(draw(hs.integers(1, 60))):
        step = draw(hs.sampled_from([0, 0, 1, 1_000, -1]))  # -1: ts_local goes back
        t += step
        seq += draw(hs.sampled_from([0, 1, 1, 2, -3]))  # -3: seq goes back
        a = draw(hs.integers(0, 1))
        what = draw(hs.sampled_from(["depth"] * 6 + ["image", "clear", "gap", "trade", "bbo"]))
        if what in ("depth", "image"):
            kind = 2 if what == "depth" else 1
            if what == "image":
                rows.append((t, a, 5, 0, 0.0, 0.0, seq))
            for _ in range(draw(hs.integers(1, 5))):
                side = draw(hs.sampled_from([1, -1]))
                off = draw(hs.integers(-4, 8))  # negative: the level is on the other side's half (crossed)
                if far and draw(hs.integers(0, 6)) == 0:
                    off = draw(hs.integers(20, 400))
                tk = CENTRE[a] - off if side > 0 else CENTRE[a] + off
                q = draw(hs.sampled_from([0.0, 0.0, 0.25, 1.0, 2.5]))
                rows.append((t, a, kind, side, tk * TICKS[a], q, seq))
        elif what == "clear":
            rows.append((t, a, 5, 0, 0.0, 0.0, seq))
        elif what == "gap":
            rows.append((t, a, 6, 0, 0.0, 0.0, seq))
        elif what == "trade":
            rows.append((t, a, 3, draw(hs.sampled_from([1, -1])), CENTRE[a] * TICKS[a], 1.0, seq))
        else:
            side = draw(hs.sampled_from([1, -1]))
            rows.append((t, a, 4, side, (CENTRE[a] - side) * TICKS[a], draw(hs.sampled_from([0.5, 3.0])), seq))
    return rows


def _cuts(draw_cuts, n):
    return sorted({c for c in draw_cuts if 0 < c < n})


def _feed(scanner, events, cuts, record):
    tops = []
    for lo, hi in zip([0, *cuts], [*cuts, len(events)]):
        out = scanner.feed(events.take(slice(lo, hi)), record_tops=record)
        if record:
            tops.append(out)
    scanner.finish()
    return np.concatenate(tops) if record else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=event_streams(far=True), ladder=hs.sampled_from([64, 1 << 12]), record=hs.booleans(),
       cuts=hs.lists(hs.integers(1, 300), max_size=4))
def test_scanner_equals_the_per_row_call_scanner(rows, ladder, record, cuts):
    """Every book array, flag, crossing, per-row top and final top equal the old scanner's, chunked the same way."""
    events = make_events(rows)
    cuts = _cuts(cuts, len(events))
    new, old = BookScanner(TICKS, ladder=ladder), PerRowCallScanner(TICKS, ladder=ladder)
    tops_new, tops_old = _feed(new, events, cuts, record), _feed(old, events, cuts, record)
    for field in new.books._fields:
        assert np.array_equal(getattr(new.books, field), getattr(old.books, field), equal_nan=True), field
    assert np.array_equal(new.depth_seen, old.depth_seen)
    assert (new.crossed_rows, new.crossed_assets, new.n_crossed, new.rows) == (
        old.crossed_rows, old.crossed_assets, old.n_crossed, old.rows)
    if record:
        assert np.array_equal(tops_new, tops_old, equal_nan=True)
    for a, tick in enumerate(TICKS):
        assert new.final_top(a, tick) == old.final_top(a, tick)


def _plain_python_scan(rows):
    """Per asset a dict tick -> qty per side; tops after every row; crossed at the end of each update message."""
    books = [({}, {}) for _ in TICKS]
    tops, crossed = [], []

    def best(a):
        bids = [k for k, q in books[a][0].items() if q > 0.0]
        asks = [k for k, q in books[a][1].items() if q > 0.0]
        return (max(bids) if bids else None), (min(asks) if asks else None)

    for r, (t, a, kind, side, price, qty, seq) in enumerate(rows):
        if kind in (1, 2):
            tick = math.floor(price * (1.0 / TICKS[a]) + 0.5)
            books[a][0 if side > 0 else 1][tick] = qty
        elif kind == 5:
            books[a] = ({}, {})
        bb, ba = best(a)
        tops.append((bb * TICKS[a] if bb is not None else math.nan, books[a][0][bb] if bb is not None else math.nan,
                     ba * TICKS[a] if ba is not None else math.nan, books[a][1][ba] if ba is not None else math.nan))
        if kind in (1, 2):
            nxt = rows[r + 1] if r + 1 < len(rows) else None
            continues = nxt is not None and nxt[1] == a and nxt[0] == t and nxt[6] == seq and nxt[2] in (1, 2)
            if not continues and bb is not None and ba is not None and bb >= ba:
                crossed.append(r)
    return np.array(tops).reshape(len(rows), 4), crossed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=event_streams(), cuts=hs.lists(hs.integers(1, 300), max_size=4))
def test_scanner_tops_and_crossings_equal_a_plain_python_book(rows, cuts):
    """On the default ladder (nothing falls off it) the tops after every row and the crossed rows are a dict book's."""
    events = make_events(rows)
    want_tops, want_crossed = _plain_python_scan(rows)
    scanner = BookScanner(TICKS)
    got = _feed(scanner, events, _cuts(cuts, len(events)), True)
    assert np.array_equal(got, want_tops, equal_nan=True)
    assert scanner.crossed_rows == want_crossed and scanner.n_crossed == len(want_crossed)
    assert [int(x) for x in scanner.books.dropped] == [0, 0]


def test_crossings_beyond_the_reported_limit_are_counted():
    """More crossed messages than are listed: the count keeps going, the list stops at its limit."""
    rows = [(1_000 + m, 0, 2, s, 100.0 + (1.0 if s > 0 else 0.0), 1.0, m) for m in range(MAX_CROSSED_REPORTED + 7)
            for s in (1, -1)]
    scanner, _ = scan_books(make_events(rows), [0.5])
    assert scanner.n_crossed == MAX_CROSSED_REPORTED + 7
    assert len(scanner.crossed_rows) == MAX_CROSSED_REPORTED and scanner.crossed_rows[:2] == [1, 3]


def test_scanner_equals_the_per_row_call_scanner_on_the_bundled_recording(bundled):
    """The real recording (three venues' books, dropped levels off the default ladder) in 65,536-row chunks."""
    cols = bundled.to_numpy()
    ticks = [i.tick_size for i in bundled.instruments]
    cuts = list(range(1 << 16, len(cols), 1 << 16))
    new, old = BookScanner(ticks), PerRowCallScanner(ticks)
    tops_new, tops_old = _feed(new, cols, cuts, True), _feed(old, cols, cuts, True)
    for field in new.books._fields:
        assert np.array_equal(getattr(new.books, field), getattr(old.books, field), equal_nan=True), field
    assert (new.crossed_rows, new.n_crossed) == (old.crossed_rows, old.n_crossed)
    assert np.array_equal(tops_new, tops_old, equal_nan=True)
    assert np.isfinite(tops_new[-1]).all() and int(new.books.dropped.sum()) > 0

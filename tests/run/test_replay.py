"""Replays of the bundled real recording: determinism, chunking, workers, books vs the book scanner."""
import numpy as np
import pytest
from joblib import Parallel, delayed

from arbkit.run.replay import replay
from arbkit.book.scanner import scan_books
from arbkit.core.schema import Kind
from arbkit.strategies.cross_taker import cross_taker
from arbkit.strategies.touch_mm import touch_mm
from helpers.paths import BUNDLED

MM_PARAMS = {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}
ARB_PARAMS = {"asset_a": 1, "asset_b": 2, "entry_bps": 1.5, "exit_bps": 0.0, "order_size": 1.0}
LATENCY = {"entry": {"samples_ns": [800_000, 1_000_000, 1_500_000, 4_000_000]}, "response": 1_000_000}
FILL = {"queue": "power", "queue_power": 2.0, "fill_probability": 0.8}


@pytest.fixture(scope="module")
def events(bundled):
    return bundled.to_numpy()


def _mm(events, instruments, chunk_rows):
    return replay(events, touch_mm(), MM_PARAMS, fill=FILL, latency=LATENCY, seed=11, instruments=instruments,
                  chunk_rows=chunk_rows)


def _hash_in_worker(path, chunk_rows):
    import arbkit
    rec = arbkit.load(path)
    res = replay(rec, touch_mm(), MM_PARAMS, fill=FILL, latency=LATENCY, seed=11, chunk_rows=chunk_rows)
    return res.fills_hash, res.summary()["counters"]


def test_same_fills_hash_across_runs_chunk_sizes_and_workers(bundled, events):
    whole = _mm(events, bundled.instruments, len(events))
    assert len(whole.fills) > 20 and whole.counters["maker_fills"] > 0
    again = _mm(events, bundled.instruments, len(events))
    small = _mm(events, bundled.instruments, 1_000)
    assert whole.fills_hash == again.fills_hash == small.fills_hash
    assert np.array_equal(whole.accounts, small.accounts)
    assert whole.counters == small.counters
    # streamed from the Parquet row groups, in two loky worker processes
    out = Parallel(n_jobs=2, backend="loky")(delayed(_hash_in_worker)(str(BUNDLED), r) for r in (65_536, 4_096))
    assert [h for h, _ in out] == [whole.fills_hash] * 2
    assert out[0][1] == whole.counters


def test_seed_changes_random_draws_only(bundled, events):
    a = _mm(events, bundled.instruments, 100_000)
    b = replay(events, touch_mm(), MM_PARAMS, fill=FILL, latency=LATENCY, seed=12, instruments=bundled.instruments)
    assert a.fills_hash != b.fills_hash  # empirical latency and fill probability draw differently
    c1 = replay(events, touch_mm(), MM_PARAMS, latency={"entry": 1_000_000}, seed=1, instruments=bundled.instruments)
    c2 = replay(events, touch_mm(), MM_PARAMS, latency={"entry": 1_000_000}, seed=2, instruments=bundled.instruments)
    assert c1.fills_hash == c2.fills_hash  # nothing random in this configuration


def test_arbitrage_taker_on_real_books(bundled, events):
    res = replay(events, cross_taker(), ARB_PARAMS, latency={"entry": 2_000_000, "response": 2_000_000},
                 instruments=bundled.instruments, chunk_rows=10_000)
    assert res.counters["taker_fills"] > 0 and res.counters["maker_fills"] == 0
    f = res.fills
    assert set(np.unique(f["asset"])) == {1, 2}
    assert np.all(f["slip_touch_bps"] >= 0)  # a taker never beats the touch it met
    # fills only at prices that were on the book: on-tick
    for a, inst in enumerate(bundled.instruments):
        px = f["price"][f["asset"] == a]
        assert np.allclose(np.round(px / inst.tick_size) * inst.tick_size, px)
    s = res.summary()
    for key in ("events", "fills", "fills_hash", "pnl"):
        assert key in s
    assert s["events"] == len(events)


def test_engine_books_equal_the_book_scanner_at_every_message(bundled, events):
    """Two book implementations (the engine's inlined update, the scanner's book.py) agree at each message end."""
    from arbkit.engine.replayer import Replayer
    from helpers.book_probe import top_recorder

    head = events.take(slice(0, 200_000))
    kind_cls = np.where(np.isin(head.kind, [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH]), 0, head.kind.astype(np.int64))
    same = ((head.asset[1:] == head.asset[:-1]) & (head.ts_local[1:] == head.ts_local[:-1])
            & (head.seq[1:] == head.seq[:-1]) & (kind_cls[1:] == kind_cls[:-1]))
    ends = np.flatnonzero(np.concatenate((~same, [True])))
    n = len(bundled.instruments)
    runner = Replayer(bundled.instruments, top_recorder(n, len(ends)))
    runner.feed(head)
    runner.finish()
    got = runner.user[1:1 + 4 * n * len(ends)].reshape(len(ends), n, 4)
    assert int(runner.user[0]) == len(ends)
    _, tops = scan_books(head, [i.tick_size for i in bundled.instruments], record_tops=True)
    # the scanner records the top of the row's asset after each row; carry each asset's last top forward
    for a in range(n):
        mine = head.asset == a
        last = np.maximum.accumulate(np.where(mine, np.arange(len(head)), -1))
        at_end = last[ends]
        ok = at_end >= 0
        want = tops[at_end[ok]]
        have = got[ok, a]
        np.testing.assert_array_equal(have[:, 0], want[:, 0])
        np.testing.assert_array_equal(have[:, 1], want[:, 2])
        np.testing.assert_array_equal(have[:, 2], np.nan_to_num(want[:, 1]))
        np.testing.assert_array_equal(have[:, 3], np.nan_to_num(want[:, 3]))


def test_window_starts_on_the_recorded_book_not_an_empty_one(bundled):
    """A replay of [w0, w1) sees at every message end the tops a replay from the start sees there."""
    import numpy as np
    from helpers.book_probe import top_recorder

    from arbkit.engine.replayer import Replayer

    n = len(bundled.instruments)
    w0 = bundled.manifest.start_ns + 120 * 10**9
    w1 = w0 + 2 * 10**9

    def recorded_tops(start, warm):
        run = Replayer(bundled.instruments, top_recorder(n, 200_000))
        if warm:
            for chunk in bundled.iter_chunks(50_000, end=start):
                run.warm(chunk)
        for chunk in bundled.iter_chunks(50_000, start=start, end=w1):
            run.feed(chunk)
        res = run.finish()
        k = int(run.user[0])
        return res, run.user[1:1 + 4 * n * k].reshape(k, n, 4)

    whole, all_tops = recorded_tops(None, False)
    win, win_tops = recorded_tops(w0, True)
    cold, cold_tops = recorded_tops(w0, False)
    m = len(win_tops)
    assert m > 100 and len(cold_tops) == m and whole.counters["messages"] > m
    assert np.array_equal(win_tops, all_tops[-m:], equal_nan=True)
    assert not np.array_equal(cold_tops, all_tops[-m:], equal_nan=True)  # an empty book at the start differs
    # replay() does the same warm-up
    res = replay(bundled, top_recorder(n, 10), start=w0, end=w1)
    assert res.counters["messages"] == m and res.span_ns[0] >= w0 and res.span_ns[1] < w1

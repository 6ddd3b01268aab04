"""The clock runs between events: timers fire inside a 30 s hole cut in every feed of the bundled real recording.

The recording's real events from 60 s to 140 s after its start, with every row of
[H0, H0 + 30 s) removed (H0 on the 100 ms grid) and, at H0 + 30 s, each book re-sent whole
(CLEAR + SNAPSHOT of the book as recorded then), as a recorder does when a feed comes back.
Oracle: the hole's own arithmetic (grid points, the last event of each feed before it),
computed from the columns, not the engine.
"""
import numpy as np
import pytest

from arbkit.book.scanner import scan_books
from arbkit.core.columns import EventColumns
from arbkit.core.errors import DataError
from arbkit.engine import Schedule
from arbkit.engine import codes as c
from arbkit.engine.replayer import Replayer
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies import get_strategy
from arbkit.strategies.arb import arb, round_trips
from helpers.probe_strategy import calls, probe

S = 1_000_000_000
MS = 1_000_000


@pytest.fixture(scope="module")
def holed(bundled):
    """(columns with the hole, instruments, start, end, hole start, hole end)."""
    cols = bundled.to_numpy()
    t0 = int(cols.ts_local[0])
    h0 = -(-(t0 + 90 * S) // (100 * MS)) * (100 * MS)  # on the 100 ms grid
    h1 = h0 + 30 * S
    insts = list(bundled.instruments)
    scanner, _ = scan_books(cols.take(cols.ts_local < h1), [i.tick_size for i in insts])
    b = scanner.books
    image = []  # (asset, kind, side, price, qty)
    for a, inst in enumerate(insts):
        image.append((a, 5, 0, 0.0, 0.0))
        for side, ladder in ((1, b.bid_qty[a]), (-1, b.ask_qty[a])):
            for i in np.flatnonzero(ladder):
                image.append((a, 1, side, float((b.base[a] + i) * b.tick[a]), float(ladder[i])))
    img = np.array(image, dtype=object)
    resync = EventColumns.from_arrays(
        ts_exch=np.full(len(img), h1, np.int64), ts_local=np.full(len(img), h1, np.int64),
        asset=img[:, 0].astype(np.int32), kind=img[:, 1].astype(np.uint8), side=img[:, 2].astype(np.int8),
        price=img[:, 3].astype(np.float64), qty=img[:, 4].astype(np.float64), seq=np.full(len(img), -1, np.int64))
    holed = EventColumns.concat([cols.take(cols.ts_local < h0), resync, cols.take(cols.ts_local >= h1)])
    return holed, insts, t0 + 60 * S, t0 + 140 * S, h0, h1


def _run(holed, strategy, params=None, **kw):
    cols, insts, start, end, _, _ = holed
    return replay(cols, strategy, params, instruments=insts, start=start, end=end, **kw)


def test_a_100ms_schedule_is_called_inside_the_hole(holed):
    cols, _, start, end, h0, h1 = holed
    res = _run(holed, probe(Schedule(interval_ms=100.0)), equity_interval_ms=1000.0)
    got = calls(res)
    inside = [(t, r) for t, r in got if h0 <= t < h1]
    assert len(inside) == 300  # 30 s / 100 ms, the grid aligned with the hole
    assert [t for t, _ in inside] == [h0 + k * 100 * MS for k in range(300)]
    assert {r for _, r in inside} == {c.CALL_INTERVAL}  # timer calls: no CALL_EVERY_EVENT
    # around the hole too: every grid point strictly between the last event before it and the first after
    ts = cols.ts_local
    last = int(ts[ts < h0].max())
    first = int(ts[ts >= h1].min())
    grid = [g for g in range(-(-(last + 1) // (100 * MS)) * 100 * MS, first, 100 * MS)]
    assert [t for t, _ in got if last < t < first] == grid
    assert res.counters["timer_calls"] >= 300
    # equity samples every whole second inside the hole (the interval, not the events, decides)
    eq = res.equity_ts
    assert list(eq[(eq >= h0) & (eq < h1)]) == list(range(-(-h0 // S) * S, h1, S))


def test_timers_pause_after_max_silence_and_fire_once_at_the_next_event(holed):
    cols, _, start, end, h0, h1 = holed
    res = _run(holed, probe(Schedule(interval_ms=100.0, max_silence_s=10.0)), equity_interval_ms=1000.0)
    ts = cols.ts_local
    last = int(ts[ts < h0].max())
    first = int(ts[ts >= h1].min())
    got = calls(res)
    inside = [t for t, _ in got if last < t < first]
    assert inside == [g for g in range(-(-(last + 1) // (100 * MS)) * 100 * MS, last + 10 * S + 1, 100 * MS)]
    at_first = [r for t, r in got if t == first]
    assert at_first and at_first[0] & c.CALL_INTERVAL  # what fell due while paused: one call, at the next event
    eq = res.equity_ts
    assert eq[(eq > last) & (eq < first)].max() <= last + 10 * S and first in eq


def test_max_gap_trips_the_kill_switch_two_seconds_into_the_hole(holed):
    cols, insts, start, end, h0, h1 = holed
    ts, asset = cols.ts_local, cols.asset
    lasts = [int(ts[(asset == a) & (ts < h0)].max()) for a in range(len(insts))]
    want = min(lasts) + 2000 * MS  # the feed silent longest: its last event + max_gap_ms
    assert h0 < want < h0 + 2000 * MS
    mm = get_strategy("touch_mm")
    res = _run(holed, mm, {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05},
               guards={"max_gap_ms": 2000.0}, latency={"entry": 1 * MS, "response": 1 * MS})
    ks = res.guards["kill_switch"]
    assert ks["tripped"] and ks["reason"] == "data_gap" and ks["ts"] == want
    # the trip cancels the live quotes at that time, during the silence
    sent = res.orders[(res.orders["event"] == c.EV_CANCEL_SENT) & (res.orders["reason"] == c.R_KILL_SWITCH)]
    assert len(sent) > 0 and set(sent["ts"].tolist()) == {want}
    done = res.orders[(res.orders["event"] == c.EV_CANCEL) & (res.orders["reason"] == c.R_KILL_SWITCH)]
    assert set(done["ts"].tolist()) == {want + 1 * MS}  # they reach the exchange after the entry latency
    assert res.counters["kill_switch_cancels"] == len(sent)


def test_arbitrage_time_limit_exits_one_second_after_entry_with_no_event(holed):
    cols, insts, start, end, h0, h1 = holed
    p = {"asset_a": 1, "asset_b": 0, "entry_bps": -1000.0, "tp_bps": 1e4, "stop_loss_bps": 1e4, "time_limit_s": 1.0,
         "order_size": 0.01, "net_of_fees": 0}
    res = replay(cols, arb(), p, instruments=insts, start=h0 - 500 * MS, end=end, allow_short=True,
                 latency={"entry": 1 * MS, "response": 1 * MS})
    first = round_trips(res)[0]
    assert first["exit_reason"] == "time_limit"
    # entered at the window's first message (just before the hole), the exit goes out inside it
    assert first["entry_ts"] < h0 < first["exit_ts"] < h1
    assert first["exit_ts"] - first["entry_ts"] == 1 * S  # decision + 1 s, both legs' fills after the same latency
    exits = res.fills[np.isin(res.fills["order_id"], first["orders"][2:])]
    assert len(exits) >= 2 and set(exits["ts"].tolist()) == {first["exit_ts"]}
    assert not ((cols.ts_local >= h0) & (cols.ts_local <= first["exit_ts"])).any()  # no event brought the exit


def test_batched_timer_strategies_across_the_hole_equal_their_own_replays(holed):
    cols, insts, start, end, h0, h1 = holed
    from test_batch import assert_same_run
    mm = get_strategy("mm")
    sets = [{"asset": 1, "mode": 1, "half_spread_bps": h, "order_size": 0.01, "max_position": 0.05} for h in (0.3, 1.0)]
    sets.append({"asset": 0, "mode": 0, "order_size": 0.0015, "max_position": 0.01})
    kw = {"instruments": insts, "start": start, "end": end, "latency": {"entry": {"samples_ns": [300_000, 2_500_000]},
                                                                        "response": 1 * MS},
          "guards": {"max_gap_ms": 5000.0}, "equity_interval_ms": 250.0}
    got = replay_batch(cols, mm, sets, seeds=[1, 2, 3], **kw)
    assert sum(r.counters["timer_calls"] for r in got) > 3 * 250
    assert all(r.guards["kill_switch"]["tripped"] for r in got)
    for p, s, r in zip(sets, [1, 2, 3], got):
        assert_same_run(r, replay(cols, mm, p, seed=s, **kw))


def _fed(cols, insts, strategy, params, start, end, chunk_rows, **kw):
    """Warm the books on everything before ``start`` at once, then feed [start, end) ``chunk_rows`` at a time."""
    rp = Replayer(insts, strategy, params, **kw)
    rp.warm(cols.take(cols.ts_local < start))
    window = cols.take((cols.ts_local >= start) & (cols.ts_local < end))
    for i in range(0, len(window), chunk_rows):
        rp.feed(window.take(slice(i, i + chunk_rows)))
    return rp


ARB_P = {"asset_a": 1, "asset_b": 0, "entry_bps": -1000.0, "tp_bps": 1e4, "stop_loss_bps": 1e4, "time_limit_s": 1.0,
         "order_size": 0.01, "net_of_fees": 0}


@pytest.mark.parametrize("chunk_rows", [1, 7, 65536])
def test_timer_runs_do_not_depend_on_chunking(holed, chunk_rows):
    cols, insts, start, end, h0, h1 = holed
    kw = {"latency": {"entry": 1 * MS, "response": 2 * MS}, "guards": {"max_gap_ms": 3000.0}}
    ref = replay(cols, arb(), ARB_P, instruments=insts, start=h0 - 1 * S, end=h1 + 1 * S, **kw)
    got = _fed(cols, insts, arb(), ARB_P, h0 - 1 * S, h1 + 1 * S, chunk_rows, **kw).finish()
    assert len(ref.fills) > 0 and got.fills_hash == ref.fills_hash
    assert got.counters == ref.counters and np.array_equal(got.equity_values, ref.equity_values)
    assert got.guards == ref.guards and ref.guards["kill_switch"]["tripped"]


def test_advance_to_fires_what_a_replay_fires_and_clock_end_replays_it(holed):
    """The paper runner's path: batches, the wall clock moving the engine between them, a clock end after the data."""
    cols, insts, start, end, h0, h1 = holed
    kw = {"latency": {"entry": 1 * MS, "response": 1 * MS}, "equity_interval_ms": 100.0}
    lo, hi = h0 - 3 * S, h1 + 3 * S
    part = cols.take(cols.ts_local < hi)
    clock_end = int(part.ts_local[-1]) + 2500 * MS
    want = replay(part, arb(), ARB_P, instruments=insts, start=lo, clock_end=clock_end, **kw)
    rp = Replayer(insts, arb(), ARB_P, **kw)
    rp.warm(part.take(part.ts_local < lo))
    window = part.take(part.ts_local >= lo)
    ts = window.ts_local
    tick = int(ts[0]) + 137 * MS
    i = 0
    while i < len(window):  # batches of what arrived by each tick, then the tick
        j = int(np.searchsorted(ts, tick, side="left"))
        if j > i:
            rp.feed(window.take(slice(i, j)))
            i = j
        rp.advance_to(tick)
        tick += 137 * MS
    rp.advance_to(clock_end)
    got = rp.finish()
    assert got.fills_hash == want.fills_hash and len(got.fills) > 0
    assert got.counters == want.counters
    assert np.array_equal(got.equity_ts, want.equity_ts) and np.array_equal(got.orders, want.orders)
    # round trips went on through the hole and after the last event, on their 1 s time limit
    assert any(h0 < f < h1 for f in got.fills["ts"]) and int(got.fills["ts"].max()) > int(ts[-1])
    assert got.span_ns[1] == clock_end
    # without the clock end the replay stops at the last event
    assert replay(part, arb(), ARB_P, instruments=insts, start=lo, **kw).fills_hash != want.fills_hash
    rp2 = Replayer(insts, arb(), ARB_P, **kw)
    rp2.feed(window.take(slice(0, 10)))
    rp2.advance_to(int(ts[20]))
    with pytest.raises(DataError, match="before the clock"):
        rp2.feed(window.take(slice(10, 30)))

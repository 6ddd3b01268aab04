"""Recording.write -> arbkit.load round-trips exactly; chunks and lazy queries see the same rows."""
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbkit
from arbkit.core.columns import EventColumns
from arbkit.core.schema import Instrument, Kind

INSTS = [Instrument("venue-a", "AAA", tick_size=0.01, lot_size=0.001),
         Instrument("venue-b", "BBB", tick_size=0.5, lot_size=1.0, contract_type="inverse_perp", contract_size=100.0)]


@st.composite
def event_tables(draw):
    n = draw(st.integers(0, 300))
    deltas = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    ts = np.cumsum(np.array(deltas, dtype=np.int64)) + 1_700_000_000_000_000_000
    asset = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int32)
    kind = np.array(draw(st.lists(st.sampled_from([int(k) for k in Kind]), min_size=n, max_size=n)), dtype=np.uint8)
    side = np.array(draw(st.lists(st.sampled_from([-1, 1]), min_size=n, max_size=n)), dtype=np.int8)
    ticks = np.array(draw(st.lists(st.integers(1, 10**7), min_size=n, max_size=n)), dtype=np.float64)
    tick = np.where(asset == 0, 0.01, 0.5)
    qty = np.array(draw(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=n, max_size=n)), dtype=np.float64)
    seq = np.array(draw(st.lists(st.integers(-1, 2**62), min_size=n, max_size=n)), dtype=np.int64)
    ts_exch = ts - np.array(draw(st.lists(st.integers(-10**9, 10**9), min_size=n, max_size=n)), dtype=np.int64)
    return EventColumns(ts_exch, ts, asset, kind, side, ticks * tick, qty, seq)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_tables(), part_rows=st.integers(1, 200), group_rows=st.integers(1, 64))
def test_write_then_load_round_trips_exactly(tmp_path_factory, events, part_rows, group_rows):
    path = tmp_path_factory.mktemp("rec")
    rec = arbkit.Recording.write(path, events, INSTS, part_rows=part_rows, row_group_rows=group_rows, overwrite=True)
    back = rec.to_numpy()
    assert back.equals(events)
    assert rec.n_events == len(events)
    assert rec.instruments == INSTS
    chunks = list(rec.iter_chunks(max(1, group_rows // 2 + 1)))
    assert EventColumns.concat(chunks).equals(events) if chunks else len(events) == 0
    assert rec.events().select(pl.len()).collect().item() == len(events)
    if len(events):
        by_kind = rec.manifest.by_kind
        assert sum(by_kind.values()) == len(events)
        assert rec.manifest.start_ns == int(events.ts_local[0]) and rec.manifest.end_ns == int(events.ts_local[-1])


def test_filters_select_assets_and_time(tmp_path):
    from helpers.events import make_events
    ev = make_events([(t, t % 2, Kind.TRADE, 1, 1.0 + t, 1.0, t) for t in range(1, 101)])
    rec = arbkit.Recording.write(tmp_path / "r", ev, INSTS, row_group_rows=7)
    sub = rec.to_numpy(assets=["venue-b:BBB"], start=10, end=50)
    assert set(sub.asset.tolist()) == {1}
    assert sub.ts_local.min() >= 10 and sub.ts_local.max() < 50
    assert len(sub) == 20
    lazy = rec.events(assets=["BBB"], start=10, end=50).collect()
    assert lazy["ts_local"].to_list() == sub.ts_local.tolist()


def test_writer_refuses_unsorted_and_unknown_assets(tmp_path):
    from helpers.events import make_events
    with pytest.raises(arbkit.core.errors.DataError if hasattr(arbkit, "errors") else Exception, match="row 2.*ts_local"):
        arbkit.Recording.write(tmp_path / "a", make_events([(1, 0, 3, 1, 1.0, 1.0, 1), (3, 0, 3, 1, 1.0, 1.0, 2),
                                                            (2, 0, 3, 1, 1.0, 1.0, 3)]), INSTS)
    with pytest.raises(Exception, match="asset 7"):
        arbkit.Recording.write(tmp_path / "b", make_events([(1, 7, 3, 1, 1.0, 1.0, 1)]), INSTS)


def test_writer_does_not_overwrite_without_asking(tmp_path):
    from helpers.events import make_events
    ev = make_events([(1, 0, 3, 1, 1.0, 1.0, 1)])
    arbkit.Recording.write(tmp_path / "r", ev, INSTS)
    with pytest.raises(Exception, match="not empty"):
        arbkit.Recording.write(tmp_path / "r", ev, INSTS)
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="refusing"):
        arbkit.Recording.write(tmp_path / "r", ev, INSTS, overwrite=True)
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"
    assert arbkit.load(tmp_path / "r").n_events == 1  # the existing recording is untouched


def test_a_writer_left_by_an_error_keeps_its_rows_and_stays_incomplete(tmp_path):
    """`with RecordingWriter(...)` ended by an exception: the rows given so far are on disk, the manifest says
    the writer did not finish (validate warns), and the directory's lock is free again."""
    from arbkit.io.writer import RecordingWriter
    from helpers.events import make_events
    with pytest.raises(RuntimeError, match="source died"):
        with RecordingWriter(tmp_path / "r", INSTS) as w:
            w.append(make_events([(1, 0, 3, 1, 1.0, 1.0, 1), (2, 0, 3, 1, 1.0, 2.0, 2)]))
            raise RuntimeError("source died")
    rec = arbkit.load(tmp_path / "r")
    assert rec.n_events == 2 and not rec.manifest.complete
    with RecordingWriter(tmp_path / "r", INSTS, overwrite=True) as w:  # the lock was given up
        w.append(make_events([(1, 0, 3, 1, 1.0, 1.0, 1)]))
    assert arbkit.load(tmp_path / "r").manifest.complete

"""The reader's row checks agree with ``arbkit validate`` row for row (hypothesis), and parts are verified by hash."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbkit.core.columns import EventColumns
from arbkit.core.errors import DataError
from arbkit.core.schema import Instrument
from arbkit.io.check import ValidationReport, _check_rows
from arbkit.io.read_checks import PROBLEMS, RowGuard, verify_parts
from arbkit.io.recording import Recording
from helpers.bad_input import copy_recording, small_recording, tamper_part

TICKS = np.array([0.5, 0.01])
ROW_ERRORS = {name for name, _ in PROBLEMS.values()}


@st.composite
def event_rows(draw):
    """Mostly good rows of two instruments, with now and then a bad value in one column."""
    n = draw(st.integers(1, 40))
    ts = np.cumsum(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))).astype(np.int64) + 1_000
    asset = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.int32)
    kind = np.array(draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, 6]), min_size=n, max_size=n)), np.uint8)
    side = np.where(np.isin(kind, [5, 6]), 0, np.array(draw(st.lists(st.sampled_from([1, -1]), min_size=n,
                                                                     max_size=n)))).astype(np.int8)
    price = np.where(np.isin(kind, [5, 6]), 0.0, (np.arange(n) % 7 + 100) * TICKS[asset])
    qty = np.full(n, 1.0)
    cols = {"ts_local": ts, "asset": asset, "kind": kind, "side": side, "price": price, "qty": qty}
    for _ in range(draw(st.integers(0, 4))):
        r = draw(st.integers(0, n - 1))
        col, value = draw(st.sampled_from([
            ("ts_local", -5), ("asset", 2), ("asset", -1), ("kind", 9), ("side", 0), ("side", 3),
            ("price", np.nan), ("price", np.inf), ("price", -1.0), ("price", 0.0), ("price", 100.25),
            ("qty", np.nan), ("qty", -2.0)]))
        cols[col] = cols[col].copy()
        cols[col][r] = cols[col][r] + value if col == "ts_local" else value
    return EventColumns.from_arrays(ts_exch=cols["ts_local"], seq=np.full(n, -1), **cols)


def _validate_rows(cols):
    report = ValidationReport("x")
    _check_rows(report, cols, "part", 0, np.iinfo(np.int64).min, 2, TICKS, np.full(2, -1, np.int64),
                np.zeros(256, np.int64))
    return report


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_rows())
def test_the_first_row_refused_is_validates_first_error_row(cols):
    report = _validate_rows(cols)
    bad_rows = sorted({i.row for i in report.errors if i.check in ROW_ERRORS})
    guard = RowGuard(TICKS)
    if not bad_rows:
        assert guard.check(cols, "part", 0) is cols
        return
    with pytest.raises(DataError) as info:
        guard.check(cols, "part", 0)
    assert info.value.row == bad_rows[0]
    assert info.value.field in {i.field for i in report.errors if i.row == bad_rows[0]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_rows())
def test_skipping_leaves_exactly_rows_validate_accepts(cols):
    guard = RowGuard(TICKS, skip_bad=True)
    kept = guard.check(cols, "part", 0)
    assert np.all(np.diff(kept.ts_local) >= 0)
    assert guard.tally.total == len(cols) - len(kept)
    assert not _validate_rows(kept).errors  # what is left validates clean
    report = _validate_rows(cols)
    flagged = {i.row for i in report.errors if i.check != "unsorted"}  # ts steps are judged on the kept rows
    assert len(kept) <= len(cols) - len(flagged)


def test_the_tally_counts_by_validate_check(tmp_path):
    rec = small_recording(tmp_path / "one", assets=(1,), seconds=3)
    bad = copy_recording(rec, tmp_path / "bad")
    tamper_part(bad, 0, [5, 6, 7], qty=-1.0)
    tamper_part(bad, 0, 9, price=float("nan"))
    from arbkit.io.read_checks import checked_stream

    guard = RowGuard([i.tick_size for i in Recording(bad).instruments], skip_bad=True)
    rows = sum(len(c) for _, c, _ in checked_stream(Recording(bad), 1000, guard=guard))
    assert guard.tally.by_check == {"negative": 3, "non_finite": 1}
    assert rows == Recording(rec).n_events - 4
    assert guard.tally.first.endswith("row 5, field 'qty': qty -1.0 is negative")


def test_verify_parts_names_the_changed_part(tmp_path):
    rec = small_recording(tmp_path / "one", assets=(1,), seconds=3)
    verify_parts(Recording(rec))
    bad = copy_recording(rec, tmp_path / "bad")
    part = tamper_part(bad, 0, 3, qty=2.5, rehash=False)
    with pytest.raises(DataError, match="differs from manifest.json's") as info:
        verify_parts(Recording(bad))
    assert info.value.path == str(part) and info.value.field == "sha256"


def test_instrument_entries_name_their_field():
    with pytest.raises(ValueError, match="tick_size must be a positive number"):
        Instrument("v", "s", tick_size=-1, lot_size=1)

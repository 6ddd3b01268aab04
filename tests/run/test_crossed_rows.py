"""A crossed book stops a replay naming the part file and the row in it: the row ``arbkit validate`` names.

The engine counts rows across the chunks it is fed; with several parts, a window or rows left out
that count is no row of any file. Each chunk now comes with its origin (part file, file rows), and
the error and ``result.crossed`` name the file row. The oracle is ``validate``'s crossed-book check,
which walks the parts itself.
"""
from pathlib import Path

import numpy as np
import pytest

from arbkit.core.errors import DataError
from arbkit.io.check import validate
from arbkit.run.replay import replay, replay_batch
from helpers.bad_input import copy_recording, part_columns, small_recording, tamper_part

MM = {"asset": 0, "mode": 1, "order_size": 0.01, "max_position": 0.05}


@pytest.fixture(scope="module")
def crossed(tmp_path_factory) -> tuple[Path, str, int]:
    """The bundled USD-M events, 20 s in parts of 2,000 rows, with one bid in part 2 raised far above every ask."""
    base = small_recording(tmp_path_factory.mktemp("x") / "rec", assets=(1,), seconds=20.0, part_rows=2000)
    rec = copy_recording(base, tmp_path_factory.mktemp("y") / "crossed")
    cols = part_columns(rec, 2)
    bids = np.flatnonzero((cols.kind == 2) & (cols.side == 1) & (cols.qty > 0))
    row = int(bids[len(bids) // 2])
    tamper_part(rec, 2, [row], price=float(cols.price[row]) + 1000.0)
    errors = [e for e in validate(rec).errors if e.check == "crossed_book"]
    assert errors, "validate sees the crossing"
    return rec, errors[0].path, errors[0].row


def test_replay_names_the_part_file_and_its_row(crossed):
    rec, path, row = crossed
    assert Path(path).name == "part-00002.parquet" and row < 2000
    with pytest.raises(DataError) as err:
        replay(rec, "mm", MM)
    assert (Path(err.value.path), err.value.row) == (Path(path), row)
    assert f"part-00002.parquet, row {row}:" in str(err.value)


def test_a_window_and_small_chunks_do_not_move_the_row(crossed):
    rec, path, row = crossed
    start = int(part_columns(rec, 2).ts_local[row // 3])  # inside the crossing's part, before its row
    for kw in ({"start": start}, {"chunk_rows": 333}, {"start": start, "chunk_rows": 1000}):
        with pytest.raises(DataError) as err:
            replay(rec, "mm", MM, **kw)
        assert (Path(err.value.path), err.value.row) == (Path(path), row), kw


def test_rows_left_out_before_it_do_not_move_the_row(crossed, tmp_path):
    rec, path, row = crossed
    bad = copy_recording(rec, tmp_path / "bad")
    tamper_part(bad, 2, [row - 7], price=float("nan"))  # a NaN price a few rows before, in the same part
    with pytest.raises(DataError) as err:
        replay(bad, "mm", MM, allow_bad_rows=True)
    assert (Path(err.value.path).name, err.value.row) == (Path(path).name, row)


def test_the_batched_replay_and_the_result_name_the_same_row(crossed):
    rec, path, row = crossed
    with pytest.raises(DataError) as err:
        replay_batch(rec, "mm", [MM, {**MM, "half_spread_bps": 3.0}])
    assert (Path(err.value.path), err.value.row) == (Path(path), row)
    res = replay(rec, "mm", MM, allow_crossed=True)
    assert (Path(res.crossed["first_file"]), res.crossed["first_row"]) == (Path(path), row)
    assert res.crossed["count"] >= 1
    batch = replay_batch(rec, "mm", [MM, MM], allow_crossed=True)
    assert all(r.crossed == res.crossed for r in batch)

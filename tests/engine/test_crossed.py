"""A book left crossed after a complete book message: a replay stops with one line naming where, unless allowed.

Allowed (``allow_crossed=True``, ``--allow-crossed``, config ``allow_crossed: true``) the
crossings are counted, with the first one's row, time and instrument, in the result and the
KPI block; the batched kernel and a sweep do the same.
"""
import json

import pytest

from arbkit.apps.cli import main
from arbkit.core.errors import DataError
from arbkit.io.writer import RecordingWriter
from arbkit.kpi import compute_kpis
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies.touch_mm import touch_mm
from helpers.events import make_events
from helpers.fill_books import IMAGE, INST

# the bid comes up to 100.5, the ask there stays: best bid 100.5 >= best ask 100.5 after message 1 (row 7);
# message 2 (bid 101.0, row 8) crosses again; message 3 clears it
ROWS = [(200, 0, 2, 1, 100.5, 1.0, 1), (200, 0, 2, 1, 99.0, 0.0, 1), (300, 0, 2, 1, 101.0, 1.0, 2),
        (400, 0, 2, 1, 101.0, 0.0, 3), (400, 0, 2, 1, 100.5, 0.0, 3), (500, 0, 4, 1, 99.5, 1.0, 4)]
MM = {"asset": 0, "half_spread_bps": 20.0, "order_size": 0.25, "max_position": 1.0}


def test_a_crossed_book_stops_the_replay_with_one_line_naming_where():
    with pytest.raises(DataError) as e:
        replay(make_events(IMAGE + ROWS), touch_mm(), MM, instruments=INST)
    assert e.value.row == len(IMAGE) + 1  # the last row of the message that left the book crossed
    msg = str(e.value)
    assert "\n" not in msg and "sim:X" in msg and "ts_local 200" in msg and "allow_crossed" in msg


def test_the_row_named_is_the_input_row_when_mark_rows_are_skipped():
    marks = [(150, 0, 8, 0, 100.1, 100.0, -1), (150, 0, 8, 0, 100.2, 100.0, -1)]  # MARK rows: not engine rows
    with pytest.raises(DataError) as e:
        replay(make_events(IMAGE + marks + ROWS), touch_mm(), MM, instruments=INST)
    assert e.value.row == len(IMAGE) + 2 + 1
    res = replay(make_events(IMAGE + marks + ROWS), touch_mm(), MM, instruments=INST, allow_crossed=True)
    assert res.crossed["first_row"] == len(IMAGE) + 3
    got = replay_batch(make_events(IMAGE + marks + ROWS), touch_mm(), [MM, MM], instruments=INST, allow_crossed=True)
    assert got[1].crossed == res.crossed


def test_allowed_crossings_are_counted_in_the_result_and_the_kpis():
    res = replay(make_events(IMAGE + ROWS), touch_mm(), MM, instruments=INST, allow_crossed=True)
    assert res.counters["crossed_books"] == 2
    assert res.crossed == {"count": 2, "first_file": None, "first_row": len(IMAGE) + 1, "first_ts": 200,
                           "first_instrument": "sim:X"}
    assert compute_kpis(res)["total"]["crossed_books"] == 2
    clean = replay(make_events(IMAGE + ROWS[-1:]), touch_mm(), MM, instruments=INST)
    assert clean.counters["crossed_books"] == 0 and clean.crossed is None
    assert compute_kpis(clean)["total"]["crossed_books"] == 0


def test_the_batched_kernel_stops_or_counts_the_same():
    events = make_events(IMAGE + ROWS)
    with pytest.raises(DataError, match="crossed book") as e:
        replay_batch(events, touch_mm(), [MM, {**MM, "half_spread_bps": 30.0}], instruments=INST)
    assert e.value.row == len(IMAGE) + 1
    got = replay_batch(events, touch_mm(), [MM, {**MM, "half_spread_bps": 30.0}], instruments=INST, allow_crossed=True)
    assert [r.counters["crossed_books"] for r in got] == [2, 2]
    assert got[0].crossed == replay(events, touch_mm(), MM, instruments=INST, allow_crossed=True).crossed


def test_command_line_and_config_key(tmp_path, capsys):
    rec = tmp_path / "crossed"
    with RecordingWriter(rec, INST) as w:
        w.append(make_events(IMAGE + ROWS))
    cfg = tmp_path / "run.yaml"
    cfg.write_text("strategy: touch_mm\nparams: {asset: 0, half_spread_bps: 20.0, order_size: 0.25}\n")
    assert main(["replay", str(rec), "--config", str(cfg), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crossed book" in err and "row 7" in err and str(rec) in err
    assert main(["replay", str(rec), "--config", str(cfg), "--json", "--allow-crossed"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counters"]["crossed_books"] == 2 and out["kpis"]["total"]["crossed_books"] == 2
    cfg.write_text(cfg.read_text() + "allow_crossed: true\n")
    assert main(["replay", str(rec), "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counters"]["crossed_books"] == 2
    cfg.write_text(cfg.read_text().replace("allow_crossed: true", "allow_crossed: yes please"))
    assert main(["replay", str(rec), "--config", str(cfg)]) == 2
    assert "allow_crossed must be true or false" in capsys.readouterr().err


def test_a_sweep_stops_or_counts(tmp_path):
    from arbkit.sweep import sweep
    rec = tmp_path / "crossed"
    with RecordingWriter(rec, INST) as w:
        w.append(make_events(IMAGE + ROWS))
    grid = {"half_spread_bps": [20.0, 30.0]}
    with pytest.raises(DataError, match="crossed book"):
        sweep(rec, "touch_mm", grid, base_params=MM, out_dir=tmp_path / "s1", progress=False)
    res = sweep(rec, "touch_mm", grid, base_params=MM, out_dir=tmp_path / "s2", progress=False, allow_crossed=True)
    assert res.table()["crossed_books"].to_list() == [2, 2]

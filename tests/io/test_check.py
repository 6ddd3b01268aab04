"""Every bad input named in the foundation issue gets an error naming the place and the problem."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import arbkit
from arbkit.core.errors import DataError
from arbkit.io.manifest import sha256_file
from arbkit.core.schema import Instrument, Kind
from arbkit.io.check import validate
from helpers.events import make_events

INSTS = [Instrument("v", "AAA", tick_size=0.5, lot_size=1.0)]
PART = "parts/part-00000.parquet"


def good_rows():
    return [
        (10, 0, Kind.CLEAR, 0, 0.0, 0.0, 1),
        (10, 0, Kind.SNAPSHOT, 1, 100.0, 5.0, 1),
        (10, 0, Kind.SNAPSHOT, 1, 99.5, 3.0, 1),
        (10, 0, Kind.SNAPSHOT, -1, 101.0, 4.0, 1),
        (20, 0, Kind.DEPTH, 1, 100.5, 2.0, 2),
        (30, 0, Kind.TRADE, -1, 100.5, 1.0, 77),
        (40, 0, Kind.BBO, 1, 100.5, 2.0, 3),
        (40, 0, Kind.BBO, -1, 101.0, 4.0, 3),
        (50, 0, Kind.DEPTH, -1, 101.0, 0.0, 4),
        (50, 0, Kind.DEPTH, -1, 101.5, 6.0, 4),
    ]


@pytest.fixture
def rec(tmp_path):
    arbkit.Recording.write(tmp_path / "rec", make_events(good_rows()), INSTS)
    return tmp_path / "rec"


def rewrite_part(rec, mutate, *, fix_hash=True, schema=None):
    """Rewrite the part with ``mutate(table_dict)`` applied, bypassing the writer's checks."""
    path = rec / PART
    cols = pq.read_table(path).to_pydict()
    mutate(cols)
    table = pa.table(cols, schema=schema or pq.read_schema(path))
    pq.write_table(table, path)
    if fix_hash:
        m = json.loads((rec / "manifest.json").read_text())
        m["parts"][0]["sha256"] = sha256_file(path)
        m["parts"][0]["rows"] = table.num_rows
        m["events"] = table.num_rows
        (rec / "manifest.json").write_text(json.dumps(m))


def only_error(report, check):
    errs = [e for e in report.errors if e.check == check]
    assert errs, [str(e) for e in report.issues]
    return errs[0]


def test_good_recording_validates(rec):
    report = validate(rec)
    assert report.ok, [str(i) for i in report.issues]
    assert report.rows_checked == 10


def test_unsorted_timestamps(rec):
    def m(c):
        c["ts_local"][5] = 5
    rewrite_part(rec, m)
    e = only_error(validate(rec), "unsorted")
    assert e.path.endswith(PART) and e.row == 5 and e.field == "ts_local"


@pytest.mark.parametrize("field,value,check", [("price", float("nan"), "non_finite"), ("qty", float("inf"), "non_finite"),
                                               ("qty", -1.0, "negative"), ("price", -100.0, "negative")])
def test_nan_inf_negative(rec, field, value, check):
    def m(c):
        c[field][4] = value
    rewrite_part(rec, m)
    report = validate(rec)
    e = only_error(report, check)
    assert e.row == 4 and e.field == field and e.path.endswith(PART)
    # the crossed-book check stops at the batch holding the bad row and names that row
    stop = [w for w in report.warnings if w.check == "books_unchecked"]
    assert len(stop) == 1 and stop[0].row == 0 and "row 4 has errors" in stop[0].message


def test_price_off_tick_grid(rec):
    def m(c):
        c["price"][5] = 100.3
    rewrite_part(rec, m)
    e = only_error(validate(rec), "off_tick")
    assert e.row == 5 and e.field == "price" and "100.3" in e.message and "0.5" in e.message


def test_unknown_kind_and_asset(rec):
    def m(c):
        c["kind"][5] = 42
        c["asset"][6] = 3
    rewrite_part(rec, m)
    report = validate(rec)
    assert only_error(report, "unknown_kind").row == 5
    e = only_error(report, "unknown_asset")
    assert e.row == 6 and e.field == "asset"


def test_crossed_book_after_update(rec):
    def m(c):
        c["price"][4] = 101.5  # a bid at 101.5 against the 101.0 ask
    rewrite_part(rec, m)
    e = only_error(validate(rec), "crossed_book")
    assert e.row == 4 and "v:AAA" in e.message


def test_sequence_gap_is_reported(tmp_path):
    rows = good_rows() + [(60, 0, Kind.GAP, 0, 0.0, 0.0, 9)]
    arbkit.Recording.write(tmp_path / "g", make_events(rows), INSTS)
    report = validate(tmp_path / "g")
    assert report.ok
    gap = [w for w in report.warnings if w.check == "gap"]
    assert gap and gap[0].row == 10


def test_truncated_parquet(rec):
    path = rec / PART
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = validate(rec)
    assert only_error(report, "hash_mismatch").path.endswith(PART)
    assert "corrupt or truncated" in only_error(report, "corrupt_part").message
    with pytest.raises(DataError, match="corrupt or truncated") as exc:
        arbkit.load(rec).to_numpy()
    assert exc.value.path.endswith(PART)


def test_corrupt_parquet_bytes(rec):
    path = rec / PART
    data = bytearray(path.read_bytes())
    data[len(data) // 3: len(data) // 3 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    report = validate(rec)
    assert not report.ok
    assert only_error(report, "hash_mismatch").field == "sha256"


def test_wrong_schema(rec):
    def m(c):
        c["price"] = [str(x) for x in c["price"]]
    schema = pq.read_schema(rec / PART).set(5, pa.field("price", pa.string()))
    rewrite_part(rec, m, schema=schema)
    e = only_error(validate(rec), "schema")
    assert e.field == "price" and "string" in e.message
    with pytest.raises(DataError, match="price"):
        arbkit.load(rec).to_numpy()


def test_manifest_parts_mismatch(rec):
    m = json.loads((rec / "manifest.json").read_text())
    m["parts"][0]["rows"] = 11
    m["events"] = 11
    (rec / "manifest.json").write_text(json.dumps(m))
    report = validate(rec)
    e = only_error(report, "row_count")
    assert "11" in e.message
    with pytest.raises(DataError, match="manifest.json says 11"):
        arbkit.load(rec).to_numpy()


def test_missing_part_and_broken_manifest(rec, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(rec, copy)
    (copy / PART).unlink()
    assert only_error(validate(copy), "missing_part").path.endswith(PART)
    with pytest.raises(DataError, match="missing"):
        arbkit.load(copy)
    (rec / "manifest.json").write_text("{not json")
    e = only_error(validate(rec), "manifest")
    assert "manifest.json" in e.path and "not valid JSON" in e.message
    with pytest.raises(DataError, match="manifest.json"):
        arbkit.load(rec)


def test_cli_validate_exit_codes(rec):
    ok = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "validate", str(rec)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout

    def m(c):
        c["price"][4] = float("nan")
    rewrite_part(rec, m)
    bad = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "validate", str(rec)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "part-00000.parquet, row 4, field 'price'" in bad.stderr

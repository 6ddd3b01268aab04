"""Converters and merge refuse inputs that would build books that never existed, naming the line or row."""
import gzip
import json

import pytest

from arbkit.convert import run_converter
from arbkit.core.errors import DataError
from arbkit.io.check import validate
from arbkit.io.merge import merge_recordings
from helpers.bad_input import copy_recording, one_line_error, run_cli, small_recording, tamper_part
from helpers.paths import ROOT, shared

BINANCE_RAW = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"
LOBSTER = "AAPL_2012-06-21_34200000_57600000_{}_10.first999.csv"


def _lines(path):
    return gzip.open(path, "rt").read().splitlines(keepends=True)


def test_binance_capture_whose_clock_steps_back_20s_is_refused_naming_the_line(tmp_path):
    lines = _lines(BINANCE_RAW)
    ts, rest = lines[2000].split(" ", 1)
    lines[2000] = f"{int(ts) - 20_000_000_000} {rest}"
    src = tmp_path / "stepped.txt"
    src.write_text("".join(lines))
    proc = run_cli("convert", "-f", "binance", str(src), "-o", str(tmp_path / "out"))
    one_line_error(proc, f"{src}, row 2001, field 'local_ts': local time steps back 20.000 s",
                   f"on line 2000", "cut the file at this line")
    assert not (tmp_path / "out").exists()
    # the untouched capture converts and validates clean (the rule costs nothing on good data)
    ok = run_converter("binance", [BINANCE_RAW])
    assert len(ok.events) > 0


def test_cryptofeed_clock_rule_is_per_connection(tmp_path):
    """Connections are written block by block: a later block may start earlier; inside one, time must not go back."""
    src = shared("cryptofeed_recordings", "cryptofeed_KRAKEN.jsonl.gz")
    lines = _lines(src)
    assert len(run_converter("cryptofeed", [src]).events) > 0  # real blocks step back ~30 s between connections
    recs = [json.loads(x) for x in lines]
    i = next(k for k in range(200, len(recs)) if recs[k].get("t") == "recv" and recs[k + 1].get("t") == "recv"
             and recs[k].get("conn") == recs[k + 1].get("conn"))
    recs[i + 1]["ts"] = recs[i]["ts"] - 5.0
    bad = tmp_path / "cf.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in recs))
    with pytest.raises(DataError, match=rf"row {i + 2}, field 'ts': local time of stream {recs[i]['conn']} steps back "
                                        r"5.000 s"):
        run_converter("cryptofeed", [bad])


def _lobster_pair(tmp_path, message_lines):
    src = shared("lobster_sample_subset")
    (tmp_path / LOBSTER.format("orderbook")).write_bytes((src / LOBSTER.format("orderbook")).read_bytes())
    (tmp_path / LOBSTER.format("message")).write_text("".join(message_lines))
    return [tmp_path / LOBSTER.format("message"), tmp_path / LOBSTER.format("orderbook")]


def test_lobster_real_pair_lines_up():
    src = shared("lobster_sample_subset")
    res = run_converter("lobster", [src / LOBSTER.format("message"), src / LOBSTER.format("orderbook")])
    assert res.report["files"][LOBSTER.format("message")]["messages"] == 999


def test_lobster_message_file_with_a_row_deleted_fails_at_that_row(tmp_path):
    lines = (shared("lobster_sample_subset") / LOBSTER.format("message")).read_text().splitlines(keepends=True)
    files = _lobster_pair(tmp_path, lines[:300] + lines[301:])
    proc = run_cli("convert", "-f", "lobster", *map(str, files), "-o", str(tmp_path / "out"))
    one_line_error(proc, f"{files[0]}, row 301: message", "the message and orderbook files do not line up here")
    assert not (tmp_path / "out").exists()


def test_lobster_message_file_cut_to_half_fails(tmp_path):
    lines = (shared("lobster_sample_subset") / LOBSTER.format("message")).read_text().splitlines(keepends=True)
    files = _lobster_pair(tmp_path, lines[:len(lines) // 2])
    proc = run_cli("convert", "-f", "lobster", *map(str, files), "-o", str(tmp_path / "out"))
    one_line_error(proc, f"{files[0]}, row {len(lines) // 2 + 1}: {files[0].name} ends after {len(lines) // 2} rows "
                         f"but {files[1].name} goes on")


def test_lobster_message_whose_effect_is_not_the_book_change(tmp_path):
    lines = (shared("lobster_sample_subset") / LOBSTER.format("message")).read_text().splitlines(keepends=True)
    fields = lines[10].rstrip("\n").split(",")
    fields[3] = str(int(fields[3]) + 7)  # the size no longer matches the book's change
    lines[10] = ",".join(fields) + "\n"
    with pytest.raises(DataError, match=r"row 11: message .* should leave .* the book has"):
        run_converter("lobster", _lobster_pair(tmp_path, lines))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("merge")
    return small_recording(base / "a", assets=(0,), seconds=5), small_recording(base / "b", assets=(1,), seconds=5)


@pytest.mark.parametrize("column, value, needle", [
    ("price", float("nan"), "row 40, field 'price': merge input refused: price is nan"),
    ("ts_local", 1_700_000_000_000_000_000, "row 40, field 'ts_local': merge input refused: ts_local 1700000000000000000 "
                                            "is before the previous row's"),
])
def test_merge_refuses_a_bad_input_naming_it(pair, tmp_path, column, value, needle):
    a, b = pair
    bad = copy_recording(b, tmp_path / "bad")
    part = tamper_part(bad, 0, 40, **{column: value})
    proc = run_cli("merge", str(a), str(bad), "-o", str(tmp_path / "out"))
    one_line_error(proc, str(part), needle)
    assert not (tmp_path / "out").exists()
    good = merge_recordings([a, b], tmp_path / "good")
    assert validate(good.path).ok and good.n_events >= a_rows(a) + a_rows(b)


def a_rows(path):
    return json.loads((path / "manifest.json").read_text())["events"]

"""Bad input on the command line: one line naming where and what, a non-zero exit, never a crash or a traceback.

Each case of issue 13 runs ``arbkit`` in a subprocess: a segfault would be exit code -11
(139 from a shell), an abort -6, a traceback a multi-line stderr.
"""
import json

import pytest
import yaml

from helpers.bad_input import copy_recording, one_line_error, run_cli, small_recording, tamper_part
from helpers.paths import ROOT

BINANCE_RAW = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """One instrument (binance-usdm:BTCUSDT), 20 s of the bundled recording."""
    return small_recording(tmp_path_factory.mktemp("one") / "rec", assets=(1,))


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """The bundled recording's three instruments, 20 s."""
    return small_recording(tmp_path_factory.mktemp("three") / "rec", assets=(0, 1, 2))


def _config(tmp_path, strategy, **params):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"strategy": strategy, "params": params}))
    return str(path)


# -- strategy indices and ranges -------------------------------------------------------------------

def test_arb_on_a_one_instrument_recording_is_refused_not_a_segfault(one):
    proc = run_cli("replay", str(one), "--strategy", "arb")
    one_line_error(proc, "strategy arb: parameter asset_b = 1", "the recording has 1 instrument",
                   "an instrument index 0..0 (0 binance-usdm:BTCUSDT)")


@pytest.mark.parametrize("strategy, params, needles", [
    ("mm", {"asset": 100000000}, ("parameter asset = 100000000", "the recording has 3 instruments", "0..2")),
    ("arb", {"asset_b": 3}, ("parameter asset_b = 3", "the recording has 3 instruments")),
    ("mm", {"asset": 0.5}, ("parameter asset = 0.5", "not a whole number", "an instrument index 0..2")),
    ("mm", {"asset": 5}, ("parameter asset = 5", "the recording has 3 instruments")),
    ("mm", {"asset": 1, "order_size": -0.01}, ("parameter order_size = -0.01", "allowed: a finite number > 0")),
    ("arb", {"asset_a": 1, "asset_b": 1}, ("parameter asset_b = 1 is the same instrument as asset_a",)),
    ("mm", {"asset": 1, "mode": 2}, ("parameter mode = 2", "one of 0 (Avellaneda-Stoikov), 1 (fixed half-spread)")),
    ("mm", {"asset": 1, "num_levels": 9}, ("parameter num_levels = 9", "a whole number >= 1 and <= 5")),
])
def test_parameters_outside_their_declared_range_are_refused(three, tmp_path, strategy, params, needles):
    proc = run_cli("replay", str(three), "--config", _config(tmp_path, strategy, **params))
    one_line_error(proc, f"strategy {strategy}: ", *needles)


def test_cross_taker_on_a_missing_book_is_refused(one):
    proc = run_cli("replay", str(one), "--strategy", "cross_taker")
    one_line_error(proc, "strategy cross_taker: parameter asset_b = 1", "the recording has 1 instrument")


def test_latency_out_of_range_says_out_of_range(three):
    proc = run_cli("replay", str(three), "--strategy", "mm", "--set", "asset=1", "--set", "latency.entry=1e30")
    line = one_line_error(proc, "latency.entry = 1e+30 ns is out of range", "0 .. 86400000000000 ns")
    assert "not a number" not in line


# -- manifests and instrument overrides ------------------------------------------------------------

def test_manifest_instruments_not_a_list(one, tmp_path):
    bad = copy_recording(one, tmp_path / "bad")
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["instruments"] = "oops"
    (bad / "manifest.json").write_text(json.dumps(manifest))
    needles = ("manifest.json, field 'instruments': must be a list of objects, got 'oops'",)
    one_line_error(run_cli("replay", str(bad), "--strategy", "mm"), *needles)
    one_line_error(run_cli("info", str(bad)), *needles)
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and needles[0] in proc.stderr


@pytest.mark.parametrize("overrides, needles", [
    ({"BTCUSDT": {"tick_size": -1}}, ("BTCUSDT: tick_size must be a positive number, got -1",)),
    ({"BTCUSDT": {"tick_sise": 0.1}}, ("BTCUSDT: unknown field 'tick_sise' (did you mean 'tick_size'?)",)),
    ({"BTCUSDT": {"maker_fee_bps": "two"}}, ("BTCUSDT: maker_fee_bps must be a finite number",)),
])
def test_instrument_overrides_with_a_bad_value_or_key(tmp_path, overrides, needles):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(overrides))
    proc = run_cli("convert", "-f", "binance", str(BINANCE_RAW), "-o", str(tmp_path / "out"), "--instruments", str(path))
    one_line_error(proc, str(path), *needles)
    assert not (tmp_path / "out").exists()  # refused before anything was written


# -- converters ------------------------------------------------------------------------------------

def test_wrong_format_names_what_was_expected(tmp_path):
    proc = run_cli("convert", "-f", "bybit", str(BINANCE_RAW), "-o", str(tmp_path / "out"))
    one_line_error(proc, str(BINANCE_RAW), "this does not look like a bybit file",
                   "expected Bybit v5 JSON lines with a topic 'orderbook.N.SYMBOL'", "try -f binance")


# -- validate's summary -----------------------------------------------------------------------------

def test_validate_counts_every_error(one, tmp_path):
    bad = copy_recording(one, tmp_path / "bad")
    tamper_part(bad, 0, slice(1000, 1606), price=float("nan"))  # 606 rows
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert "606 errors" in summary, summary
    assert proc.stderr.count("field 'price': price is nan") == 20  # the first examples are listed
    data = json.loads(run_cli("validate", str(bad), "--json").stdout)
    assert data["errors"] == 606 and data["counts"]["error:non_finite"] == 606


def test_a_missing_last_part_adds_no_false_crossed_book(one, tmp_path):
    # row 5293 of this data is inside a message that crosses the book until its last row: the
    # first part ends there, so with the second part gone the book at its end is half-updated
    rec = small_recording(tmp_path / "parts", assets=(1,), rows=8000, part_rows=5294)
    manifest = json.loads((rec / "manifest.json").read_text())
    assert len(manifest["parts"]) == 2
    ok = run_cli("validate", str(rec))
    assert ok.returncode == 0, ok.stderr
    (rec / manifest["parts"][-1]["path"]).unlink()
    proc = run_cli("validate", str(rec))
    assert proc.returncode == 1
    assert "part listed in manifest.json is missing" in proc.stderr
    assert "crossed" not in proc.stderr, proc.stderr
    assert "crossed-book check stopped here: a part is missing" in proc.stdout


# -- rows checked where they are read ---------------------------------------------------------------

@pytest.mark.parametrize("column, value, needles", [
    ("price", float("nan"), ("row 500, field 'price': price is nan",)),
    ("qty", -1.0, ("row 500, field 'qty': qty -1.0 is negative",)),
    ("asset", 7, ("row 500, field 'asset': asset 7 is not one of the 1 instruments",)),
    ("kind", 99, ("row 500, field 'kind': kind 99 is not one of",)),
    ("ts_local", 1_700_000_000_000_000_000, ("row 500, field 'ts_local': ts_local 1700000000000000000 is before",)),
])
def test_replay_refuses_a_bad_row_naming_file_row_and_field(one, tmp_path, column, value, needles):
    bad = copy_recording(one, tmp_path / "bad")
    part = tamper_part(bad, 0, 500, **{column: value})
    proc = run_cli("replay", str(bad), "--strategy", "mm")
    one_line_error(proc, str(part), *needles, "--allow-bad-rows")


def test_allow_bad_rows_replays_without_them_and_counts_them(one, tmp_path):
    bad = copy_recording(one, tmp_path / "bad")
    tamper_part(bad, 0, [500, 700], price=float("nan"))
    tamper_part(bad, 0, 900, ts_local=1_700_000_000_000_000_000)
    proc = run_cli("replay", str(bad), "--strategy", "mm", "--allow-bad-rows", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["counters"]["bad_rows_skipped"] == 3
    clean = json.loads(run_cli("replay", str(one), "--strategy", "mm", "--json").stdout)
    assert out["events"] == clean["events"] - 3
    assert "3 bad rows left out (non_finite=2, unsorted=1)" in out["notices"][0]
    assert "notice: 3 bad rows left out" in proc.stderr


def test_verify_checks_part_hashes_first(one, tmp_path):
    bad = copy_recording(one, tmp_path / "bad")
    part = tamper_part(bad, 0, 10, qty=0.123, rehash=False)  # a valid row, but not the bytes recorded
    assert run_cli("replay", str(bad), "--strategy", "mm", "--json").returncode == 0
    proc = run_cli("replay", str(bad), "--strategy", "mm", "--verify")
    one_line_error(proc, str(part), "field 'sha256'", "differs from manifest.json's")


# -- empty results ---------------------------------------------------------------------------------

def test_a_window_after_the_data_says_so_and_strict_fails(one):
    args = ("replay", str(one), "--strategy", "mm", "--set", "start_ns=1900000000000000000")
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0
    assert "notice: no events in the window [1900000000000000000, open): the recording spans" in proc.stderr
    assert json.loads(proc.stdout)["notices"][0].startswith("no events in the window")
    one_line_error(run_cli(*args, "--strict"), "no events in the window", "(--strict)")


def test_start_after_end_says_the_window_is_empty(one):
    proc = run_cli("replay", str(one), "--strategy", "mm", "--set", "start_ns=1723161260000000000",
                   "--set", "end_ns=1723161250000000000", "--strict")
    one_line_error(proc, "the window is empty (start_ns 1723161260000000000 is not before end_ns 1723161250000000000)")


def test_a_trace_window_outside_the_data_says_so(one):
    args = ("replay", str(one), "--strategy", "mm", "--trace-from", "1000", "--trace-to", "2000")
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["trace"] == []
    assert "notice: no events in the trace window [1000, 2000]: the replayed events span" in proc.stderr
    one_line_error(run_cli(*args, "--strict"), "no events in the trace window [1000, 2000]")

"""``arbkit convert --resolution`` and ``arbkit resolve``: a binary market's outcome in the manifest; bad input is one
line and changes nothing."""
import json

import pytest

import arbkit
from helpers.bad_input import one_line_error, run_cli
from helpers.paths import shared

PM = "polymarket_l2_2025-12-11"
SOL = "sol-updown-15m-1765450800"


@pytest.fixture
def sol(tmp_path):
    files = sorted(str(p) for p in shared(PM).glob("polymarket_15m_sol_*.json.gz"))
    proc = run_cli("convert", "-f", "polymarket", *files, "-o", str(tmp_path / "sol"), "--resolution", f"{SOL}=down")
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "sol"


def test_convert_resolution_then_resolve_rewrites_the_manifest(sol):
    insts = arbkit.load(sol).instruments
    assert {i.winner for i in insts} == {"Down"} and {i.resolution_ts for i in insts} == {1765451700 * 10**9}
    proc = run_cli("resolve", str(sol), "--winner", "UP", "--at", "2025-12-11T11:15:01Z")
    assert proc.returncode == 0, proc.stderr
    insts = arbkit.load(sol).instruments
    assert {i.winner for i in insts} == {"Up"} and {i.resolution_ts for i in insts} == {1765451701 * 10**9}
    assert not list(sol.glob(".manifest.json.*"))  # the temporary file of the atomic rewrite is gone


def test_resolve_bad_input_is_one_line_and_writes_nothing(sol, tmp_path):
    before = (sol / "manifest.json").read_text()
    one_line_error(run_cli("resolve", str(sol), "--winner", "Maybe"), "winner 'Maybe' is not an outcome of", "Down, Up")
    one_line_error(run_cli("resolve", str(sol), "--winner", "Up", "--market", "nope"), "no market 'nope'")
    one_line_error(run_cli("resolve", str(sol), "--winner", "Up", "--at", "noon"), "--at 'noon'")
    assert (sol / "manifest.json").read_text() == before
    from arbkit.io.lock import DirectoryLock
    with DirectoryLock(sol, "arbkit record"):  # a live writer holds the recording
        one_line_error(run_cli("resolve", str(sol), "--winner", "Up"), "in use by")
    assert (sol / "manifest.json").read_text() == before
    one_line_error(run_cli("convert", "-f", "binance", str(sol / "manifest.json"), "-o", str(tmp_path / "x"),
                           "--resolution", "Up"), "--resolution applies to --format polymarket")
    assert json.loads(before)["instruments"][0]["winner"] == "Down"

"""The dashboard against files being written or damaged, bad query values and a port in use,
through a real server on a free port."""
import json
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from arbkit.live.dashboard import serve
from arbkit.live.dashboard.server import tail_jsonl
from arbkit.core.errors import ConfigError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--hide-scrollbars"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trade(k):
    return {"ts": 1_700_000_000_000_000_000 + k, "instrument": "binance-usdm:BTCUSDT", "side": "buy",
            "price": 60000.0 + k, "qty": 0.01, "liquidity": "maker", "inventory_after": 0.01 * k, "pnl_so_far": k}


def _line(obj):
    return (json.dumps(obj) + "\n").encode()


@pytest.fixture
def server(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    port = _free_port()
    srv = serve(run, port, background=True)
    yield run, f"http://127.0.0.1:{port}"
    srv.shutdown()
    srv.server_close()


def _get(url):
    """(status, parsed JSON, headers) — HTTP errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def test_bad_bytes_and_half_written_lines_are_skipped_and_counted(server):
    run, base = server
    good = [_trade(k) for k in range(8)]
    body = b"".join([
        _line(good[0]), _line(good[1]),
        b'\xff{"ts": 1}\n',                      # a stray byte before the object: errors="replace" breaks the JSON
        b'{"instrument": "caf\xff", "ts": 2}\n',  # one inside a string: errors="replace" would pass U+FFFD on
        _line(good[2]),
        b'{"ts": 3, "instrument": "binance-us\n',  # half-written, then the writer went on
        _line(good[3]), b"[1, 2]\n", b"\n", _line(good[4]), _line(good[5]), _line(good[6]), _line(good[7]),
        b'{"ts": 9, "inst',                        # being written right now: skipped, not counted
    ])
    (run / "trades.jsonl").write_bytes(body)
    (run / "pnl.jsonl").write_bytes(_line({"uptime_s": 1, "pnl": 0.5}) + b"\xff\xfe\n" + _line({"uptime_s": 2, "pnl": 0.7}))
    for _ in range(3):  # and it keeps answering
        code, items, headers = _get(f"{base}/api/trades?n=50")
        assert code == 200 and items == good and headers["X-Skipped-Lines"] == "4"
    code, items, headers = _get(f"{base}/api/trades?n=3")
    assert code == 200 and items == good[-3:] and headers["X-Skipped-Lines"] == "0"  # only the window is read
    code, items, headers = _get(f"{base}/api/trades?n=6")
    assert items == good[2:] and headers["X-Skipped-Lines"] == "2"
    code, items, headers = _get(f"{base}/api/pnl")
    assert code == 200 and [p["pnl"] for p in items] == [0.5, 0.7] and headers["X-Skipped-Lines"] == "1"


def test_tail_reads_across_blocks_from_the_end(tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [_trade(k) for k in range(3000)]
    path.write_bytes(b"".join(_line(t) for t in lines[:1500]) + b"\xff\n" + b"".join(_line(t) for t in lines[1500:]))
    items, bad = tail_jsonl(path, 1000)
    assert items == lines[-1000:] and bad == 0
    items, bad = tail_jsonl(path, 2000)
    assert items == lines[-2000:] and bad == 1
    assert tail_jsonl(tmp_path / "missing.jsonl", 5) == ([], 0)
    (tmp_path / "one.jsonl").write_bytes(b'{"a": 1}')  # one finished object without its newline yet
    assert tail_jsonl(tmp_path / "one.jsonl", 5) == ([{"a": 1}], 0)


@pytest.mark.parametrize("query", ["n=abc", "n=-1", "n=0", "n=1001", "n=" + "9" * 30, "n=", "n=1.5", "n=1&n=2"])
def test_bad_query_values_get_400_with_a_json_error(server, query):
    run, base = server
    (run / "trades.jsonl").write_bytes(_line(_trade(0)))
    code, body, headers = _get(f"{base}/api/trades?{query}")
    values = ",".join(v.partition("=")[2] for v in query.split("&"))
    assert code == 400 and headers["Content-Type"] == "application/json"
    assert body == {"error": f"/api/trades?{query}: n must be a whole number from 1 to 1000, got {values!r}"}
    assert _get(f"{base}/api/trades?n=1000")[:2] == (200, [_trade(0)])  # the server is fine afterwards
    assert _get(f"{base}/api/nothing")[:2] == (404, {"error": "not found: /api/nothing"})


def test_unreadable_state_file_keeps_the_last_good_state_and_says_since_when(server, tmp_path):
    run, base = server
    assert _get(f"{base}/api/state")[1] == {"status": "waiting"}  # not written yet
    state = {"status": "finished", "strategy": "touch_mm", "seed": 11, "fills": 7, "pnl": {"total": 1.25}}
    (run / "live_state.json").write_text(json.dumps(state))
    assert _get(f"{base}/api/state")[1] == state
    text = json.dumps(state)
    for damaged in (text[: len(text) // 2].encode(), b"", b'{"status": "runn\xffing"}', b"[1, 2]"):
        (run / "live_state.json").write_bytes(damaged)
        code, got, _ = _get(f"{base}/api/state")
        note = got.pop("state_file_error")
        assert code == 200 and got == state  # still "finished", not "waiting"
        assert re.fullmatch(rf"state file unreadable since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
                            rf"\({re.escape(str(run / 'live_state.json'))}: .+\)", note), note
    (run / "live_state.json").unlink()
    assert _get(f"{base}/api/state")[1]["state_file_error"].endswith("live_state.json: file is gone)")
    # a dashboard started on an already damaged file has no good state to show: it says so
    (run / "live_state.json").write_bytes(text[:10].encode())
    port = _free_port()
    other = serve(run, port, background=True)
    try:
        got = _get(f"http://127.0.0.1:{port}/api/state")[1]
        assert got["status"] == "unreadable" and got["state_file_error"].startswith("state file unreadable since ")
        if CHROMIUM is not None:  # the page shows the notice
            dom = subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=4000", "--dump-dom",
                                  f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=120).stdout
            assert '<span class="v" id="status">unreadable</span>' in dom
            assert re.search(r'<div id="notice" style="display: block;">state file unreadable since ', dom), dom[:3000]
    finally:
        other.shutdown()
        other.server_close()
    (run / "live_state.json").write_text(json.dumps(state))  # written again: the note goes
    assert _get(f"{base}/api/state")[1] == state


def test_port_in_use_is_one_line_and_a_non_zero_exit(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "dashboard", "--run", str(run), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve(run, port, background=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"arbkit dashboard: error: port {port} on 127.0.0.1 is already in use "
                                                "(another dashboard?); choose another with --port"]
    for port_arg, msg in (("70000", "port must be a whole number from 0 to 65535, got 70000"),):
        proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "dashboard", "--run", str(run), "--port", port_arg],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.strip() == f"arbkit dashboard: error: {msg}"
    proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "dashboard", "--run", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"arbkit dashboard: error: {tmp_path / 'nope'}: not a paper run directory (no such directory)"

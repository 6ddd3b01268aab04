"""Recorder faults: one recorder per directory (real processes), backoff and REST pacing against a
server that closes every connection at once, oversize and non-UTF-8 frames (marker lines, reconnect,
nothing recorded lost)."""
import asyncio
import base64
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import arbkit
from arbkit.io.lock import LOCK_NAME, DirectoryLocked
from arbkit.live.record import Recorder, RecorderError, VenueSpec, read_raw_log
from arbkit.live.record.pacing import Backoff, TokenBucket
from arbkit.live.record.raw_log import RawLog
from arbkit.live.record.replay_server import ReplayServer, ScriptedServer, binance_frames
from arbkit.io.check import validate as validate_recording
from helpers.paths import BUNDLED, ROOT

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"
ENV = {**os.environ, "CI": "true"}


def _record_cmd(srv, out, *extra):
    return [sys.executable, "-m", "arbkit.apps.cli", "record", "--venue", "binance-usdm", "--symbols", "BTCUSDT",
            "--endpoint", srv.url, "--rest", srv.http, "-o", str(out), "--flush-s", "0.1", "--quiet", *extra]


def _files(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_size for p in d.rglob("*") if p.is_file() and p.name != LOCK_NAME}


# -- one recorder per directory -------------------------------------------------------------------


def test_a_second_recorder_or_force_on_a_live_recorders_directory_fails_and_deletes_nothing(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    out = tmp_path / "rec"
    with ReplayServer(frames * 3, snapshot=snap, delay_s=0.002, batch=1) as srv:
        first = subprocess.Popen(_record_cmd(srv, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and len(list((out / "parts").glob("part-*.parquet"))) < 2:
                time.sleep(0.1)
            before = _files(out)
            assert sum(1 for f in before if f.startswith("parts/")) >= 2 and "raw/messages-00000.ndjson.gz" in before
            for extra in (["--force"], []):
                second = subprocess.run(_record_cmd(srv, out, "--duration", "2", *extra), env=ENV, capture_output=True,
                                        text=True, timeout=120)
                assert second.returncode == 3
                lines = second.stderr.strip().splitlines()
                assert lines == [f"arbkit record: error: {out}: in use by pid {first.pid} (arbkit record); nothing "
                                 f"was deleted or written (stop that process or choose another directory)"]
                assert "Traceback" not in second.stderr and second.stdout == ""
            # nothing the first recorder wrote is gone or shorter; it is still recording
            after = _files(out)
            assert all(after.get(f, -1) >= size for f, size in before.items()), (before, after)
            assert first.poll() is None
            # a converter's writer with overwrite=True is refused the same way
            rec = arbkit.load(BUNDLED)
            with pytest.raises(DirectoryLocked, match=f"in use by pid {first.pid}"):
                from arbkit.io.writer import write_recording
                write_recording(out, rec.to_numpy(), list(rec.instruments), overwrite=True)
            assert all(_files(out).get(f, -1) >= size for f, size in before.items())
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        # SIGKILL released the lock: the second recorder may take over with --force (and not without it)
        refused = subprocess.run(_record_cmd(srv, out, "--duration", "1"), env=ENV, capture_output=True, text=True,
                                 timeout=120)
        assert refused.returncode == 3
        assert refused.stderr.strip() == f"arbkit record: error: {out}: output directory exists and is not empty " \
                                         "(use --force)"
        took_over = subprocess.run(_record_cmd(srv, out, "--duration", "1.5", "--force"), env=ENV, capture_output=True,
                                   text=True, timeout=120)
    assert took_over.returncode == 0, took_over.stderr[-2000:]
    assert validate_recording(out).ok and arbkit.load(out).manifest.complete
    assert not (out / LOCK_NAME).exists()  # released on a clean exit


def test_paper_run_directory_is_locked_too(tmp_path):
    from arbkit.live.paper import PaperRun
    from arbkit.run.config import RunConfig

    cfg = RunConfig.from_dict({"strategy": "touch_mm", "params": {"asset": 0, "half_spread_bps": 1.0,
                                                                   "order_size": 0.01, "max_position": 0.05}})
    venues = [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint="ws://127.0.0.1:9", rest="http://127.0.0.1:9")]
    run = PaperRun(cfg, venues, tmp_path / "run")
    (tmp_path / "run" / "trades.jsonl").write_text('{"kept": 1}\n')
    try:
        with pytest.raises(RecorderError) as err:
            PaperRun(cfg, venues, tmp_path / "run", overwrite=True)
        assert str(err.value) == (f"{tmp_path / 'run'}: in use by pid {os.getpid()} (arbkit paper); nothing was "
                                  "deleted or written (stop that process or choose another directory)")
        # the run's recording has its own lock: a recorder pointed at it is refused as well
        with pytest.raises(RecorderError, match=f"{tmp_path / 'run' / 'recording'}: in use by pid {os.getpid()} "
                                                r"\(arbkit record\)"):
            Recorder(tmp_path / "run" / "recording", venues, overwrite=True)
        assert (tmp_path / "run" / "trades.jsonl").read_text() == '{"kept": 1}\n'
    finally:
        run.release()
    PaperRun(cfg, venues, tmp_path / "run", overwrite=True).release()  # free again once released


# -- backoff and REST pacing ----------------------------------------------------------------------


def test_backoff_delays_never_shrink_until_a_healthy_connection():
    b = Backoff(0.05, 0.8, rng=random.Random(3))
    d = [b.next_delay() for _ in range(12)]
    assert all(y >= x for x, y in zip(d, d[1:])), d
    assert d[0] <= 0.05 and d[-1] == 0.8 and max(d) == 0.8
    assert all(0.05 * 2 ** n * 0.5 <= x or x == 0.8 for n, x in enumerate(d))
    b.healthy()
    assert b.next_delay() <= 0.05


def _spec(srv, **kw):
    return VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url, rest=srv.http, **kw)


def _run_for(rec, seconds):
    async def main():
        task = asyncio.create_task(rec.run())
        await asyncio.sleep(seconds)
        rec.stop()
        return await task

    t0 = time.monotonic()
    stats = asyncio.run(main())
    return stats, time.monotonic() - t0


def _max_connects(base, cap, seconds):
    """The most connections a client can make in ``seconds`` if every wait is the shortest Backoff allows."""
    total, n = 0.0, 0
    while True:
        total += min(cap, base * 2 ** n * 0.5)
        if total > seconds:
            return n + 1
        n += 1


def test_a_server_that_closes_at_once_gets_growing_backoff_and_rate_limited_rest(tmp_path):
    with ScriptedServer(lambda n: []) as srv:
        rec = Recorder(tmp_path / "r", [_spec(srv, rest_rate=0.5, rest_burst=1)], flush_s=0.2, silence_s=5.0,
                       backoff_s=(0.05, 0.8), status=False)
        stats, elapsed = _run_for(rec, 4.0)
        connections, rest_calls = srv.connections, srv.rest_calls
    delays = rec.backoffs[0].delays
    assert stats["reconnects"] == len(delays) >= 5
    assert all(y >= x for x, y in zip(delays, delays[1:])), delays  # never shrinks: no handshake resets it
    assert max(delays) <= 0.8 and (delays[-1] == 0.8 or len(delays) < 6)  # the 6th wait is at the cap for sure
    # counts: the shortest waits the backoff allows bound the connections (a reset per handshake, as before,
    # made ~100 in 4 s), and the REST snapshots stay within the bucket (1 at once + 0.5/s)
    assert 5 <= connections <= _max_connects(0.05, 0.8, elapsed) < 12
    assert stats["rest_requests"] == rest_calls <= 1 + 0.5 * elapsed
    assert rest_calls < connections
    assert validate_recording(tmp_path / "r").ok


def test_http_429_with_retry_after_stops_rest_requests(tmp_path):
    # every connection delivers data for a while (so each wants a snapshot), then drops
    frame = json.dumps({"stream": "btcusdt@aggTrade", "data": {"e": "noise", "s": "BTCUSDT"}})
    with ScriptedServer(lambda n: [frame, 0.3], rest_status=429, retry_after=60) as srv:
        rec = Recorder(tmp_path / "r", [_spec(srv)], flush_s=0.2, silence_s=5.0, backoff_s=(0.05, 0.2), status=False)
        stats, _ = _run_for(rec, 3.0)
        connections, rest_calls = srv.connections, srv.rest_calls
    assert connections >= 4 and rest_calls == stats["rest_requests"] == 1  # nothing more for Retry-After seconds


def test_backoff_starts_over_only_after_a_connection_stayed_healthy(tmp_path):
    frame = json.dumps({"stream": "btcusdt@aggTrade", "data": {"e": "noise", "s": "BTCUSDT"}})

    def script(n):  # connections 1-3 and 5+ die at once; connection 4 delivers data for 1 s
        return [frame, 0.1] * 10 if n == 4 else []

    for healthy_s, restarts in ((0.4, True), (30.0, False)):
        with ScriptedServer(script) as srv:
            rec = Recorder(tmp_path / f"h{healthy_s}", [_spec(srv)], flush_s=0.2, silence_s=5.0,
                           backoff_s=(0.05, 0.8), status=False, healthy_s=healthy_s)
            _run_for(rec, 3.5)
        d = rec.backoffs[0].delays
        assert len(d) >= 5 and rec.stats.messages >= 5
        # d[3] is the wait after connection 4: back to the base after the healthy connection, else still growing
        assert (d[3] <= 0.05 < 0.1 <= d[2]) if restarts else (d[3] >= d[2] >= 0.1), (healthy_s, d)


def test_token_bucket_counts():
    bucket = TokenBucket(rate=5.0, burst=3)

    async def take_for(seconds):
        async def taker():
            while True:
                await bucket.take()

        tasks = [asyncio.create_task(taker()) for _ in range(4)]
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return time.monotonic() - t0

    elapsed = asyncio.run(take_for(0.6))
    assert 3 <= bucket.taken <= 3 + 5.0 * elapsed
    bucket.pause(60)
    taken = bucket.taken
    asyncio.run(take_for(0.3))
    assert bucket.taken == taken  # paused (a 429 with Retry-After): nothing goes out


# -- frames ---------------------------------------------------------------------------------------


def test_oversize_and_non_utf8_frames_leave_markers_reconnect_and_lose_nothing(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    pad = base64.b64encode(random.Random(1).randbytes(13 << 20)).decode()  # incompressible, ~17.3 MiB
    big = json.dumps({"stream": "btcusdt@pad", "data": {"e": "pad", "s": "BTCUSDT", "p": pad}})
    assert len(big) > 17 << 20
    binary = b"\xff\xfe\x00" * 40 + b'{"e":"x"}'
    at_big, at_bin = 1000, 2500
    with ReplayServer(frames, snapshot=snap, inject_at={at_big: big, at_bin: binary}, compression=None) as srv:
        rec = Recorder(tmp_path / "o", [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url, rest=srv.http)],
                       flush_s=0.2, silence_s=3.0, backoff_s=(0.05, 0.5), status=False, max_frame_bytes=16 << 20)

        async def main():
            task = asyncio.create_task(rec.run())
            deadline = time.time() + 120
            while time.time() < deadline and not (srv.done and rec.stats.undecodable_frames):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the last frames arrive
            rec.stop()
            return await task

        stats = asyncio.run(main())
        sent, sent_on = list(srv.sent), list(srv.sent_on)
    assert stats["oversize_frames"] == 1 and stats["undecodable_frames"] == 1 and stats["reconnects"] >= 1
    raw = list(read_raw_log(tmp_path / "o" / "raw" / "messages-00000.ndjson.gz"))
    markers = [r for r in raw if "marker" in r]
    assert [m["marker"] for m in markers] == ["oversize", "binary-not-utf8"]
    over, binline = markers
    assert over["size"] == len(big.encode()) and over["limit"] == 16 << 20 and "msg" not in over and over["conn"] == 1
    assert over["reason"] == (f"frame of {over['size']} bytes exceeds the 16777216-byte limit; not read: connection "
                              "closed (1009), books GAP, reconnecting")
    assert binline["msg"] == binary and binline["size"] == len(binary)  # byte-exact, no U+FFFD
    assert binline["reason"] == "binary frame is not UTF-8 (invalid start byte at byte 0); kept as base64"
    # every frame sent before the oversize one and every frame sent on later connections was recorded, in order
    logged = [r["msg"] for r in raw if "rest" not in r and "marker" not in r]
    want = [frames[i] for i, c in zip(sent, sent_on) if i < at_big or c > 1]
    assert logged == want
    assert any(i > at_bin for i, c in zip(sent, sent_on) if c > 1)  # the feed went on after the binary frame
    got = arbkit.load(tmp_path / "o")
    assert validate_recording(tmp_path / "o").ok and got.manifest.complete
    assert got.manifest.gaps >= 1  # the oversize frame's disconnect
    # the default limit (64 MiB) records the same 17 MiB frame whole
    with ReplayServer(frames[:50], snapshot=snap, inject_at={10: big}) as srv:
        rec = Recorder(tmp_path / "d", [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url, rest=srv.http)],
                       flush_s=0.2, silence_s=3.0, backoff_s=(0.05, 0.5), status=False)
        stats, _ = _run_for(rec, 3.0)
    assert stats["oversize_frames"] == 0 and stats["reconnects"] == 0
    assert any(r.get("msg") == big for r in read_raw_log(tmp_path / "d" / "raw" / "messages-00000.ndjson.gz"))
    # a compressed frame over the limit: its decompressed size is not known, the marker says so
    with ScriptedServer(lambda n: ["x" * (2 << 20)] if n == 1 else []) as srv:
        rec = Recorder(tmp_path / "c", [_spec(srv)], flush_s=0.2, silence_s=3.0, backoff_s=(0.05, 0.5),
                       status=False, max_frame_bytes=1 << 20)
        stats, _ = _run_for(rec, 1.0)
    over = next(r for r in read_raw_log(tmp_path / "c" / "raw" / "messages-00000.ndjson.gz") if "marker" in r)
    assert over["marker"] == "oversize" and over["size"] is None and over["limit"] == 1 << 20
    assert over["reason"] == ("compressed frame whose decompressed size exceeds the 1048576-byte limit; not read: "
                              "connection closed (1009), books GAP, reconnecting")
    assert validate_recording(tmp_path / "c").ok


def test_raw_log_keeps_binary_frames_byte_exact(tmp_path):
    path = tmp_path / "raw.ndjson.gz"
    log = RawLog(path)
    frames = ["text é", b"utf-8 binary \xc3\xa9", b"\xff" * 7, bytes(range(256))]
    for k, f in enumerate(frames):
        log.write(k, "v", 1, f)
    log.marker(9, "v", 1, "oversize", size=1 << 30, limit=1 << 26, reason="r")
    log.close()
    back = list(read_raw_log(path))
    assert [r.get("msg") for r in back] == [*frames, None]
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert "\ufffd" not in text and "\\ufffd" not in text
    assert [r.get("marker") for r in back] == [None, None, "binary-not-utf8", "binary-not-utf8", "oversize"]


@pytest.mark.parametrize("args, msg", [
    (["--healthy-s", "-1"], "record: healthy_s (--healthy-s) must be a positive number of seconds, got -1.0"),
    (["--healthy-s", "inf"], "record: healthy_s (--healthy-s) must be a positive number of seconds, got inf"),
    (["--rest-rate", "0"], "record: rest_rate (--rest-rate) must be a positive number of requests a second, got 0.0"),
    (["--rest-burst", "0"], "record: rest_burst (--rest-burst) must be a whole number >= 1, got 0"),
    (["--max-frame-mb", "nan"], "--max-frame-mb must be a positive number of MiB, got nan"),
])
def test_bad_connection_options_are_one_line_and_touch_nothing(tmp_path, capsys, args, msg):
    from arbkit.apps.cli import main

    out = tmp_path / "rec"
    rc = main(["record", "--venue", "binance-usdm", "--symbols", "BTCUSDT", "-o", str(out), "--quiet", *args])
    assert rc == 2 and capsys.readouterr().err.strip() == f"arbkit record: error: {msg}"
    assert not out.exists()


def test_a_text_frame_that_is_not_utf8_leaves_a_protocol_error_marker_and_the_feed_goes_on(tmp_path):
    async def bad_text(ws):  # a text frame websockets' API would refuse to send
        async with ws.send_context():
            ws.protocol.send_text(b'{"e": "\xff"}')

    good = [json.dumps({"stream": "btcusdt@x", "data": {"e": "noise", "s": "BTCUSDT", "k": k}}) for k in range(4)]
    with ScriptedServer(lambda n: [good[0], bad_text, good[1], 1.0] if n == 1 else [good[2], good[3], 2.0]) as srv:
        rec = Recorder(tmp_path / "p", [_spec(srv)], flush_s=0.2, silence_s=5.0, backoff_s=(0.05, 0.2), status=False)
        stats, _ = _run_for(rec, 1.5)
    raw = list(read_raw_log(tmp_path / "p" / "raw" / "messages-00000.ndjson.gz"))
    marks = [r for r in raw if "marker" in r]
    assert stats["protocol_errors"] == 1 and [(m["marker"], m["code"], m["conn"]) for m in marks] == \
        [("protocol-error", 1007, 1)]
    assert marks[0]["reason"] == ("text frame is not UTF-8, its bytes are lost ('utf-8' codec can't decode byte 0xff "
                                  "in position 7: invalid start byte); connection closed (1007), books GAP, reconnecting")
    assert [r["msg"] for r in raw if "msg" in r and "rest" not in r] == [good[0], good[2], good[3]]
    assert validate_recording(tmp_path / "p").ok

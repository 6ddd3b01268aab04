"""The live recorder against a local websocket server replaying real captures (tests/data/raw).

Oracle: the file converters on the same captures. The recorder stamps its own receive
times, so rows are compared without ts_local; books are compared level by level.
"""
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

import arbkit
from arbkit.convert.binance_capture import convert_binance
from arbkit.convert.cryptofeed import convert_cryptofeed
from arbkit.live.record import Recorder, RecorderError, VenueSpec, read_raw_log
from arbkit.core.schema import Kind
from arbkit.io.check import validate as validate_recording
from arbkit.live.record.replay_server import ReplayServer, binance_frames, okx_frames
from helpers.paths import ROOT

BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"
OKX = ROOT / "tests" / "data" / "raw" / "cryptofeed_OKX.jsonl.gz"

OKX_SYMBOLS = ["BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"]


def run_recorder(srv, out, specs, *, until=None, silence_s=5.0, flush_s=0.2, **kw):
    """Record until the server's feed is exhausted and delivered (or ``until()``), then stop cleanly."""
    rec = Recorder(out, specs, flush_s=flush_s, silence_s=silence_s, status=False, backoff_s=(0.05, 0.5), **kw)

    async def main():
        task = asyncio.create_task(rec.run())
        deadline = time.time() + 120
        while time.time() < deadline:
            if task.done():
                break
            if until is not None and until(rec):
                break
            if until is None and srv.done and rec.stats.messages >= len(srv.sent):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        rec.stop()
        return await task

    stats = asyncio.run(main())
    return rec, stats


def books(cols, asset):
    """Final book of ``asset`` (dicts price -> qty per side) from CLEAR/SNAPSHOT/DEPTH rows."""
    bids, asks = {}, {}
    m = cols.asset == asset
    for k, s, p, q in zip(cols.kind[m], cols.side[m], cols.price[m], cols.qty[m]):
        if k == Kind.CLEAR:
            bids.clear()
            asks.clear()
        elif k in (Kind.SNAPSHOT, Kind.DEPTH):
            book = bids if s > 0 else asks
            if q == 0:
                book.pop(p, None)
            else:
                book[p] = q
    return bids, asks


def rows(cols, asset, kinds):
    m = (cols.asset == asset) & np.isin(cols.kind, kinds)
    return list(zip(cols.kind[m].tolist(), cols.side[m].tolist(), cols.price[m].tolist(), cols.qty[m].tolist(),
                    cols.seq[m].tolist()))


def test_binance_recording_equals_the_converted_capture(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    with ReplayServer(frames, snapshot=snap) as srv:
        rec, stats = run_recorder(srv, tmp_path / "rec", [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url,
                                                                     rest=srv.http)])
    assert stats["messages"] == len(frames) and stats["malformed"] == 0 and stats["gaps"] == 0
    assert validate_recording(tmp_path / "rec").ok
    got = arbkit.load(tmp_path / "rec")
    want = convert_binance([BINANCE_USDM])
    g, w = got.to_numpy(), want.events
    assert [(i.key, i.tick_size, i.lot_size) for i in got.instruments] == \
        [(i.key, i.tick_size, i.lot_size) for i in want.instruments]
    for kinds in ([Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH], [Kind.TRADE], [Kind.BBO]):
        assert rows(g, 0, kinds) == rows(w, 0, kinds)
    assert books(g, 0) == books(w, 0)
    assert got.manifest.complete
    # the raw log holds every frame, in order, with its receive time, and the REST snapshot
    raw = list(read_raw_log(tmp_path / "rec" / "raw" / "messages-00000.ndjson.gz"))
    assert [r["msg"] for r in raw if "rest" not in r] == frames
    assert sum(1 for r in raw if "rest" in r) == stats["snapshots_fetched"] == 1
    assert all(a["ts"] <= b["ts"] for a, b in zip(raw, raw[1:]))


def test_okx_recording_equals_the_converted_capture(tmp_path):
    frames = okx_frames(OKX)
    with ReplayServer(frames, wait_subscribe=True) as srv:
        rec, stats = run_recorder(srv, tmp_path / "okx", [VenueSpec("okx", OKX_SYMBOLS, endpoint=srv.url)])
    assert stats["malformed"] == 0 and stats["messages"] == len(frames)
    got = arbkit.load(tmp_path / "okx")
    want = convert_cryptofeed([OKX])
    gk = {i.key: a for a, i in enumerate(got.instruments)}
    wk = {i.key: a for a, i in enumerate(want.instruments)}
    assert set(gk) == set(wk)
    g = got.to_numpy()
    checked = 0
    for key in gk:
        assert books(g, gk[key]) == books(want.events, wk[key]), key
        for kinds in ([Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH, Kind.GAP], [Kind.TRADE], [Kind.BBO]):
            assert rows(g, gk[key], kinds) == rows(want.events, wk[key], kinds), (key, kinds)
        checked += len(rows(g, gk[key], [Kind.DEPTH]))
    assert checked > 1000


def test_faults_reconnect_mark_gaps_resync_and_lose_nothing_sent(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    skip = ReplayServer(frames).depth_index(2100)
    with ReplayServer(frames, snapshot=snap, drop_at=[900], malformed_at=[1500], skip_at=[skip],
                      silent_at=[3000], silence_s=1.5) as srv:
        rec, stats = run_recorder(srv, tmp_path / "f", [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=srv.url,
                                                                   rest=srv.http)], silence_s=0.6)
        sent = [frames[i] for i in srv.sent]
        connections = srv.connections
    assert connections >= 3 and stats["reconnects"] >= 2 and stats["silent_drops"] >= 1
    assert stats["malformed"] == 1
    got = arbkit.load(tmp_path / "f")
    cols = got.to_numpy()
    kinds = Counter(cols.kind.tolist())
    assert kinds[Kind.GAP] == 3  # the drop, the skipped diff, the silence
    assert got.manifest.gaps == kinds[Kind.GAP]
    assert stats["snapshots_fetched"] >= 3  # a re-sync after each gap
    raw = [r["msg"] for r in read_raw_log(tmp_path / "f" / "raw" / "messages-00000.ndjson.gz") if "rest" not in r]
    received = Counter(raw)
    assert all(received[f] >= 1 for f in sent)  # every frame sent while connected was logged
    assert len(raw) == len(sent) + 1  # ... plus the malformed one, nothing else
    assert stats["gaps"] == 3 and stats["snapshots_fetched"] == 4
    # re-synced from fresh snapshots: the final book is the exchange's (the converter's, no faults) —
    # to the depth a REST snapshot carries (1000 levels; deeper levels seen before a re-sync are gone)
    want = convert_binance([BINANCE_USDM])
    (gb, ga), (wb, wa) = books(cols, 0), books(want.events, 0)
    assert sorted(gb.items(), reverse=True)[:200] == sorted(wb.items(), reverse=True)[:200]
    assert sorted(ga.items())[:200] == sorted(wa.items())[:200]
    assert validate_recording(tmp_path / "f").ok


def test_unwritable_or_occupied_output_fails_at_once(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(RecorderError, match="not empty"):
        Recorder(tmp_path / "full", [VenueSpec("binance-usdm", ["BTCUSDT"])])
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RecorderError, match="not writable"):
        Recorder(blocker / "rec", [VenueSpec("binance-usdm", ["BTCUSDT"])])
    with pytest.raises(Exception, match="unknown venue"):
        Recorder(tmp_path / "v", [VenueSpec("kraken-x", ["BTCUSDT"])])


def test_sigkill_at_random_moments_leaves_valid_recordings(tmp_path):
    frames, snap = binance_frames(BINANCE_USDM)
    rng = random.Random(7)
    env = {**os.environ, "CI": "true"}
    kills = 0
    with ReplayServer(frames * 3, snapshot=snap, delay_s=0.002, batch=1) as srv:
        for k in range(4):
            out = tmp_path / f"k{k}"
            proc = subprocess.Popen([sys.executable, "-m", "arbkit.apps.cli", "record", "--venue", "binance-usdm",
                                     "--symbols", "BTCUSDT", "--endpoint", srv.url, "--rest", srv.http, "-o", str(out),
                                     "--flush-s", "0.1", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            # kill at a random moment after the first part is written (process start-up varies with load)
            deadline = time.monotonic() + 120
            while not list((out / "parts").glob("part-*.parquet")) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            rep = validate_recording(out)
            assert rep.ok, rep.errors[:3]
            rec = arbkit.load(out)
            assert not rec.manifest.complete
            assert rec.n_events == sum(p.rows for p in rec.manifest.parts) == len(rec.to_numpy())
            raw = list(read_raw_log(out / "raw" / "messages-00000.ndjson.gz"))
            assert len(raw) > 0 and rec.n_events > 0
            listed = {p.path.split("/")[-1] for p in rec.manifest.parts}
            assert listed == {p.name for p in (out / "parts").glob("part-*.parquet")}  # a torn temp part is not listed
    assert kills == 4


POLY = ROOT.parent / "shared" / "data" / "real" / "polymarket_l2_2025-12-11"


def _poly_frames(as_changes):
    """Real Polymarket snapshots and trades (SOL 15-minute Up/Down) as CLOB market-channel frames;
    with ``as_changes`` every snapshot after the first becomes a ``price_change`` of the levels that moved."""
    import gzip

    events = []
    names = {}
    for token in ("up", "down"):
        name = f"SOL-UPDOWN-15m-1765450800-{token.upper()}"
        tok = f"tok-{token}"
        names[tok] = name
        books = json.load(gzip.open(POLY / f"polymarket_15m_sol_updown_1765450800_{token}_orderbooks.json.gz"))
        trades = json.load(gzip.open(POLY / f"polymarket_15m_sol_updown_1765450800_{token}_trades.json.gz"))
        prev = None
        for b in books:
            cur = {("BUY", x["price"]): x["size"] for x in b["bids"]} | {("SELL", x["price"]): x["size"] for x in b["asks"]}
            if as_changes and prev is not None:
                ch = [{"asset_id": tok, "price": p, "side": s, "size": cur.get((s, p), "0")}
                      for (s, p) in sorted(set(prev) | set(cur)) if prev.get((s, p)) != cur.get((s, p))]
                frame = {"event_type": "price_change", "market": "m", "price_changes": ch, "timestamp": b["timestamp"]}
            else:
                frame = {"event_type": "book", "asset_id": tok, "market": "m", "bids": b["bids"], "asks": b["asks"],
                         "timestamp": b["timestamp"]}
            events.append((int(b["local_timestamp"]), json.dumps(frame)))
            prev = cur
        for t in trades:
            frame = {"event_type": "last_trade_price", "asset_id": tok, "market": "m", "price": t["price"],
                     "size": t["size"], "side": t["side"].upper(), "timestamp": t["timestamp"]}
            events.append((int(t["local_timestamp"]), json.dumps(frame)))
    events.sort(key=lambda e: e[0])
    files = sorted(POLY.glob("polymarket_15m_sol_updown_1765450800_*.json.gz"))
    return [f for _, f in events], [f"{n}={t}" for t, n in names.items()], files


@pytest.mark.parametrize("as_changes", [False, True])
def test_polymarket_recording_equals_the_converted_files(tmp_path, as_changes):
    if not POLY.is_dir():
        pytest.skip("the Polymarket files are read from ../shared (no licence to bundle them)")
    from arbkit.convert.polymarket_collector import convert_polymarket

    frames, symbols, files = _poly_frames(as_changes)
    with ReplayServer(frames + ["PONG"], wait_subscribe=True, delay_s=0.0) as srv:
        rec, stats = run_recorder(srv, tmp_path / "pm", [VenueSpec("polymarket", symbols, endpoint=srv.url)])
    assert stats["malformed"] == 0
    got = arbkit.load(tmp_path / "pm")
    want = convert_polymarket(files)
    gk = {i.key: a for a, i in enumerate(got.instruments)}
    wk = {i.key: a for a, i in enumerate(want.instruments)}
    assert set(gk) == set(wk) and all(i.contract_type == "binary_outcome" for i in got.instruments)
    g = got.to_numpy()
    for key in gk:
        assert books(g, gk[key]) == books(want.events, wk[key]), key
        assert rows(g, gk[key], [Kind.TRADE]) == rows(want.events, wk[key], [Kind.TRADE])
    if as_changes:
        assert Counter(g.kind.tolist())[Kind.DEPTH] > 0


BYBIT = ROOT.parent / "shared" / "data" / "real" / "format_fixtures_nautilus" / "bybit_linear_xrpusdt_2024-12-01_ob500.first50.jsonl.gz"


def test_bybit_recording_equals_the_converted_capture_and_resyncs_on_a_break(tmp_path):
    if not BYBIT.is_file():
        pytest.skip("the Bybit fixture is read from ../shared")
    import gzip

    from arbkit.convert.bybit_capture import convert_bybit

    frames = [line.strip() for line in gzip.open(BYBIT, "rt") if line.strip()]
    spec = lambda url: [VenueSpec("bybit-linear", ["XRPUSDT"], channels=("depth",), endpoint=url)]  # noqa: E731
    with ReplayServer(frames, wait_subscribe=True) as srv:
        rec, stats = run_recorder(srv, tmp_path / "by", spec(srv.url))
    assert stats["malformed"] == 0 and stats["gaps"] == 0
    got, want = arbkit.load(tmp_path / "by"), convert_bybit([BYBIT])
    g = got.to_numpy()
    assert [i.key for i in got.instruments] == [i.key for i in want.instruments]
    assert rows(g, 0, [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH]) == rows(want.events, 0, [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH])
    assert books(g, 0) == books(want.events, 0)
    # a skipped delta breaks u continuity: GAP, then a new connection (Bybit re-sends a snapshot on subscribe)
    with ReplayServer(frames, wait_subscribe=True, skip_at=[20]) as srv:
        rec, stats = run_recorder(srv, tmp_path / "by_gap", spec(srv.url), until=lambda r: srv.done and r.stats.reconnects >= 1)
        connections = srv.connections
    assert stats["gaps"] >= 1 and stats["reconnects"] >= 1 and connections >= 2
    assert Counter(arbkit.load(tmp_path / "by_gap").to_numpy().kind.tolist())[Kind.GAP] >= 1


class _MarketLookup:
    """A local stand-in for Polymarket's market lookup: GET /markets?slug=... answers ``body`` for ``slug``."""

    def __init__(self, slug, body):
        import http.server
        import threading
        from urllib.parse import parse_qs, urlparse

        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                q = parse_qs(urlparse(self.path).query)
                outer.requests.append(self.path)
                data = json.dumps([body] if q.get("slug") == [slug] else []).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_polymarket_symbols_take_a_market_and_record_both_tokens(tmp_path):
    """``--symbols <slug>``: the recorder looks the market up (configured REST base), records both tokens with their
    market, outcome, complement and end time, and the books equal the converted files."""
    if not POLY.is_dir():
        pytest.skip("the Polymarket files are read from ../shared (no licence to bundle them)")
    from arbkit.convert.polymarket_collector import convert_polymarket

    slug = "sol-updown-15m-1765450800"
    body = {"slug": slug, "conditionId": "0xabc", "outcomes": json.dumps(["Up", "Down"]),
            "clobTokenIds": json.dumps(["tok-up", "tok-down"]), "endDate": "2025-12-11T11:15:00Z"}
    frames, _, files = _poly_frames(False)
    with _MarketLookup(slug, body) as look, ReplayServer(frames + ["PONG"], wait_subscribe=True, delay_s=0.0) as srv:
        rec, stats = run_recorder(srv, tmp_path / "pm", [VenueSpec("polymarket", [slug], endpoint=srv.url,
                                                                     rest=look.url)])
    assert look.requests and stats["malformed"] == 0
    got = arbkit.load(tmp_path / "pm")
    by_outcome = {i.outcome: (a, i) for a, i in enumerate(got.instruments)}
    assert sorted(by_outcome) == ["Down", "Up"]
    up, down = by_outcome["Up"][1], by_outcome["Down"][1]
    assert (up.symbol, up.market_id, up.complement) == (f"{slug}-UP", "0xabc", f"{slug}-DOWN")
    assert down.complement == up.symbol and up.resolution_ts == down.resolution_ts == 1765451700 * 10**9
    want = convert_polymarket(files)
    g = got.to_numpy()
    for outcome, (a, _) in by_outcome.items():
        w = [k for k, i in enumerate(want.instruments) if i.outcome == outcome][0]
        assert books(g, a) == books(want.events, w), outcome


def test_polymarket_market_lookup_failures_are_one_line(tmp_path):
    from arbkit.core.errors import ConfigError
    from arbkit.venues.polymarket import lookup_market

    with _MarketLookup("other", {}) as look:
        with pytest.raises(ConfigError, match="no market with two outcome tokens"):
            lookup_market("sol-updown-15m-1765450800", look.url)
    with pytest.raises(ConfigError, match="lookup .* failed"):
        lookup_market("sol-updown-15m-1765450800", "http://127.0.0.1:9", timeout_s=2.0)

"""The recorder's Coinbase Advanced Trade and Kraken (v1) adapters against a local server replaying real captures.

Oracle: the cryptofeed converter on the same capture, through the same venue normaliser.
The recorder stamps its own receive times, so rows are compared without ts_local; books
level by level, book rows in order, trades and BBO rows as multisets (the Kraken capture
took trades, tickers and books on three connections; the server sends them on one).
"""
import asyncio
import gzip
import json
import time
import warnings
from collections import Counter

import numpy as np
import pytest

import arbkit
from arbkit.convert.cryptofeed import convert_cryptofeed
from arbkit.live.record import Recorder, VenueSpec
from arbkit.live.record.replay_server import ReplayServer, cryptofeed_frames
from arbkit.core.schema import Kind
from helpers.paths import shared

DIR = "cryptofeed_recordings"
BOOK_KINDS = [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH, Kind.GAP]


def run_recorder(srv, out, specs, *, until=None, silence_s=5.0):
    rec = Recorder(out, specs, flush_s=0.2, silence_s=silence_s, status=False, backoff_s=(0.05, 0.5))

    async def main():
        task = asyncio.create_task(rec.run())
        deadline = time.time() + 120
        while time.time() < deadline and not task.done():
            if until is not None and until(rec):
                break
            if until is None and srv.done and rec.stats.messages >= len(srv.sent):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        rec.stop()
        return await task

    return rec, asyncio.run(main())


def books(cols, asset):
    bids, asks = {}, {}
    m = cols.asset == asset
    for k, s, p, q in zip(cols.kind[m], cols.side[m], cols.price[m], cols.qty[m]):
        if k == Kind.CLEAR:
            bids.clear()
            asks.clear()
        elif k in (Kind.SNAPSHOT, Kind.DEPTH):
            book = bids if s > 0 else asks
            book.pop(p, None) if q == 0 else book.__setitem__(p, q)
    return bids, asks


def rows(cols, asset, kinds):
    m = (cols.asset == asset) & np.isin(cols.kind, kinds)
    return list(zip(cols.kind[m].tolist(), cols.side[m].tolist(), cols.price[m].tolist(), cols.qty[m].tolist(),
                    cols.seq[m].tolist()))


def subscribed(path, key):
    """The symbols the capture subscribed to (from its send lines)."""
    out = []
    for line in gzip.open(path, "rt"):
        r = json.loads(line)
        if r["t"] == "send":
            for s in json.loads(r["data"]).get(key, ()):
                if s not in out:
                    out.append(s)
    return out


def assert_same_as_converter(got, want, *, ordered_extras):
    gk = {i.key: a for a, i in enumerate(got.instruments)}
    wk = {i.key: a for a, i in enumerate(want.instruments)}
    g = got.to_numpy()
    depth = 0
    for key, wa in wk.items():
        ga = gk[key]
        assert books(g, ga) == books(want.events, wa), key
        assert rows(g, ga, BOOK_KINDS) == rows(want.events, wa, BOOK_KINDS), key
        for kinds in ([Kind.TRADE], [Kind.BBO]):
            if ordered_extras:
                assert rows(g, ga, kinds) == rows(want.events, wa, kinds), (key, kinds)
            else:
                assert Counter(rows(g, ga, kinds)) == Counter(rows(want.events, wa, kinds)), (key, kinds)
        depth += len(rows(g, ga, [Kind.DEPTH]))
    return depth


def test_coinbase_recording_equals_the_converted_capture(tmp_path):
    cap = shared(DIR, "cryptofeed_COINBASE.jsonl.gz")
    frames = cryptofeed_frames(cap)
    symbols = subscribed(cap, "product_ids")
    assert symbols == ["BTC-USD", "ETH-USD"]
    with ReplayServer(frames, wait_subscribe=True) as srv:
        rec, stats = run_recorder(srv, tmp_path / "cb", [VenueSpec("coinbase", symbols, endpoint=srv.url)])
    assert stats["malformed"] == 0 and stats["messages"] == len(frames) and stats["gaps"] == 0
    got = arbkit.load(tmp_path / "cb")
    want = convert_cryptofeed([cap])
    assert {i.key for i in got.instruments} == {i.key for i in want.instruments}
    assert assert_same_as_converter(got, want, ordered_extras=True) > 4000
    checks = {i.key: i.extra["book_checks"] for i in got.instruments}
    assert all(c["sequence"] == "checked" and c["sequence_checks"] > 0 and c["sequence_mismatches"] == 0
               for c in checks.values())
    # a frame the server never sends breaks sequence_num: GAP, then a new connection
    with ReplayServer(frames, wait_subscribe=True, skip_at=[300]) as srv:
        rec, stats = run_recorder(srv, tmp_path / "cb_gap", [VenueSpec("coinbase", symbols, endpoint=srv.url)],
                                  until=lambda r: srv.done and r.stats.reconnects >= 1)
        connections = srv.connections
    assert stats["gaps"] >= 1 and stats["reconnects"] >= 1 and connections >= 2
    gapped = arbkit.load(tmp_path / "cb_gap")
    assert Counter(gapped.to_numpy().kind.tolist())[Kind.GAP] >= 1
    assert sum(i.extra["book_checks"]["sequence_mismatches"] for i in gapped.instruments) >= 1


def test_kraken_recording_equals_the_converted_capture(tmp_path):
    cap = shared(DIR, "cryptofeed_KRAKEN.jsonl.gz")
    frames = cryptofeed_frames(cap, by_time=True)
    pairs = subscribed(cap, "pair")
    assert len(pairs) == 10 and "XMR/USD" in pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ReplayServer(frames, wait_subscribe=True) as srv:
            rec, stats = run_recorder(srv, tmp_path / "kr", [VenueSpec("kraken", pairs, endpoint=srv.url)])
    assert stats["malformed"] == 0 and stats["messages"] == len(frames) and stats["gaps"] == 0
    got = arbkit.load(tmp_path / "kr")
    want = convert_cryptofeed([cap])
    assert {i.key for i in want.instruments} <= {i.key for i in got.instruments}
    assert assert_same_as_converter(got, want, ordered_extras=False) > 4000
    checks = [i.extra["book_checks"] for i in got.instruments if "book_checks" in i.extra]
    assert sum(c["checksum_checks"] for c in checks) > 4000 and all(c["checksum_mismatches"] == 0 for c in checks)


def test_kraken_checksum_mismatch_live_is_a_gap_and_a_new_connection(tmp_path):
    cap = shared(DIR, "cryptofeed_KRAKEN.jsonl.gz")
    frames = cryptofeed_frames(cap, by_time=True)
    k = next(i for i, f in enumerate(frames) if '"book-' in f and '"c":' in f and "XMR/USD" in f)
    msg = json.loads(frames[k])
    body = next(m for m in msg[1:-2] if "c" in m)
    side = "a" if "a" in body else "b"
    body[side][0][1] = "12345.67800000"
    frames[k] = json.dumps(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ReplayServer(frames, wait_subscribe=True) as srv:
            rec, stats = run_recorder(srv, tmp_path / "kr_bad", [VenueSpec("kraken", ["XMR/USD"], endpoint=srv.url)],
                                      until=lambda r: srv.done and r.stats.reconnects >= 1)
    assert stats["gaps"] >= 1 and stats["reconnects"] >= 1
    assert stats["malformed"] > 0  # the other pairs' frames: not subscribed here
    inst = arbkit.load(tmp_path / "kr_bad").instruments[0]
    assert inst.key == "kraken:XMR/USD" and inst.extra["book_checks"]["checksum_mismatches"] == 1


@pytest.mark.parametrize("venue,symbols,want", [
    ("coinbase", ["BTC-USD"], [{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
                               {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "market_trades"},
                               {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "ticker"},
                               {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "heartbeats"}]),
    ("kraken", ["XBT/USD"], [{"event": "subscribe", "pair": ["XBT/USD"], "subscription": {"name": "book", "depth": 1000}},
                             {"event": "subscribe", "pair": ["XBT/USD"], "subscription": {"name": "trade"}},
                             {"event": "subscribe", "pair": ["XBT/USD"], "subscription": {"name": "ticker"}}]),
])
def test_subscribe_frames(venue, symbols, want):
    from arbkit.live.record.adapters import make_adapter
    from arbkit.venues.common import EventSink, InstrumentTable
    table = InstrumentTable()
    a = make_adapter(venue, EventSink(table), table, symbols)
    assert [json.loads(f) for f in a.subscriptions()] == want
    assert a.url() in ("wss://advanced-trade-ws.coinbase.com", "wss://ws.kraken.com")

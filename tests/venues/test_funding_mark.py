"""FUNDING and MARK rows: from what the sources carry, through the recording format, and no fill changed in replays
(the funding they pay is tested in tests/engine/test_funding*.py).

Real sources: Bitget's futures ticker (capitalRate / nextSettleTime, markPrice / indexPrice),
Gate.io's futures ``contracts`` response, Deribit's tickers. Binance ``markPrice@1s``,
Bybit ``tickers`` and OKX ``funding-rate`` / ``mark-price`` frames are not in any shared
capture: those are hand-made from each venue's documented message shape.
"""
import gzip
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import arbkit
from arbkit.run.replay import replay
from arbkit.run.replay import replay_batch
from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.convert import run_converter
from arbkit.io.writer import write_recording
from arbkit.core.schema import SCHEMA_VERSION, Instrument, Kind
from arbkit.strategies.arb import arb
from arbkit.strategies.touch_mm import touch_mm
from arbkit.io.check import validate
from arbkit.venues.bybit import BybitFeed
from arbkit.venues.common import EventSink, InstrumentTable
from arbkit.venues.okx import OkxFeed
from helpers.events import make_events
from helpers.paths import ROOT, shared
from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
from helpers.script_strategy import script_strategy

MS = 1_000_000
DIR = "cryptofeed_recordings"
BINANCE_USDM = ROOT / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def rows_of(events, kind, asset=None):
    m = events.kind == kind
    if asset is not None:
        m &= events.asset == asset
    return [(int(t), float(p), float(q), int(s), int(sd)) for t, p, q, s, sd in
            zip(events.ts_local[m], events.price[m], events.qty[m], events.seq[m], events.side[m])]


# -- sources ---------------------------------------------------------------------------------

def test_binance_mark_price_stream_in_a_binance_capture(tmp_path):
    """Hand-made ``btcusdt@markPrice@1s`` frames (Binance USD-M docs' payload) inside a real capture."""
    lines = gzip.open(BINANCE_USDM, "rt").read().splitlines()
    marks = []
    for k, i in enumerate((100, 2000, 3500)):
        ts = int(lines[i + k].split(" ", 1)[0])  # the time of the line it follows: a capture's clock never goes back
        d = {"e": "markPriceUpdate", "E": ts // MS, "s": "BTCUSDT", "p": f"{61800.1 + k:.8f}", "i": f"{61795.5 + k:.8f}",
             "P": "61810.00000000", "r": f"{0.0001 - 0.00015 * k:.8f}", "T": 1723190400000}
        marks.append((ts, d))
        lines.insert(i + 1 + k, f"{ts} " + json.dumps({"stream": "btcusdt@markPrice@1s", "data": d}))
    src = tmp_path / "usdm_with_marks.txt"
    src.write_text("\n".join(lines) + "\n")
    got = quiet(run_converter, "binance", [src])
    plain = quiet(run_converter, "binance", [BINANCE_USDM])
    assert rows_of(got.events, Kind.MARK) == [(ts, float(d["p"]), float(d["i"]), -1, 0) for ts, d in marks]
    assert rows_of(got.events, Kind.FUNDING) == [(ts, float(d["r"]), 0.0, 1723190400000 * MS, 0) for ts, d in marks]
    assert rows_of(got.events, Kind.FUNDING)[2][1] < 0  # a negative rate is kept
    book = ~np.isin(got.events.kind, [Kind.FUNDING, Kind.MARK])
    for name in ("ts_local", "kind", "side", "price", "qty", "seq"):
        assert np.array_equal(getattr(got.events, name)[book], getattr(plain.events, name)), name


def test_binance_delivery_mark_price_has_no_funding():
    from arbkit.venues.binance import BinanceFeed
    table = InstrumentTable()
    sink = EventSink(table)
    feed = BinanceFeed(sink, table, "coinm")
    feed.recv(5 * MS, json.dumps({"stream": "btcusd_240927@markPrice@1s", "data": {
        "e": "markPriceUpdate", "E": 5, "s": "BTCUSD_240927", "p": "62011.5", "i": "61800.2", "P": "", "r": "",
        "T": 0}}), "frame")
    ev = sink.columns()
    assert rows_of(ev, Kind.MARK) == [(5 * MS, 62011.5, 61800.2, -1, 0)] and not rows_of(ev, Kind.FUNDING)


def test_bitget_futures_ticker_funding_and_mark_from_the_real_capture():
    src = shared(DIR, "cryptofeed_BITGET.jsonl.gz")
    res = quiet(run_converter, "cryptofeed", [src])
    want_f, want_m = [], []
    for line in gzip.open(src, "rt"):
        r = json.loads(line)
        if r["t"] != "recv":
            continue
        m = json.loads(r["data"])
        if m.get("arg", {}).get("channel") == "ticker" and m["arg"]["instType"] == "mc" and "data" in m:
            for d in m["data"]:
                key = ("bitget-futures", d["instId"])
                ts = int(round(r["ts"] * 1e9))
                want_f.append((key, ts, float(d["capitalRate"]), int(d["nextSettleTime"]) * MS))
                want_m.append((key, ts, float(d["markPrice"]), float(d["indexPrice"])))
    keys = [(i.venue, i.symbol) for i in res.instruments]
    ev = res.events
    got_f = [(keys[int(a)], int(t), float(p), int(s)) for a, t, p, s, k in
             zip(ev.asset, ev.ts_local, ev.price, ev.seq, ev.kind) if k == Kind.FUNDING]
    got_m = [(keys[int(a)], int(t), float(p), float(q)) for a, t, p, q, k in
             zip(ev.asset, ev.ts_local, ev.price, ev.qty, ev.kind) if k == Kind.MARK]
    assert sorted(got_f) == sorted(want_f) and len(got_f) == 217
    assert sorted(got_m) == sorted(want_m)
    assert {k for k, *_ in got_f} == {("bitget-futures", "DASHUSDT"), ("bitget-futures", "UNIUSDT")}


def test_gateio_contracts_response_gives_funding_and_mark_of_the_captured_contracts():
    src = shared(DIR, "cryptofeed_GATEIO_FUTURES.jsonl.gz")
    res = quiet(run_converter, "cryptofeed", [src])
    contracts = next(json.loads(r["data"]) for r in map(json.loads, gzip.open(src, "rt"))
                     if r["t"] == "http" and r["url"].endswith("/contracts"))
    by_name = {c["name"]: c for c in contracts}
    ev = res.events
    n = 0
    for a, inst in enumerate(res.instruments):
        c = by_name[inst.symbol]
        (t, rate, _, when, _), = rows_of(ev, Kind.FUNDING, a)
        assert rate == float(c["funding_rate"]) and when == int(c["funding_next_apply"]) * 1_000_000_000
        (_, mark, index, _, _), = rows_of(ev, Kind.MARK, a)
        assert (mark, index) == (float(c["mark_price"]), float(c["index_price"]))
        n += 1
    assert n == 10


def test_deribit_ticker_mark_and_index():
    src = shared(DIR, "cryptofeed_DERIBIT.jsonl.gz")
    res = quiet(run_converter, "cryptofeed", [src])
    want = []
    for r in map(json.loads, gzip.open(src, "rt")):
        if r["t"] == "recv" and '"channel":"ticker.' in r["data"]:
            d = json.loads(r["data"])["params"]["data"]
            want.append((int(round(r["ts"] * 1e9)), float(d["mark_price"]), float(d["index_price"])))
    got = [(t, p, q) for t, p, q, _, _ in rows_of(res.events, Kind.MARK)]
    assert sorted(got) == sorted(want) and len(got) == 89


def test_bybit_tickers_snapshot_and_deltas():
    """Bybit v5 ``tickers`` (docs' linear example): the delta carries only the fields that changed."""
    table = InstrumentTable()
    sink = EventSink(table)
    feed = BybitFeed(sink, table, "linear")
    snap = {"topic": "tickers.BTCUSDT", "type": "snapshot", "ts": 1673853746003, "cs": 2588407389, "data": {
        "symbol": "BTCUSDT", "lastPrice": "21109.77", "markPrice": "21106.69", "indexPrice": "21109.95",
        "fundingRate": "0.0001", "nextFundingTime": "1673856000000", "bid1Price": "21109.5", "bid1Size": "0.232",
        "ask1Price": "21109.8", "ask1Size": "0.005"}}
    delta1 = {"topic": "tickers.BTCUSDT", "type": "delta", "ts": 1673853747003, "cs": 2588407390,
              "data": {"symbol": "BTCUSDT", "markPrice": "21107.00"}}
    delta2 = {"topic": "tickers.BTCUSDT", "type": "delta", "ts": 1673853748003, "cs": 2588407391,
              "data": {"symbol": "BTCUSDT", "fundingRate": "-0.00002", "bid1Size": "1.5"}}
    for k, m in enumerate((snap, delta1, delta2)):
        feed.recv((k + 1) * 1000 * MS, json.dumps(m), "frame")
    ev = sink.columns()
    t1, t2, t3 = 1000 * MS, 2000 * MS, 3000 * MS
    assert rows_of(ev, Kind.FUNDING) == [(t1, 0.0001, 0.0, 1673856000000 * MS, 0), (t3, -0.00002, 0.0, 1673856000000 * MS, 0)]
    assert rows_of(ev, Kind.MARK) == [(t1, 21106.69, 21109.95, -1, 0), (t2, 21107.0, 21109.95, -1, 0)]
    bbo = [(t, p, q, sd) for t, p, q, _, sd in rows_of(ev, Kind.BBO)]
    assert bbo == [(t1, 21109.5, 0.232, 1), (t1, 21109.8, 0.005, -1), (t3, 21109.5, 1.5, 1), (t3, 21109.8, 0.005, -1)]
    assert table.instruments()[0].key == "bybit-linear:BTCUSDT"


def test_okx_funding_rate_and_mark_price_channels():
    """OKX v5 ``funding-rate`` and ``mark-price`` pushes (docs' examples)."""
    table = InstrumentTable()
    sink = EventSink(table)
    feed = OkxFeed(sink, table)
    feed.recv(10 * MS, json.dumps({"arg": {"channel": "funding-rate", "instId": "BTC-USD-SWAP"}, "data": [{
        "fundingRate": "0.0001875391284828", "fundingTime": "1700726400000", "instId": "BTC-USD-SWAP",
        "instType": "SWAP", "method": "current_period", "nextFundingRate": "", "nextFundingTime": "1700755200000",
        "ts": "1700724675402"}]}), "frame")
    feed.recv(11 * MS, json.dumps({"arg": {"channel": "mark-price", "instId": "BTC-USD-SWAP"}, "data": [{
        "instType": "SWAP", "instId": "BTC-USD-SWAP", "markPx": "37293.5", "ts": "1700724676000"}]}), "frame")
    ev = sink.columns()
    assert rows_of(ev, Kind.FUNDING) == [(10 * MS, 0.0001875391284828, 0.0, 1700726400000 * MS, 0)]
    assert rows_of(ev, Kind.MARK) == [(11 * MS, 37293.5, 0.0, -1, 0)]
    assert int(ev.ts_exch[0]) == 1700724675402 * MS
    assert table.instruments()[0].contract_type == "inverse_perp"


def test_kraken_futures_ticker_funding_mark_and_bbo():
    """Kraken Futures ``ticker`` (docs' example): the relative funding rate for the next funding time."""
    from arbkit.venues.kraken_futures import KrakenFuturesFeed
    table = InstrumentTable()
    sink = EventSink(table)
    KrakenFuturesFeed(sink, table).recv(7 * MS, json.dumps({
        "time": 1612270825253, "feed": "ticker", "product_id": "PI_XBTUSD", "bid": 34832.5, "ask": 34847.5,
        "bid_size": 42864, "ask_size": 2300, "index": 34803.45, "funding_rate": 3.891007752e-9,
        "markPrice": 34840.84, "relative_funding_rate": 0.000135539087, "next_funding_rate_time": 1612281600000}),
        "frame")
    ev = sink.columns()
    assert rows_of(ev, Kind.FUNDING) == [(7 * MS, 0.000135539087, 0.0, 1612281600000 * MS, 0)]
    assert rows_of(ev, Kind.MARK) == [(7 * MS, 34840.84, 34803.45, -1, 0)]
    assert [(p, q, sd) for _, p, q, _, sd in rows_of(ev, Kind.BBO)] == [(34832.5, 42864.0, 1), (34847.5, 2300.0, -1)]
    assert table.instruments()[0].contract_type == "inverse_perp"


# -- the recording format ------------------------------------------------------------------------

def test_funding_rows_round_trip_and_validate(tmp_path):
    inst = [Instrument("v", "P", 0.5, 0.001, contract_type="linear_perp")]
    rows = [(1, 0, 5, 0, 0.0, 0.0, 0), (1, 0, 1, 1, 99.5, 1.0, 0), (1, 0, 1, -1, 100.0, 1.0, 0),
            (2, 0, Kind.FUNDING, 0, -0.00025, 0.0, 28_800_000_000_000), (3, 0, Kind.MARK, 0, 99.77, 99.8, -1)]
    write_recording(tmp_path / "r", make_events(rows), inst)
    rec = arbkit.load(tmp_path / "r")
    assert rec.manifest.schema_version == SCHEMA_VERSION == 2
    assert rec.manifest.by_kind == {"CLEAR": 1, "SNAPSHOT": 2, "FUNDING": 1, "MARK": 1}
    assert validate(rec.path).ok
    ev = rec.to_numpy()
    assert float(ev.price[3]) == -0.00025 and int(ev.seq[3]) == 28_800_000_000_000
    bad = make_events(rows[:3] + [(3, 0, Kind.MARK, 1, 99.77, 99.8, -1)])
    write_recording(tmp_path / "bad", bad, inst)
    report = validate(tmp_path / "bad")
    assert not report.ok and any(i.check == "bad_side" and i.row == 3 for i in report.errors)


def test_version_1_recordings_still_read_and_unknown_versions_are_refused(bundled, tmp_path):
    assert bundled.manifest.schema_version == 1 and len(bundled.instruments) == 3  # written by the first schema
    import shutil
    shutil.copytree(bundled.path, tmp_path / "r")
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    m["schema_version"] = 3
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DataError, match="schema_version 3 is not supported .*reads 1, 2"):
        arbkit.load(tmp_path / "r")


# -- replays: the same fills with them ------------------------------------------------------------

def with_funding_rows(events: EventColumns, assets, every_ns: int) -> EventColumns:
    """``events`` plus a FUNDING and a MARK row per asset every ``every_ns`` (and some at a book row's exact
    ts_local), merged stably by ts_local."""
    ts = events.ts_local
    grid = np.arange(int(ts[0]), int(ts[-1]), every_ns, dtype=np.int64)
    grid = np.unique(np.concatenate([grid, ts[:: max(1, len(ts) // 50)]]))
    parts = []
    for a in assets:
        for kind, price, qty, seq in ((Kind.FUNDING, 0.0001, 0.0, 1723190400000 * MS), (Kind.MARK, 61000.0, 60990.0, -1)):
            n = len(grid)
            parts.append(EventColumns(grid.copy(), grid.copy(), np.full(n, a, np.int32), np.full(n, kind, np.uint8),
                                      np.zeros(n, np.int8), np.full(n, price), np.full(n, qty), np.full(n, seq, np.int64)))
    allc = EventColumns.concat([events] + parts)
    return allc.take(np.argsort(allc.ts_local, kind="stable"))


@pytest.fixture(scope="module")
def events(bundled):
    return bundled.to_numpy()


def test_a_recording_with_funding_rows_replays_to_the_same_fills(bundled, events):
    extra = with_funding_rows(events, [1, 2], 250 * MS)
    assert len(extra) > len(events) + 1000
    mm = {"asset": 1, "half_spread_bps": 0.5, "order_size": 0.01, "max_position": 0.05}
    fill = {"queue": "power", "queue_power": 2.0, "fill_probability": 0.8}
    lat = {"entry": 1_000_000, "response": 1_000_000}
    a = replay(events, touch_mm(), mm, fill=fill, latency=lat, seed=3, instruments=bundled.instruments)
    b = replay(extra, touch_mm(), mm, fill=fill, latency=lat, seed=3, instruments=bundled.instruments, chunk_rows=5_000)
    assert len(a.fills) > 20 and a.fills_hash == b.fills_hash
    assert np.array_equal(a.accounts, b.accounts)
    arb_params = {"asset_a": 1, "asset_b": 2, "entry_bps": -4.5, "tp_bps": 1.0, "stop_loss_bps": 3.0,
                  "time_limit_s": 30.0, "net_of_fees": 0, "order_size": 1.0}  # 1 BTC on USD-M, ~600 coin-M contracts
    c = replay(events, arb(), arb_params, latency=lat, instruments=bundled.instruments)
    d = replay(extra, arb(), arb_params, latency=lat, instruments=bundled.instruments)
    assert len(c.fills) > 0 and c.fills_hash == d.fills_hash
    # the batched kernel: each set equals its own replay without the rows
    sets = [dict(mm, half_spread_bps=h) for h in (0.5, 1.0)]
    batch = replay_batch(extra, touch_mm(), sets, fill=fill, latency=lat, seeds=3, instruments=bundled.instruments,
                         chunk_rows=7_000)
    assert [r.fills_hash for r in batch] == [replay(events, touch_mm(), p, fill=fill, latency=lat, seed=3,
                                                    instruments=bundled.instruments).fills_hash for p in sets]


TICK = 0.5


@hs.composite
def stream_with_funding(draw):
    rows = [(1_000, 0, 5, 0, 0.0, 0.0, 0)] + [(1_000, 0, 1, s, (200 - s * k) * TICK, 1.0, 0)
                                              for k in (1, 2, 3) for s in (1, -1)]
    t, seq = 1_000, 1
    for _ in range(draw(hs.integers(5, 40))):
        t += draw(hs.sampled_from([0, 1, 500, 1_000]))
        what = draw(hs.sampled_from(["depth", "depth", "trade", "funding", "mark"]))
        if what == "depth":
            side = draw(hs.sampled_from([1, -1]))
            tk = 200 - side * draw(hs.integers(1, 5))
            rows.append((t, 0, 2, side, tk * TICK, draw(hs.sampled_from([0.0, 0.5, 2.0])), seq))
        elif what == "trade":
            rows.append((t, 0, 3, draw(hs.sampled_from([1, -1])), (200 + draw(hs.integers(-3, 3))) * TICK, 1.0, seq))
        elif what == "funding":
            rows.append((t, 0, int(Kind.FUNDING), 0, draw(hs.sampled_from([-0.001, 0.0, 0.0003])), 0.0, 10**18))
        else:
            rows.append((t, 0, int(Kind.MARK), 0, 100.25, 100.0, -1))
        seq += 1
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=stream_with_funding(), data=hs.data())
def test_funding_rows_change_no_fill_in_either_engine(rows, data):
    t0, t1 = rows[0][0], rows[-1][0]
    actions = sorted([(data.draw(hs.integers(t0, t1)), 0, 0, data.draw(hs.sampled_from([1, -1])),
                       (200 + data.draw(hs.integers(-3, 3))) * TICK, 1.0, data.draw(hs.integers(0, 3)), 0)
                      for _ in range(data.draw(hs.integers(1, 6)))])
    plain = [r for r in rows if r[2] not in (Kind.FUNDING, Kind.MARK)]
    insts = [Instrument("sim", "X", TICK, 0.25, maker_fee_bps=-0.25, taker_fee_bps=4.0, contract_type="linear_perp")]
    strat, params = script_strategy(actions)
    fill = {"queue": "risk_averse", "queue_power": 1.0, "fill_probability": 1.0, "trade_through": "none",
            "cross_fill": False, "taker_consumes_book": False, "max_taker_levels": 0}
    got = [replay(make_events(r), strat, params, fill=fill, latency={"entry": 700, "response": 700},
                  instruments=insts, chunk_rows=3).fills for r in (rows, plain)]
    assert [tuple(f) for f in got[0]] == [tuple(f) for f in got[1]]
    refs = []
    for r in (rows, plain):
        ref = ReferenceEngine([RefInstrument(TICK, -0.25, 4.0, 1.0, False, lot=0.25)], Latency(700), Latency(700), seed=0,
                              queue="risk_averse", queue_power=1.0, fill_probability=1.0, trade_through="none",
                              cross_fill=False, consume=False, max_levels=0)
        ref.run(r, scripted(actions))
        refs.append([(f.ts, f.asset, f.side, f.price, f.qty) for f in ref.fills])
    assert refs[0] == refs[1] == [(int(f["ts"]), int(f["asset"]), int(f["side"]), float(f["price"]), float(f["qty"]))
                                  for f in got[0]]

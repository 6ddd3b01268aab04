"""Every cryptofeed capture in the shared data converts with its venue's book rules.

Oracles: ``arbkit validate`` (no book crossed after any update, every price on the tick
grid), counts taken straight from the raw captures, plain-dict books rebuilt from the raw
messages, and the venues' own checksums. A message removed from a capture must show up
as a sequence (or checksum) mismatch and a GAP.
"""
import gzip
import json
import warnings
from collections import Counter

import numpy as np
import pytest

from arbkit.core.errors import DataError
from arbkit.convert import convert, run_converter
from arbkit.core.schema import Kind
from arbkit.io.check import validate
from arbkit.io.info import info
from helpers.paths import SHARED, shared

DIR = "cryptofeed_recordings"
BYBIT_FIXTURE = ("format_fixtures_nautilus", "bybit_linear_xrpusdt_2024-12-01_ob500.first50.jsonl.gz")

#: exchange -> (sequence, checksum) states every instrument's book_checks must show
EXPECTED = {
    "BINANCE": ("checked", "absent"), "BINANCE_US": ("checked", "absent"), "BINANCE_FUTURES": ("checked", "absent"),
    "BINANCE_DELIVERY": ("checked", "absent"), "BITFINEX": ("checked", "absent"), "BITFLYER": ("absent", "absent"),
    "BITGET": ("absent", "checked"), "BITSTAMP": ("absent", "absent"), "BYBIT": ("checked", "absent"),
    "COINBASE": ("checked", "absent"), "CRYPTO.COM": ("absent", "absent"), "DERIBIT": ("checked", "absent"),
    "GATEIO": ("checked", "absent"), "GATEIO_FUTURES": ("checked", "absent"), "GEMINI": ("absent", "absent"),
    "HUOBI": ("monotonic", "absent"), "HUOBI_SWAP": ("monotonic", "absent"), "KRAKEN": ("absent", "checked"),
    "KRAKEN_FUTURES": ("checked", "absent"), "KUCOIN": ("checked", "absent"), "OKX": ("absent", "checked"),
    "PHEMEX": ("monotonic", "absent"), "POLONIEX": ("checked", "absent"), "UPBIT": ("absent", "absent"),
}
SHARED_EXCHANGES = sorted(set(EXPECTED) - {"BYBIT"})
FUNDING = {"BITGET": (217, 217), "GATEIO_FUTURES": (10, 10), "DERIBIT": (0, 89)}  # (FUNDING, MARK) rows


def capture(ex):
    return shared(DIR, f"cryptofeed_{ex}.jsonl.gz")


def records(path):
    return [json.loads(line) for line in gzip.open(path, "rt")] if str(path).endswith(".gz") else \
        [json.loads(line) for line in open(path)]


def frames(ex):
    return [json.loads(r["data"]) for r in records(capture(ex)) if r["t"] == "recv" and "data" in r]


def bybit_capture(tmp_path):
    """cryptofeed's envelope (header, connect, send, recv) around the real Bybit v5 frames of the fixture.

    The fixture holds no local receive times: each recv line's ``ts`` is the frame's ``cts`` (what the
    ``bybit`` converter takes as local time for such lines).
    """
    src = shared(*BYBIT_FIXTURE)
    msgs = [line.strip() for line in gzip.open(src, "rt") if line.strip()]
    addr = "wss://stream.bybit.com/v5/public/linear"
    lines = [{"t": "header", "format": 2, "exchange": "BYBIT", "config": {"l2_book": ["XRP-USDT-PERP"]},
              "recorded": json.loads(msgs[0])["ts"] / 1000},
             {"t": "connect", "conn": "BYBIT.ws.1", "ts": json.loads(msgs[0])["ts"] / 1000 - 1, "addr": addr},
             {"t": "send", "conn": "BYBIT.ws.1", "ts": json.loads(msgs[0])["ts"] / 1000 - 1, "addr": addr,
              "data": json.dumps({"op": "subscribe", "args": ["orderbook.500.XRPUSDT"]})}]
    lines += [{"t": "recv", "conn": "BYBIT.ws.1", "ts": json.loads(m).get("cts", json.loads(m)["ts"]) / 1000,
               "data": m} for m in msgs]
    path = tmp_path / "cryptofeed_BYBIT.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def source(ex, tmp_path):
    return bybit_capture(tmp_path) if ex == "BYBIT" else capture(ex)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize("ex", sorted(EXPECTED))
def test_every_capture_converts_with_its_venue_book_rules(ex, tmp_path):
    rec = quiet(convert, "cryptofeed", [source(ex, tmp_path)], tmp_path / "rec")
    report = validate(rec.path)
    assert report.ok, [str(i) for i in report.errors][:5]  # no crossed book after any update, prices on the grid
    assert rec.manifest.gaps == 0 and rec.manifest.by_kind.get("SNAPSHOT", 0) > 0
    seq_state, crc_state = EXPECTED[ex]
    totals = Counter()
    books = 0
    for inst in rec.instruments:
        src = inst.extra["meta_source"]
        assert {"tick_size", "lot_size", "contract_size", "contract_type"} <= set(src), inst.key
        bc = inst.extra.get("book_checks")
        if bc is None:
            continue
        books += 1
        assert (bc["sequence"], bc["checksum"]) == (seq_state, crc_state), inst.key
        totals.update({k: bc[k] for k in ("sequence_checks", "sequence_mismatches", "checksum_checks",
                                          "checksum_mismatches")})
    assert books > 0
    assert totals["sequence_mismatches"] == 0 and totals["checksum_mismatches"] == 0  # continuous captures
    assert (totals["sequence_checks"] > 0) == (seq_state != "absent")
    assert (totals["checksum_checks"] > 0) == (crc_state == "checked")
    funding, mark = FUNDING.get(ex, (0, 0))
    assert rec.manifest.by_kind.get("FUNDING", 0) == funding and rec.manifest.by_kind.get("MARK", 0) == mark


def test_bybit_in_cryptofeed_format_equals_the_bybit_capture_converter(tmp_path):
    got = run_converter("cryptofeed", [bybit_capture(tmp_path)])
    want = run_converter("bybit", [shared(*BYBIT_FIXTURE)])
    assert [i.key for i in got.instruments] == [i.key for i in want.instruments] == ["bybit-linear:XRPUSDT"]
    for name in ("ts_exch", "asset", "kind", "side", "price", "qty", "seq"):
        assert np.array_equal(getattr(got.events, name), getattr(want.events, name)), name
    assert np.abs(got.events.ts_local - want.events.ts_local).max() < 1_000  # float seconds in the envelope


def test_checksum_and_sequence_counts_match_the_raw_captures():
    # Bitget: one checksum per books message (snapshot and update)
    res = quiet(run_converter, "cryptofeed", [capture("BITGET")])
    books = sum(1 for f in frames("BITGET") if f.get("arg", {}).get("channel") == "books" and "data" in f)
    assert sum(i.extra["book_checks"]["checksum_checks"] for i in res.instruments) == books == 637
    # Kraken Futures: one sequence check per single-level book message after the product's snapshot
    res = quiet(run_converter, "cryptofeed", [capture("KRAKEN_FUTURES")])
    snapped, n = set(), 0
    for f in frames("KRAKEN_FUTURES"):
        if f.get("feed") == "book_snapshot":
            snapped.add(f["product_id"])
        elif f.get("feed") == "book" and f.get("product_id") in snapped:
            n += 1
    assert sum(i.extra["book_checks"]["sequence_checks"] for i in res.instruments) == n == 7014
    # Deribit: one check per change notification; Poloniex: one per update entry after the snapshot
    res = quiet(run_converter, "cryptofeed", [capture("DERIBIT")])
    changes = sum(1 for f in frames("DERIBIT") if f.get("params", {}).get("data", {}).get("type") == "change")
    assert sum(i.extra["book_checks"]["sequence_checks"] for i in res.instruments) == changes == 36
    res = quiet(run_converter, "cryptofeed", [capture("POLONIEX")])
    updates = sum(len(f["data"]) for f in frames("POLONIEX") if f.get("action") == "update")
    assert sum(i.extra["book_checks"]["sequence_checks"] for i in res.instruments) == updates == 283


def _final_books(res):
    """Every instrument's final book (price -> qty per side) from the converted CLEAR / SNAPSHOT / DEPTH rows."""
    out = {}
    ev = res.events
    for a, inst in enumerate(res.instruments):
        bids, asks = {}, {}
        m = ev.asset == a
        for k, sd, p, q in zip(ev.kind[m], ev.side[m], ev.price[m], ev.qty[m]):
            if k == Kind.CLEAR:
                bids, asks = {}, {}
            elif k in (Kind.SNAPSHOT, Kind.DEPTH):
                book = bids if sd > 0 else asks
                book.pop(p, None) if q == 0 else book.__setitem__(p, q)
        out[inst.symbol] = (bids, asks)
    return out


def _compare(want, got):
    """How many plain books were compared; each must equal the converted one level by level."""
    for key, (bids, asks) in want.items():
        g_bids, g_asks = got[key]
        assert g_bids == pytest.approx({float(p): float(q) for p, q in bids.items()}), key
        assert g_asks == pytest.approx({float(p): float(q) for p, q in asks.items()}), key
    return len(want)


def test_final_books_equal_plain_replays_of_the_raw_messages():
    """Books rebuilt from the raw frames with plain dicts, straight from each venue's documented rule."""
    # Kraken Futures: snapshot, then one level per message
    books = {}
    for f in frames("KRAKEN_FUTURES"):
        if f.get("feed") == "book_snapshot":
            books[f["product_id"]] = ({lv["price"]: lv["qty"] for lv in f["bids"]},
                                      {lv["price"]: lv["qty"] for lv in f["asks"]})
        elif f.get("feed") == "book" and "event" not in f:
            side = books[f["product_id"]][0 if f["side"] == "buy" else 1]
            side.pop(f["price"], None) if f["qty"] == 0 else side.__setitem__(f["price"], f["qty"])
    assert _compare(books, _final_books(quiet(run_converter, "cryptofeed", [capture("KRAKEN_FUTURES")]))) == 10
    # Poloniex: snapshot + updates of string levels
    books = {}
    for f in frames("POLONIEX"):
        if f.get("channel") != "book_lv2" or "data" not in f:
            continue
        for d in f["data"]:
            if f.get("action") == "snapshot":
                books[d["symbol"]] = ({}, {})
            for k, side in ((0, "bids"), (1, "asks")):
                for p, q in d[side]:
                    book = books[d["symbol"]][k]
                    book.pop(float(p), None) if float(q) == 0 else book.__setitem__(float(p), float(q))
    assert _compare(books, _final_books(quiet(run_converter, "cryptofeed", [capture("POLONIEX")]))) == 11
    # Bitfinex P0: count 0 removes; amount sign is the side
    chans, books = {}, {}
    for f in frames("BITFINEX"):
        if isinstance(f, dict):
            if f.get("event") == "subscribed" and f["channel"] == "book":
                chans[f["chanId"]] = f["pair"]
            continue
        pair = chans.get(f[0])
        if pair is None or f[1] == "hb":
            continue
        rows = f[1] if isinstance(f[1][0], list) else [f[1]]
        if isinstance(f[1][0], list):
            books[pair] = ({}, {})
        for p, c, a in rows:
            side = books[pair][0 if a > 0 else 1]
            side.pop(p, None) if c == 0 else side.__setitem__(p, abs(a))
    assert _compare(books, _final_books(quiet(run_converter, "cryptofeed", [capture("BITFINEX")]))) == 7


def _without(ex, tmp_path, pick, which=-2, corrupt=None):
    """The capture with one recv frame chosen by ``pick(frame_text)`` removed (or ``corrupt``-ed)."""
    lines = gzip.open(capture(ex), "rt").read().splitlines()
    idx = [i for i, line in enumerate(lines) if (r := json.loads(line))["t"] == "recv" and "data" in r
           and pick(r["data"])]
    i = idx[which]
    if corrupt is None:
        del lines[i]
    else:
        r = json.loads(lines[i])
        r["data"] = corrupt(r["data"])
        lines[i] = json.dumps(r)
    out = tmp_path / f"{ex}.jsonl"
    out.write_text("\n".join(lines) + "\n")
    return out


BREAKS = {  # exchange -> (frame to drop, instrument whose book must break)
    "BINANCE_FUTURES": (lambda t: '"depthUpdate"' in t and '"SUSHIUSDT"' in t, "SUSHIUSDT"),
    "BITFINEX": (lambda t: t.startswith("[") and '"hb"' in t, "DOGUSD"),  # any frame: the sequence is per connection
    "COINBASE": (lambda t: '"l2_data"' in t and '"update"' in t, "BTC-USD"),
    "DERIBIT": (lambda t: '"change"' in t and "BTC-24SEP21-8000-P" in t, "BTC-24SEP21-8000-P"),
    "GATEIO": (lambda t: "order_book_update" in t and '"update"' in t and "OMG_USDT" in t, "OMG_USDT"),
    "GATEIO_FUTURES": (lambda t: "order_book_update" in t and '"update"' in t and "OMG_USDT" in t, "OMG_USDT"),
    "KRAKEN_FUTURES": (lambda t: '"feed":"book"' in t and "PI_ETHUSD" in t, "PI_ETHUSD"),
    "KUCOIN": (lambda t: "l2update" in t and "BCHSV-USDT" in t, "BCHSV-USDT"),
    "POLONIEX": (lambda t: '"update"' in t and "BTC_USDT" in t, "BTC_USDT"),
}


@pytest.mark.parametrize("ex", sorted(BREAKS))
def test_a_lost_message_is_a_sequence_mismatch_and_a_gap(ex, tmp_path):
    pick, symbol = BREAKS[ex]
    res = quiet(run_converter, "cryptofeed", [_without(ex, tmp_path, pick)])
    inst = {i.symbol: (a, i) for a, i in enumerate(res.instruments)}
    a, i = inst[symbol]
    assert i.extra["book_checks"]["sequence_mismatches"] == 1
    gaps = np.flatnonzero((res.events.asset == a) & (res.events.kind == Kind.GAP))
    assert len(gaps) == 1
    # after the GAP the book takes no level update until a new image (CLEAR) arrives
    after = (res.events.asset == a) & (np.arange(len(res.events)) > gaps[0])
    kinds = res.events.kind[after]
    first_clear = np.flatnonzero(kinds == Kind.CLEAR)
    upto = first_clear[0] if len(first_clear) else len(kinds)
    assert not np.isin(kinds[:upto], [Kind.DEPTH, Kind.SNAPSHOT]).any()


@pytest.mark.parametrize("ex,pick", [
    ("BITGET", lambda t: '"books"' in t and '"update"' in t and "EOSUSDT" in t),
    ("OKX", lambda t: '"books"' in t and '"update"' in t and "BTC-USDT" in t),
    ("KRAKEN", lambda t: '"c":' in t and "book-" in t and "XMR/USD" in t),
])
def test_a_corrupted_level_is_a_checksum_mismatch_and_a_gap(ex, pick, tmp_path):
    def corrupt(text):
        msg = json.loads(text)
        body = msg["data"][0] if isinstance(msg, dict) else next(m for m in msg[1:-2] if "c" in m)
        for side in ("asks", "bids", "a", "b"):
            if body.get(side):
                body[side][0][1] = "12345.678"
                return json.dumps(msg)
        raise AssertionError("no level to corrupt")
    res = quiet(run_converter, "cryptofeed", [_without(ex, tmp_path, pick, which=1, corrupt=corrupt)])
    mism = {i.symbol: i.extra["book_checks"]["checksum_mismatches"] for i in res.instruments}
    assert sum(mism.values()) == 1
    assert int(np.sum(res.events.kind == Kind.GAP)) == 1


def test_unknown_exchange_and_headerless_capture_are_named(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"t":"header","exchange":"NOPE"}\n')
    with pytest.raises(DataError, match="'NOPE' is not supported.*GEMINI"):
        run_converter("cryptofeed", [tmp_path / "x.jsonl"])
    (tmp_path / "y.jsonl").write_text('{"t":"recv","ts":1.0,"data":"{}"}\n')
    with pytest.raises(DataError, match="header"):
        run_converter("cryptofeed", [tmp_path / "y.jsonl"])


def test_a_malformed_frame_of_a_known_channel_names_its_line(tmp_path):
    lines = gzip.open(capture("KRAKEN_FUTURES"), "rt").read().splitlines()
    for i, line in enumerate(lines):
        r = json.loads(line)
        if r["t"] == "recv" and '"feed":"book"' in r["data"] and '"seq"' in r["data"]:
            msg = json.loads(r["data"])
            del msg["seq"]
            r["data"] = json.dumps(msg)
            lines[i] = json.dumps(r)
            break
    bad = tmp_path / "kf.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"kf.jsonl, row {i + 1}: malformed KRAKEN_FUTURES recv message.*seq"):
        run_converter("cryptofeed", [bad])


def test_shared_data_holds_the_23_exchanges():
    if not (SHARED / DIR).is_dir():
        pytest.skip("shared data not available")
    names = sorted(p.name[len("cryptofeed_"):-len(".jsonl.gz")] for p in (SHARED / DIR).glob("cryptofeed_*.jsonl.gz"))
    assert names == SHARED_EXCHANGES and len(names) == 23


def test_info_shows_each_instruments_book_checks_and_metadata_sources(tmp_path):
    rec = quiet(convert, "cryptofeed", [capture("KRAKEN_FUTURES")], tmp_path / "kf")
    summary = info(rec, books=False)
    assert [e["book_checks"] for e in summary["instruments"]] == [i.extra["book_checks"] for i in rec.instruments]
    assert sum(e["book_checks"]["sequence_checks"] for e in summary["instruments"]) == 7014
    assert summary["instruments"][0]["meta_source"]["tick_size"] == "venue:/derivatives/api/v3/instruments"

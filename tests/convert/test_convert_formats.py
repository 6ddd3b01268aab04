"""Every converter runs on real files from shared/data/real with counts checked against the source."""
import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

import arbkit
from arbkit.book.scanner import scan_books
from arbkit.core.errors import DataError
from arbkit.convert import convert, run_converter
from arbkit.convert.hftbacktest import export_hftbacktest
from arbkit.core.schema import Kind
from arbkit.io.check import validate
from helpers.paths import BUNDLED, shared


def kinds(events):
    return np.bincount(events.kind, minlength=7)


def test_polymarket_books_and_trades(tmp_path):
    d = shared("polymarket_l2_2025-12-11")
    files = sorted(d.glob("polymarket_1h_btc_*"))
    rec = convert("polymarket", files, tmp_path / "pm")
    insts = rec.instruments
    assert {i.contract_type for i in insts} == {"binary_outcome"}
    assert sorted(i.extra["outcome"] for i in insts) == ["down", "up"]
    n_books = n_levels = n_trades = 0
    for f in files:
        doc = json.loads(gzip.open(f, "rt").read())
        if "orderbooks" in f.name:
            n_books += len(doc)
            n_levels += sum(len(e["bids"]) + len(e["asks"]) for e in doc)
        else:
            n_trades += len(doc)
    k = rec.manifest.by_kind
    assert k["CLEAR"] == n_books == 600 and k["SNAPSHOT"] == n_levels and k["TRADE"] == n_trades == 300
    assert validate(rec.path).ok
    # complementary books: Up best bid + Down best ask = 1 for snapshots paired by exchange timestamp
    cols = rec.to_numpy()
    up = rec.asset_index(next(i.key for i in insts if i.extra["outcome"] == "up"))
    down = 1 - up
    clears = cols.kind == Kind.CLEAR
    common = np.intersect1d(cols.ts_exch[clears & (cols.asset == up)], cols.ts_exch[clears & (cols.asset == down)])
    assert common.size > 100
    ts = common[0]
    tops = {}
    for a in (up, down):
        one = cols.take((cols.asset == a) & (cols.ts_exch == ts) & np.isin(cols.kind, [Kind.CLEAR, Kind.SNAPSHOT]))
        s, _ = scan_books(one, [i.tick_size for i in insts])
        tops[a] = s.final_top(a, 0.01)
    assert tops[up]["bid"] + tops[down]["ask"] == pytest.approx(1.0)
    assert 0 < tops[up]["bid"] < tops[up]["ask"] < 1


def test_tardis_all_data_types(tmp_path):
    d = shared("format_fixtures_nautilus")
    files = sorted(d.glob("tardis_*.csv"))
    res = run_converter("tardis", files)
    types = {v["data_type"] for v in res.report["files"].values()}
    assert types == {"incremental_book_L2", "book_snapshot", "trades", "quotes"}
    rows = {f.name: sum(1 for _ in csv.reader(open(f))) - 1 for f in files}
    for name, info in res.report["files"].items():
        assert info["rows"] == rows[name], name
    k = kinds(res.events)
    assert k[Kind.TRADE] == rows["tardis_bitmex_trades_XBTUSD.sample.csv"]
    assert k[Kind.BBO] == 2 * rows["tardis_huobi-dm-swap_quotes_BTC-USD.sample.csv"]
    snap_rows = rows["tardis_binance-futures_book_snapshot_5_BTCUSDT.sample.csv"] + \
        rows["tardis_binance-futures_book_snapshot_25_BTCUSDT.sample.csv"]
    assert k[Kind.CLEAR] == snap_rows + 1  # + the incremental file's one snapshot
    rec = convert("tardis", files, tmp_path / "t")
    assert validate(rec.path).ok


def test_lobster_reconstructs_every_orderbook_row(tmp_path):
    d = shared("lobster_sample_subset")
    rec = convert("lobster", sorted(d.glob("*.csv")), tmp_path / "lob")
    cols = rec.to_numpy()
    _, tops = scan_books(cols, [0.01], record_tops=True)
    book_rows = [list(map(int, r)) for r in csv.reader(open(next(d.glob("*orderbook*"))))]
    msgs = [r for r in csv.reader(open(next(d.glob("*message*"))))]
    assert len(book_rows) == len(msgs) == 999
    last_row_of_seq = {int(s): i for i, s in enumerate(cols.seq)}
    for n, b in enumerate(book_rows, start=1):
        top = tops[last_row_of_seq[n]]
        assert round(top[2] * 10000) == b[0] and top[3] == b[1], n  # best ask px, size
        assert round(top[0] * 10000) == b[2] and top[1] == b[3], n  # best bid px, size
    assert rec.manifest.by_kind["TRADE"] == sum(1 for m in msgs if m[1] in ("4", "5")) == 159
    assert validate(rec.path).ok


def test_bybit_snapshot_and_deltas(tmp_path):
    f = shared("format_fixtures_nautilus", "bybit_linear_xrpusdt_2024-12-01_ob500.first50.jsonl.gz")
    lines = [json.loads(l) for l in gzip.open(f, "rt")]
    res = run_converter("bybit", [f])
    sym = res.report["symbols"]["XRPUSDT"]
    assert sym == {"snapshots": 1, "deltas": 49, "gaps": 0}
    k = kinds(res.events)
    assert k[Kind.SNAPSHOT] == len(lines[0]["data"]["b"]) + len(lines[0]["data"]["a"])
    assert k[Kind.DEPTH] == sum(len(l["data"]["b"]) + len(l["data"]["a"]) for l in lines[1:])
    # an independent replay of the same lines gives the same final top
    bids, asks = {}, {}
    for l in lines:
        if l["type"] == "snapshot":
            bids, asks = {}, {}
        for side, book in (("b", bids), ("a", asks)):
            for p, q in l["data"][side]:
                book.pop(float(p), None) if float(q) == 0 else book.__setitem__(float(p), float(q))
    s, _ = scan_books(res.events, [res.instruments[0].tick_size])
    top = s.final_top(0, res.instruments[0].tick_size)
    assert (top["bid"], top["bid_qty"], top["ask"], top["ask_qty"]) == (max(bids), bids[max(bids)], min(asks),
                                                                        asks[min(asks)])
    # dropping a delta is a sequence gap
    cut = tmp_path / "gap.jsonl"
    cut.write_text("\n".join(json.dumps(l) for i, l in enumerate(lines) if i != 10) + "\n")
    gap = run_converter("bybit", [cut])
    assert gap.report["symbols"]["XRPUSDT"]["gaps"] == 1 and kinds(gap.events)[Kind.GAP] == 1


def test_hftbacktest_npz_round_trip_on_real_events(tmp_path):
    rec = arbkit.load(BUNDLED)
    cols = rec.to_numpy()
    a = rec.asset_index("binance-usdm:BTCUSDT")
    n = export_hftbacktest(cols, a, tmp_path / "usdm.npz")
    res = run_converter("hftbacktest", [tmp_path / "usdm.npz"], venue="binance-usdm", symbols=["BTCUSDT"])
    mine = cols.take(cols.asset == a)
    back = res.events
    assert len(back) == len(mine) and n == len(mine)  # one side-less row per CLEAR, no GAP rows here
    assert np.array_equal(back.kind, mine.kind) and np.array_equal(back.price[back.kind != Kind.CLEAR],
                                                                   mine.price[mine.kind != Kind.CLEAR])
    assert np.array_equal(back.ts_local, mine.ts_local) and np.array_equal(back.qty, mine.qty)
    assert np.array_equal(back.ts_exch, mine.ts_local)  # exported on the one clock: exch_ts = local_ts
    assert res.instruments[0].tick_size == 0.1


def test_hftbacktest_bad_files_are_named(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="junk.npz"):
        run_converter("hftbacktest", [tmp_path / "junk.npz"])
    np.savez(tmp_path / "nodata.npz", other=np.zeros(3))
    with pytest.raises(DataError, match="no 'data' array"):
        run_converter("hftbacktest", [tmp_path / "nodata.npz"])


def test_unknown_format_is_named():
    with pytest.raises(DataError, match="unknown format 'nope'"):
        run_converter("nope", [])

"""Binance converter on every real file pair in shared: books equal an independent Decimal replay,
bookTickers match the rebuilt top, counts match the source."""
import gzip
import json
import warnings
from decimal import Decimal

import numpy as np
import pytest

import arbkit
from arbkit.book.scanner import scan_books
from arbkit.core.errors import DataError
from arbkit.convert import convert, run_converter
from arbkit.core.schema import Kind
from helpers.paths import BINANCE_DIR, shared
from helpers.oracles import binance_decimal_replay

PAIRS = {
    "spot_btcusdt": ["binance_spot_btcusdt_20240808.gz", "binance_spot_btcusdt_20240809.gz"],
    "spot_ethusdt": ["binance_spot_ethusdt_20240808.gz", "binance_spot_ethusdt_20240809.gz"],
    "cm_btcusd_perp": ["binance_cm_btcusd_perp_20240808.gz", "binance_cm_btcusd_perp_20240809.gz"],
    "cm_ethusd_perp": ["binance_cm_ethusd_perp_20240808.gz", "binance_cm_ethusd_perp_20240809.gz"],
    "usdm_btcusdt": ["binance_usdm_btcusdt_20240808.gz"],
    "usdm_ethusdt": ["binance_usdm_ethusdt_20240808.gz"],
}


def _source_counts(paths):
    depth_msgs = depth_levels = tickers = trades = 0
    for p in paths:
        with gzip.open(p, "rt") as fh:
            for line in fh:
                d = json.loads(line.split(" ", 1)[1])
                d = d.get("data", d)
                if d.get("e") == "depthUpdate":
                    depth_msgs += 1
                    depth_levels += len(d["b"]) + len(d["a"])
                elif d.get("e") in ("trade", "aggTrade"):
                    trades += 1
                elif "lastUpdateId" not in d:
                    tickers += 1
    return depth_msgs, depth_levels, tickers, trades


@pytest.fixture(scope="module", params=sorted(PAIRS))
def converted(request, tmp_path_factory):
    paths = [shared(BINANCE_DIR.name, f) for f in PAIRS[request.param]]
    out = tmp_path_factory.mktemp(request.param)
    rec = convert("binance", paths, out / "rec")
    return request.param, paths, rec


def test_final_top_equals_decimal_replay(converted):
    name, paths, rec = converted
    ref = binance_decimal_replay([str(p) for p in paths])
    cols = rec.to_numpy()
    scanner, _ = scan_books(cols, [i.tick_size for i in rec.instruments])
    top = scanner.final_top(0, rec.instruments[0].tick_size)
    assert Decimal(str(top["bid"])) == ref["bid"] and Decimal(str(top["ask"])) == ref["ask"], name
    assert Decimal(str(top["bid_qty"])) == ref["bid_qty"] and Decimal(str(top["ask_qty"])) == ref["ask_qty"], name
    sym = next(iter(rec.manifest.conversion["symbols"].values()))
    assert sym["diffs_applied"] == ref["applied"]
    assert scanner.n_crossed == 0


def test_every_bookticker_between_applied_diffs_matches(converted):
    name, _, rec = converted
    sym = next(iter(rec.manifest.conversion["symbols"].values()))
    assert sym["gaps"] == 0
    assert sym["bbo_checked"] > 100, name
    assert sym["bbo_mismatched"] == 0, sym["mismatch_examples"]


def _first_ids(paths):
    """u -> U of every depth diff in the raw files (the recording keeps u as seq)."""
    out = {}
    for p in paths:
        with gzip.open(p, "rt") as fh:
            for line in fh:
                if "depthUpdate" in line:
                    d = json.loads(line.split(" ", 1)[1])
                    d = d.get("data", d)
                    out[d["u"]] = d["U"]
    return out


def _venue_order_stream(converted):
    """Book rows plus each bookTicker right after the last diff k with u_k <= ticker.u < U_k+1 (the venue's order).

    In arrival (ts_local) order no exact check exists: spot bookTickers run ahead of the 100 ms diff
    batches and futures 0 ms diffs overtake bookTickers, so the order is rebuilt from update ids.
    """
    name, paths, rec = converted
    cols = rec.to_numpy()
    first_of = _first_ids(paths)
    book_rows = np.flatnonzero(np.isin(cols.kind, [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH]))
    depth_rows = np.flatnonzero(cols.kind == Kind.DEPTH)
    depth_seq = cols.seq[depth_rows]
    msg_end = np.concatenate((depth_seq[1:] != depth_seq[:-1], [True]))
    ends, seqs = depth_rows[msg_end], depth_seq[msg_end]
    bid_rows = np.flatnonzero((cols.kind == Kind.BBO) & (cols.side == 1))
    u = cols.seq[bid_rows]
    k = np.searchsorted(seqs, u, side="right") - 1
    ok = (k >= 0) & (k + 1 < len(seqs))
    nxt_first = np.array([first_of[int(seqs[j + 1])] if o else 0 for j, o in zip(k, ok)], dtype=np.int64)
    ok &= u < nxt_first
    bid_rows, k = bid_rows[ok], k[ok]
    keys = np.concatenate([book_rows.astype(np.float64), ends[k] + 0.25, ends[k] + 0.5])
    rows = np.concatenate([book_rows, bid_rows, bid_rows + 1])
    order = rows[np.argsort(keys, kind="stable")]
    return cols.take(order)


def test_engine_book_matches_every_bookticker_between_applied_diffs(converted):
    """The numba book, fed the rows in the venue's own order, shows exactly each bookTicker's top."""
    name, paths, rec = converted
    tick = rec.instruments[0].tick_size
    stream = _venue_order_stream(converted)
    _, tops = scan_books(stream, [i.tick_size for i in rec.instruments], record_tops=True)
    at_ask = np.flatnonzero((stream.kind == Kind.BBO) & (stream.side == -1))
    at_bid = at_ask - 1
    assert np.all(stream.kind[at_bid] == Kind.BBO) and np.all(stream.seq[at_bid] == stream.seq[at_ask])
    book_top = tops[at_ask]
    assert np.array_equal(np.round(book_top[:, 0] / tick), np.round(stream.price[at_bid] / tick)), name
    assert np.array_equal(np.round(book_top[:, 2] / tick), np.round(stream.price[at_ask] / tick)), name
    assert np.array_equal(book_top[:, 1], stream.qty[at_bid]) and np.array_equal(book_top[:, 3], stream.qty[at_ask])
    sym = next(iter(rec.manifest.conversion["symbols"].values()))
    assert len(at_ask) == sym["bbo_checked"] > 100, name


def test_replay_engine_top_equals_every_bookticker(converted):
    """The same check through ``arbkit.replay``: a probe strategy compares the engine's depth top with each
    bookTicker at its message end. Rows get a running ts_local so that every venue message stays one message."""
    from arbkit.engine.replayer import Replayer
    from helpers.book_probe import bbo_checker

    name, paths, rec = converted
    stream = _venue_order_stream(converted)
    cls = np.where(np.isin(stream.kind, [Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH]), 0, stream.kind.astype(np.int64))
    new_msg = np.concatenate(([True], (stream.seq[1:] != stream.seq[:-1]) | (cls[1:] != cls[:-1])))
    ts = np.cumsum(new_msg).astype(np.int64)
    runner = Replayer(rec.instruments, bbo_checker(len(rec.instruments)))
    runner.feed(stream.replace(ts_local=ts, ts_exch=ts))
    runner.finish()
    checks, price_bad, qty_bad = (int(x) for x in runner.user[:3])
    sym = next(iter(rec.manifest.conversion["symbols"].values()))
    assert price_bad == 0 and qty_bad == 0, name
    assert 100 < checks <= sym["bbo_checked"], name



def test_event_counts_match_the_source(converted):
    name, paths, rec = converted
    depth_msgs, depth_levels, tickers, trades = _source_counts(paths)
    conv = next(iter(rec.manifest.conversion["symbols"].values()))
    by_kind = rec.manifest.by_kind
    assert by_kind["TRADE"] == trades
    assert by_kind["BBO"] == 2 * tickers
    assert by_kind["CLEAR"] == 1 and by_kind["SNAPSHOT"] == 2000
    assert conv["diffs_applied"] + conv["stale_diffs_dropped"] == depth_msgs
    assert by_kind["DEPTH"] <= depth_levels
    from arbkit.io.check import validate
    assert validate(rec.path).ok


def test_diffs_without_snapshot_mark_depth_unusable(tmp_path):
    path = shared(BINANCE_DIR.name, "binance_spot_btcusdt_20240809.gz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_converter("binance", [path])
    assert any("no REST snapshot" in str(w.message) and path.name in str(w.message) for w in caught)
    assert result.instruments[0].depth_usable is False
    kinds = np.bincount(result.events.kind, minlength=7)
    assert kinds[Kind.DEPTH] == 0 and kinds[Kind.SNAPSHOT] == 0
    assert kinds[Kind.BBO] > 0 and kinds[Kind.TRADE] > 0


def _write_lines(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def _head(name, n):
    with gzip.open(shared(BINANCE_DIR.name, name), "rt") as fh:
        return [next(fh).rstrip("\n") for _ in range(n)]


def test_microsecond_local_timestamps_are_detected(tmp_path):
    lines = _head("binance_spot_btcusdt_20240808.gz", 300)
    us = [f"{int(l.split(' ', 1)[0]) // 1000} {l.split(' ', 1)[1]}" for l in lines]
    _write_lines(tmp_path / "ns.gz", lines)
    _write_lines(tmp_path / "us.gz", us)
    a = run_converter("binance", [tmp_path / "ns.gz"])
    b = run_converter("binance", [tmp_path / "us.gz"])
    assert b.report["ts_units"]["us.gz"] == "us" and a.report["ts_units"]["ns.gz"] == "ns"
    assert np.array_equal(a.events.ts_local // 1000, b.events.ts_local // 1000)
    assert np.array_equal(a.events.price, b.events.price)


def test_mixed_timestamp_units_in_one_file_are_refused(tmp_path):
    lines = _head("binance_spot_btcusdt_20240808.gz", 50)
    ts, rest = lines[20].split(" ", 1)
    lines[20] = f"{int(ts) // 1000} {rest}"
    _write_lines(tmp_path / "mixed.gz", lines)
    with pytest.raises(DataError) as exc:
        run_converter("binance", [tmp_path / "mixed.gz"])
    assert exc.value.row == 21 and "mixed.gz" in str(exc.value) and exc.value.field == "local_ts"


def test_malformed_json_and_truncated_gzip_name_file_and_line(tmp_path):
    lines = _head("binance_spot_btcusdt_20240808.gz", 40)
    lines[30] = lines[30][:-5]
    _write_lines(tmp_path / "bad.gz", lines)
    with pytest.raises(DataError) as exc:
        run_converter("binance", [tmp_path / "bad.gz"])
    assert exc.value.row == 31 and "malformed JSON" in str(exc.value) and "bad.gz" in str(exc.value)

    raw = shared(BINANCE_DIR.name, "binance_spot_btcusdt_20240808.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataError) as exc:
        run_converter("binance", [tmp_path / "cut.gz"])
    assert "truncated" in str(exc.value) and "cut.gz" in str(exc.value) and exc.value.row > 1000


def test_sequence_gap_becomes_gap_event(tmp_path):
    lines = _head("binance_spot_btcusdt_20240808.gz", 400)
    depth_after_snapshot = [i for i, l in enumerate(lines) if "depthUpdate" in l and i > 20]
    del lines[depth_after_snapshot[5]]
    _write_lines(tmp_path / "gap.gz", lines)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run_converter("binance", [tmp_path / "gap.gz"])
    assert any("sequence break" in str(w.message) for w in caught)
    assert int(np.sum(res.events.kind == Kind.GAP)) == 1
    sym = next(iter(res.report["symbols"].values()))
    assert sym["gaps"] == 1

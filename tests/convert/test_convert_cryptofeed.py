"""cryptofeed captures: Binance family, OKX (checksums), Coinbase (sequence), Upbit, on the real files."""
import base64
import gzip
import json
import warnings

import numpy as np
import pytest

from arbkit.book.scanner import scan_books
from arbkit.core.errors import DataError
from arbkit.convert import convert, run_converter
from arbkit.core.schema import Kind
from arbkit.io.check import validate
from helpers.paths import shared

DIR = "cryptofeed_recordings"


def records(ex):
    return [json.loads(l) for l in gzip.open(shared(DIR, f"cryptofeed_{ex}.jsonl.gz"), "rt")]


def recv_payloads(ex):
    out = []
    for r in records(ex):
        if r["t"] == "recv":
            text = r.get("data") or base64.b64decode(r["b64"]).decode()
            try:
                out.append(json.loads(text))
            except json.JSONDecodeError:
                pass
    return out


@pytest.mark.parametrize("ex", ["BINANCE", "BINANCE_US", "BINANCE_FUTURES", "BINANCE_DELIVERY"])
def test_binance_family_syncs_every_book_and_matches_booktickers(ex, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = convert("cryptofeed", [shared(DIR, f"cryptofeed_{ex}.jsonl.gz")], tmp_path / ex)
    rep = rec.manifest.conversion["files"][f"cryptofeed_{ex}.jsonl.gz"]["venue_report"]
    snapshots = sum(1 for r in records(ex) if r["t"] == "http" and "/depth" in r["url"])
    assert sum(v["snapshots"] for v in rep.values()) == snapshots
    assert all(v["gaps"] == 0 for v in rep.values())
    assert sum(v.get("bbo_checked", 0) for v in rep.values()) > 0
    assert all(v.get("bbo_mismatched", 0) == 0 for v in rep.values())
    payloads = [p.get("data", p) for p in recv_payloads(ex)]
    trades = sum(1 for p in payloads if p.get("e") in ("trade", "aggTrade"))
    assert rec.manifest.by_kind.get("TRADE", 0) == trades
    diffs = sum(1 for p in payloads if p.get("e") == "depthUpdate")
    assert sum(v["diffs_applied"] + v["stale_diffs_dropped"] for v in rep.values()) <= diffs
    assert validate(rec.path).ok


def test_okx_checksums_all_match_and_corruption_is_a_gap(tmp_path):
    src = shared(DIR, "cryptofeed_OKX.jsonl.gz")
    res = run_converter("cryptofeed", [src])
    rep = res.report["files"][src.name]["venue_report"]
    book_msgs = [p for p in recv_payloads("OKX") if p.get("arg", {}).get("channel") == "books" and "data" in p]
    assert sum(v["checksum_checks"] for v in rep.values()) == len(book_msgs)
    assert all(v["checksum_mismatches"] == 0 for v in rep.values())
    assert all(v["updates_while_unsynced"] == 0 for v in rep.values())
    # corrupt one size in one update: its checksum fails -> GAP, later updates are not applied
    lines = gzip.open(src, "rt").read().splitlines()
    for i, l in enumerate(lines):
        r = json.loads(l)
        if r["t"] == "recv" and '"action":"update"' in r["data"] and "BTC-USDT" in r["data"]:
            msg = json.loads(r["data"])
            msg["data"][0]["asks"][0][1] = "999.9"
            r["data"] = json.dumps(msg)
            lines[i] = json.dumps(r)
            break
    bad = tmp_path / "okx.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res2 = run_converter("cryptofeed", [bad])
    assert any("checksum mismatch" in str(w.message) for w in caught)
    rep2 = res2.report["files"]["okx.jsonl"]["venue_report"]["BTC-USDT"]
    assert rep2["checksum_mismatches"] == 1 and rep2["gaps"] == 1
    assert int(np.sum(res2.events.kind == Kind.GAP)) == 1


def test_coinbase_level2_and_trades(tmp_path):
    rec = convert("cryptofeed", [shared(DIR, "cryptofeed_COINBASE.jsonl.gz")], tmp_path / "cb")
    payloads = recv_payloads("COINBASE")
    levels = sum(len(e["updates"]) for p in payloads if p.get("channel") == "l2_data" for e in p["events"])
    trades = sum(len(e["trades"]) for p in payloads if p.get("channel") == "market_trades" for e in p["events"]
                 if e["type"] == "update")
    k = rec.manifest.by_kind
    assert k["SNAPSHOT"] + k["DEPTH"] == levels and k["TRADE"] == trades and k["CLEAR"] == 2
    rep = rec.manifest.conversion["files"]["cryptofeed_COINBASE.jsonl.gz"]["venue_report"]
    assert rep["sequence_gaps"] == 0
    report = validate(rec.path)
    assert report.ok, [str(i) for i in report.errors]


def test_upbit_snapshots_and_trades(tmp_path):
    rec = convert("cryptofeed", [shared(DIR, "cryptofeed_UPBIT.jsonl.gz")], tmp_path / "up")
    payloads = recv_payloads("UPBIT")
    assert rec.manifest.by_kind["CLEAR"] == sum(1 for p in payloads if p.get("ty") == "orderbook")
    assert rec.manifest.by_kind["TRADE"] == sum(1 for p in payloads if p.get("ty") == "trade")
    last = {}
    for p in payloads:
        if p.get("ty") == "orderbook":
            last[p["cd"]] = p["obu"][0]
    cols = rec.to_numpy()
    s, _ = scan_books(cols, [i.tick_size for i in rec.instruments])
    for a, inst in enumerate(rec.instruments):
        if inst.symbol in last:
            top = s.final_top(a, inst.tick_size)
            assert top["bid"] == last[inst.symbol]["bp"] and top["ask"] == last[inst.symbol]["ap"]


def test_kraken_checksums_all_match(tmp_path):
    rec = convert("cryptofeed", [shared(DIR, "cryptofeed_KRAKEN.jsonl.gz")], tmp_path / "kr")
    rep = rec.manifest.conversion["files"]["cryptofeed_KRAKEN.jsonl.gz"]["venue_report"]
    with_checksum = sum(1 for p in recv_payloads("KRAKEN") if isinstance(p, list) and str(p[-2]).startswith("book")
                        and isinstance(p[-3], dict) and "c" in p[-3])
    assert sum(v["checksum_checks"] for v in rep.values()) == with_checksum > 4000
    assert all(v["checksum_mismatches"] == 0 and v["snapshots"] == 1 for v in rep.values())
    assert validate(rec.path).ok


def test_unsupported_exchange_and_headerless_capture(tmp_path):
    (tmp_path / "h.jsonl").write_text('{"t":"header","exchange":"NOPE"}\n')
    with pytest.raises(DataError, match="'NOPE' is not supported"):
        run_converter("cryptofeed", [tmp_path / "h.jsonl"])
    (tmp_path / "x.jsonl").write_text('{"t":"recv","ts":1.0,"data":"{}"}\n')
    with pytest.raises(DataError, match="header"):
        run_converter("cryptofeed", [tmp_path / "x.jsonl"])

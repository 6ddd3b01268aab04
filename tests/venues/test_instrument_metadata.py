"""Tick, lot, contract size and type come from the venue's own instrument responses when a capture holds them.

Each value's origin is in ``extra["meta_source"]``; inference from the prices seen is the
fallback, and a venue tick that some recorded price is not on gives way to the inferred
grid (the venue value is kept as ``venue_tick_size``).
"""
import gzip
import json
import warnings
from decimal import Decimal

import pytest

from arbkit.apps.cli import main
from arbkit.convert import run_converter
from arbkit.io.recording import load
from helpers.paths import shared

DIR = "cryptofeed_recordings"
GET_INSTRUMENTS = "venue:/api/v2/public/get_instruments"


def run(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_converter(*args, **kw)


def by_symbol(res):
    return {i.symbol: i for i in res.instruments}


def without_http(ex, tmp_path):
    src = shared(DIR, f"cryptofeed_{ex}.jsonl.gz")
    out = tmp_path / f"{ex}_no_http.jsonl"
    out.write_text("".join(line for line in gzip.open(src, "rt") if json.loads(line)["t"] != "http"))
    return out


def test_deribit_options_take_the_venue_tick_not_the_finest_price_grid(tmp_path):
    src = shared(DIR, "cryptofeed_DERIBIT.jsonl.gz")
    venue = by_symbol(run("cryptofeed", [src]))
    guessed = by_symbol(run("cryptofeed", [without_http("DERIBIT", tmp_path)]))
    opt = venue["BTC-24SEP21-8000-P"]
    assert opt.tick_size == 0.0005 and opt.lot_size == 0.1 and opt.contract_type == "option"
    assert opt.extra["meta_source"]["tick_size"] == GET_INSTRUMENTS
    assert opt.extra["meta_source"]["contract_type"] == GET_INSTRUMENTS
    assert opt.maker_fee_bps == pytest.approx(3.0)  # maker_commission 0.0003
    g = guessed["BTC-24SEP21-8000-P"]
    assert g.extra["meta_source"]["tick_size"] == "inferred" and g.tick_size != 0.0005
    # the venue's value for every option in the capture equals its get_instruments entry
    entries = {}
    for line in gzip.open(src, "rt"):
        r = json.loads(line)
        if r["t"] == "http":
            entries.update({d["instrument_name"]: d for d in json.loads(r["data"])["result"]})
    for sym, inst in venue.items():
        assert inst.tick_size == entries[sym]["tick_size"] and inst.lot_size == entries[sym]["min_trade_amount"], sym


def test_deribit_perpetual_tick_is_0_5_from_a_capture_holding_get_instruments():
    tardis = shared("format_fixtures_nautilus", "tardis_deribit_incremental_book_L2_BTC-PERPETUAL.sample.csv")
    guessed = run("tardis", [tardis]).instruments[0]
    assert guessed.tick_size == 0.1 and guessed.extra["meta_source"]["tick_size"] == "inferred"
    res = run("tardis", [tardis], venue_meta=[shared(DIR, "cryptofeed_DERIBIT.jsonl.gz")])
    inst = res.instruments[0]
    assert inst.key == "deribit:BTC-PERPETUAL"
    assert (inst.tick_size, inst.lot_size, inst.contract_type, inst.contract_size) == (0.5, 10.0, "inverse_perp", 1.0)
    assert {inst.extra["meta_source"][k] for k in ("tick_size", "lot_size", "contract_type")} == {GET_INSTRUMENTS}
    assert res.report["venue_meta"] == ["cryptofeed_DERIBIT.jsonl.gz"]
    assert (res.events.price[res.events.price > 0] % 0.5 == 0).all()


def test_cli_convert_takes_venue_meta(tmp_path, capsys):
    tardis = shared("format_fixtures_nautilus", "tardis_deribit_incremental_book_L2_BTC-PERPETUAL.sample.csv")
    rc = main(["convert", "-f", "tardis", str(tardis), "-o", str(tmp_path / "r"), "--venue-meta",
               str(shared(DIR, "cryptofeed_DERIBIT.jsonl.gz"))])
    assert rc in (0, None)
    inst = load(tmp_path / "r").instruments[0]
    assert inst.tick_size == 0.5 and inst.extra["meta_source"]["tick_size"] == GET_INSTRUMENTS


@pytest.mark.parametrize("ex,symbol,tick,lot,size,ctype,source", [
    ("KRAKEN_FUTURES", "FI_XBTUSD_210924", 0.5, None, 1.0, "inverse_future", "venue:/derivatives/api/v3/instruments"),
    ("BITGET", "EOSUSDT", 0.0001, 0.0001, 1.0, "spot", "venue:/api/spot/v1/public/products"),
    ("COINBASE", "BTC-USD", 0.01, 1e-8, 1.0, "spot", "venue:/api/v3/brokerage/market/products"),
    ("HUOBI_SWAP", "ATOM-USD", 0.0001, 1.0, 10.0, "inverse_perp", "venue:/swap-api/v1/swap_contract_info"),
    ("GATEIO_FUTURES", "QUICK_USDT", 0.01, 1.0, 0.01, "linear_perp", "venue:/api/v4/futures/usdt/contracts"),
    ("PHEMEX", "YFIUSD", 0.5, 1.0, 0.0001, "linear_perp", "venue:/exchange/public/cfg/v2/products"),
    ("OKX", "UNI-USD-SWAP", 0.001, 1.0, 10.0, "inverse_perp", "venue:/api/v5/public/instruments"),
    ("BINANCE_DELIVERY", "BTCUSD_211231", 0.1, 1.0, 100.0, "inverse_future", "venue:/dapi/v1/exchangeInfo"),
])
def test_venue_metadata_per_exchange(ex, symbol, tick, lot, size, ctype, source):
    inst = by_symbol(run("cryptofeed", [shared(DIR, f"cryptofeed_{ex}.jsonl.gz")]))[symbol]
    assert inst.tick_size == tick and inst.contract_size == size and inst.contract_type == ctype
    if lot is not None:
        assert inst.lot_size == lot and inst.extra["meta_source"]["lot_size"] == source
    assert inst.extra["meta_source"]["tick_size"] == source


def test_a_venue_tick_that_recorded_prices_are_off_falls_back_to_the_inferred_grid():
    res = run("cryptofeed", [shared(DIR, "cryptofeed_BINANCE.jsonl.gz")])
    a, inst = next((a, i) for a, i in enumerate(res.instruments) if i.symbol == "NKNUSDT")
    assert inst.extra["venue_tick_size"] == 0.0001 and inst.extra["meta_source"]["tick_size"] == "inferred"
    priced = (res.events.asset == a) & (res.events.price > 0)
    off = sum(1 for p in res.events.price[priced] if Decimal(repr(float(p))) % Decimal("0.0001") != 0)
    assert inst.extra["off_venue_tick_rows"] == off > 0
    assert inst.tick_size == 1e-5 and all(Decimal(repr(float(p))) % Decimal("0.00001") == 0
                                          for p in res.events.price[priced])
    assert inst.extra["meta_source"]["lot_size"] == "venue:/api/v3/exchangeInfo"


def test_user_overrides_win_over_the_venue():
    res = run("cryptofeed", [shared(DIR, "cryptofeed_DERIBIT.jsonl.gz")],
              instruments={"deribit:BTC-24SEP21-8000-P": {"tick_size": 0.0001, "maker_fee_bps": 0.0}})
    inst = by_symbol(res)["BTC-24SEP21-8000-P"]
    assert inst.tick_size == 0.0001 and inst.maker_fee_bps == 0.0
    assert inst.extra["meta_source"]["tick_size"] == "override"
    assert inst.extra["meta_source"]["lot_size"] == GET_INSTRUMENTS

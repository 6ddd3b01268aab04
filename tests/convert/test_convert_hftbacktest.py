"""export_hftbacktest: hftbacktest's event semantics on one clock, checked row by row and by round trip.

The flag checks need no hftbacktest; with hftbacktest installed, its own book after the
exported rows must equal the hand-worked book (a clear removes both sides).
"""
import numpy as np
import pytest

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.convert import run_converter
from arbkit.convert.hftbacktest import (BUY_EVENT, EXCH_EVENT, HB_BBO, HB_CLEAR, HB_DEPTH, HB_SNAPSHOT, HB_TRADE,
                                          LOCAL_EVENT, SELL_EVENT, export_hftbacktest, hftbacktest_events)
from arbkit.core.schema import Kind

T0 = 1_723_161_300_000_000_000
VENUE_AHEAD = 1_270_000_000  # the venue's clock ran this far ahead of the recorder's
S, D, TR, B, C, G = Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE, Kind.BBO, Kind.CLEAR, Kind.GAP
ROWS = [  # (ms after T0, asset, kind, side, price, qty)
    (0, 0, C, 0, 0.0, 0.0),
    (0, 0, S, 1, 100.0, 1.0), (0, 0, S, 1, 99.9, 2.0), (0, 0, S, -1, 100.1, 1.5), (0, 0, S, -1, 100.2, 3.0),
    (1, 1, D, 1, 5.0, 7.0),  # another instrument: not exported
    (2, 0, D, 1, 100.0, 0.5),
    (3, 0, TR, 1, 100.1, 0.2),  # a buyer took the ask
    (4, 0, TR, -1, 100.0, 0.1),  # a seller hit the bid
    (5, 0, B, 1, 100.0, 0.5), (5, 0, B, -1, 100.1, 1.3),
    (6, 0, G, 0, 0.0, 0.0),
    (7, 0, C, 0, 0.0, 0.0),  # the re-image after the gap: every level above is gone
    (7, 0, S, 1, 101.0, 4.0), (7, 0, S, -1, 101.2, 5.0),
]


def events() -> EventColumns:
    r = np.array([(T0 + ms * 1_000_000, a, k, sd, p, q) for ms, a, k, sd, p, q in ROWS], dtype=object)
    ts = r[:, 0].astype(np.int64)
    return EventColumns.from_arrays(ts_exch=ts + VENUE_AHEAD, ts_local=ts, asset=r[:, 1].astype(np.int32),
                                    kind=r[:, 2].astype(np.uint8), side=r[:, 3].astype(np.int8),
                                    price=r[:, 4].astype(np.float64), qty=r[:, 5].astype(np.float64),
                                    seq=np.full(len(r), -1))


def test_rows_carry_hftbacktest_semantics_on_the_recorders_clock():
    cols = events()
    out = hftbacktest_events(cols, 0)
    kept = (cols.asset == 0) & (cols.kind != G)
    assert len(out) == kept.sum() == len(ROWS) - 2
    ts = cols.ts_local[kept]
    assert np.array_equal(out["local_ts"], ts) and np.array_equal(out["exch_ts"], ts)  # one clock, not the venue's
    ev = out["ev"].astype(np.uint64)
    assert np.all(ev & np.uint64(EXCH_EVENT | LOCAL_EVENT) == np.uint64(EXCH_EVENT | LOCAL_EVENT))
    code = (ev & np.uint64(0xFF)).astype(int)
    want = {C: HB_CLEAR, S: HB_SNAPSHOT, D: HB_DEPTH, TR: HB_TRADE, B: HB_BBO}
    assert code.tolist() == [want[k] for k in cols.kind[kept]]
    buy = (ev & np.uint64(BUY_EVENT)) != 0
    sell = (ev & np.uint64(SELL_EVENT)) != 0
    clear = code == HB_CLEAR
    assert clear.sum() == 2 and not (buy | sell)[clear].any()  # side-less: hftbacktest clears both sides
    side = cols.side[kept]
    assert np.array_equal(buy[~clear], side[~clear] > 0) and np.array_equal(sell[~clear], side[~clear] < 0)
    trades = code == HB_TRADE
    assert buy[trades].tolist() == [True, False]  # BUY = the buyer was the aggressor, as in hftbacktest
    assert np.array_equal(out["px"][~clear], cols.price[kept][~clear])
    assert np.array_equal(out["qty"][~clear], cols.qty[kept][~clear])


def test_npz_round_trip(tmp_path):
    cols = events()
    n = export_hftbacktest(cols, 0, tmp_path / "btc.npz")
    back = run_converter("hftbacktest", [tmp_path / "btc.npz"], venue="binance-usdm", symbols=["BTCUSDT"]).events
    mine = cols.take((cols.asset == 0) & (cols.kind != G))
    assert n == len(back) == len(mine)
    for col in ("ts_local", "kind", "side", "price", "qty"):
        assert np.array_equal(getattr(back, col), getattr(mine, col)), col
    assert np.array_equal(back.ts_exch, mine.ts_local)


def test_a_sideless_book_row_is_named():
    cols = events()
    bad = cols.side.copy()
    bad[6] = 0  # the DEPTH row of asset 0
    with pytest.raises(DataError, match=r"row 6.*'side'"):
        hftbacktest_events(cols.replace(side=bad), 0)


def test_hftbacktest_book_after_the_exported_rows():
    pytest.importorskip("hftbacktest")
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.types import event_dtype

    data = hftbacktest_events(events(), 0).astype(event_dtype)
    asset = (BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(0, 0).risk_adverse_queue_model()
             .partial_fill_exchange().tick_size(0.1).lot_size(0.001).last_trades_capacity(0))
    hbt = HashMapMarketDepthBacktest([asset])
    hbt.elapse(10_000_000_000)
    depth = hbt.depth(0)
    # the re-image alone: the stale levels (bids 100.0/99.9, asks 100.1/100.2) went with the clear
    assert (depth.best_bid_tick, depth.best_ask_tick) == (1010, 1012)
    assert depth.bid_qty_at_tick(1010) == 4.0 and depth.ask_qty_at_tick(1012) == 5.0
    assert [depth.ask_qty_at_tick(t) for t in (1001, 1002)] == [0.0, 0.0]
    assert [depth.bid_qty_at_tick(t) for t in (999, 1000)] == [0.0, 0.0]
    hbt.close()

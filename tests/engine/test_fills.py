"""Hand-worked order books: each fill model rule and order type, checked fill by fill.

Book: tick 0.5, bids 99.5 (2.0) / 99.0 (1.0), asks 100.5 (0.25) / 101.0 (0.5) / 101.5 (1.0).
Actions are (t, op, asset, side, price, qty, type, ref): op 0 submit, 1 cancel, 2 modify;
types 0 limit, 1 post-only, 2 IOC, 3 market. The script runs at the first message end at or after t.
"""
import numpy as np
import pytest

from arbkit.engine import FillModel, LatencyModel
from arbkit.engine.replayer import Replayer
from arbkit.run.replay import replay
from arbkit.engine import codes as c
from arbkit.core.errors import ConfigError, DataError
from arbkit.core.schema import Instrument
from helpers.events import make_events
from helpers.fill_books import IMAGE, INST, IOC, LIMIT, MARKET, POST, run
from helpers.script_strategy import script_strategy

def fills(res):
    return [(int(f["order_id"]), int(f["side"]), float(f["price"]), float(f["qty"]), int(f["maker"]), int(f["level"]))
            for f in res.fills]


def events_of(res, oid):
    return [c.ORDER_EVENT_NAMES[e["event"]] for e in res.orders if e["order_id"] == oid]


def test_taker_walks_levels_with_slippage():
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 0.0, 1.0, MARKET, 0)])
    assert fills(res) == [(1, 1, 100.5, 0.25, 0, 0), (1, 1, 101.0, 0.5, 0, 1), (1, 1, 101.5, 0.25, 0, 2)]
    f = res.fills
    assert f["slip_touch_bps"][0] == 0.0
    assert f["slip_touch_bps"][2] == pytest.approx((101.5 - 100.5) / 100.5 * 1e4)
    assert f["slip_mid_bps"][0] == pytest.approx((100.5 - 100.0) / 100.0 * 1e4)
    assert f["fee"][1] == pytest.approx(0.5 * 101.0 * 5e-4)
    assert res.positions()["sim:X"] == 1.0


def test_ioc_leftover_is_cancelled_and_limit_leftover_rests():
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 101.0, 2.0, IOC, 0), (100, 0, 0, 1, 100.5, 1.0, LIMIT, 0)])
    # IOC takes 100.5 x0.25 and 101.0 x0.5 then the rest (1.25) is cancelled; the limit finds 100.5 empty? no: the
    # recording still shows it (own takes are invisible by default), so it takes 0.25 there and rests 0.75.
    assert fills(res) == [(1, 1, 100.5, 0.25, 0, 0), (1, 1, 101.0, 0.5, 0, 1), (2, 1, 100.5, 0.25, 0, 0)]
    assert events_of(res, 1) == ["submit", "accept", "fill", "fill", "cancel"]
    log1 = [e for e in res.orders if e["order_id"] == 1 and e["event"] == c.EV_CANCEL][0]
    assert log1["leaves"] == 1.25
    assert events_of(res, 2) == ["submit", "accept", "fill", "cancel"]  # still resting at the end of the data
    cancels = res.orders[res.orders["event"] == c.EV_CANCEL]
    assert [c.REASON_NAMES[r] for r in cancels["reason"]] == ["ioc_leftover", "end_of_data"]
    assert res.counters["taker_fills"] == 3
    assert res.counters["exchange_cancels"] == 2 and res.counters["cancels_sent"] == 0


def test_taker_consumes_book_option():
    acts = [(100, 0, 0, 1, 100.5, 0.25, IOC, 0), (100, 0, 0, 1, 100.5, 0.25, IOC, 0)]
    plain = run([(200, 0, 4, 1, 99.5, 1.0, 1)], acts)
    assert len(plain.fills) == 2  # the level is whole again for the second order
    consumed = run([(200, 0, 4, 1, 99.5, 1.0, 1)], acts, fill={"taker_consumes_book": True})
    assert fills(consumed) == [(1, 1, 100.5, 0.25, 0, 0)]
    # once the feed updates the level, it counts again
    again = run([(300, 0, 2, -1, 100.5, 0.25, 1), (400, 0, 4, 1, 99.5, 1.0, 2)],
                acts[:1] + [(300, 0, 0, 1, 100.5, 0.25, IOC, 0)], fill={"taker_consumes_book": True})
    assert len(again.fills) == 2


def test_post_only_rejected_when_it_would_cross():
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 100.5, 1.0, POST, 0), (100, 0, 0, 1, 100.0, 1.0, POST, 0)])
    assert res.fills.size == 0
    rej = [e for e in res.orders if e["event"] == c.EV_REJECT]
    assert len(rej) == 1 and rej[0]["order_id"] == 1 and c.REASON_NAMES[rej[0]["reason"]] == "post_only_would_cross"
    assert events_of(res, 2) == ["submit", "accept", "cancel"]  # the end of the data cancels it


def test_queue_advances_on_trades_then_fills():
    # bid 1.0 @ 99.5 behind 2.0; sell trades of 1.5 then 1.0 at 99.5: the second fills 0.5
    rows = [(200, 0, 3, -1, 99.5, 1.5, 1), (300, 0, 3, -1, 99.5, 1.0, 2), (400, 0, 4, 1, 99.5, 1.0, 3)]
    res = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0)])
    assert fills(res) == [(1, 1, 99.5, 0.5, 1, 0)]
    assert res.fills["ts"][0] == 300
    assert res.fills["fee"][0] == pytest.approx(-0.5 * 99.5 * 1e-4)  # maker rebate


def test_risk_averse_shrink_only_below_queue():
    # level 2.0 -> 3.0 (others join behind) -> 1.0: queue min(2, 1) = 1; a 1.25 trade then fills 0.25
    rows = [(200, 0, 2, 1, 99.5, 3.0, 1), (300, 0, 2, 1, 99.5, 1.0, 2), (400, 0, 3, -1, 99.5, 1.25, 3),
            (500, 0, 4, 1, 99.5, 1.0, 4)]
    res = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0)])
    assert fills(res) == [(1, 1, 99.5, 0.25, 1, 0)]


def test_power_and_log_queue_models_by_hand():
    # queue 2.0 ahead, then 1.0 joins behind (level 3.0); 1.5 cancelled (level 1.5), no trades:
    # power 2: share ahead 4/(4+1) = 0.8 -> queue 2 - 1.2 = 0.8; a 1.5 trade reaches 0.7 -> 0.5 (whole 0.25 lots)
    # log:     share ahead ln3/(ln3+ln2) = 0.613 -> queue 2 - 1.5*0.613 = 1.08; the trade reaches 0.42 -> 0.25
    rows = [(200, 0, 2, 1, 99.5, 3.0, 1), (300, 0, 2, 1, 99.5, 1.5, 2), (400, 0, 3, -1, 99.5, 1.5, 3),
            (500, 0, 4, 1, 99.5, 1.0, 4)]
    acts = [(100, 0, 0, 1, 99.5, 1.0, POST, 0)]
    res = run(rows, acts, fill={"queue": "power", "queue_power": 2.0})
    assert len(res.fills) == 1 and res.fills["qty"][0] == 0.5
    share = np.log(3.0) / (np.log(3.0) + np.log(2.0))
    reach = 1.5 - (2.0 - 1.5 * share)
    assert 0.25 < reach < 0.5
    res = run(rows, acts, fill={"queue": "log"})
    assert len(res.fills) == 1 and res.fills["qty"][0] == 0.25
    # risk-averse: queue min(2, 1.5) = 1.5, the 1.5 trade only just reaches us
    assert run(rows, acts).fills.size == 0


def test_trades_at_level_do_not_count_twice_in_probabilistic_models():
    # a 1.0 trade eats the queue (2 -> 1), then depth shows 2.0 -> 1.0: that drop is the trade, not cancels
    rows = [(200, 0, 3, -1, 99.5, 1.0, 1), (200, 0, 2, 1, 99.5, 1.0, 2), (300, 0, 3, -1, 99.5, 1.0, 3),
            (400, 0, 4, 1, 99.5, 1.0, 4)]
    res = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0)], fill={"queue": "power"})
    assert res.fills.size == 0  # queue is exactly 0 after the second trade, nothing left to fill


def test_modify_loses_priority_on_price_change_or_size_increase():
    rows = [(200, 0, 3, -1, 99.5, 2.25, 2), (300, 0, 4, 1, 99.5, 1.0, 3)]
    keep = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0), (150, 2, 0, 1, 99.5, 0.5, 0, 0)],
               latency={"entry": 10, "response": 10})
    assert fills(keep) == [(1, 1, 99.5, 0.25, 1, 0)]  # size down keeps the place: 2.0 ahead, 0.25 through
    grow = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0), (150, 2, 0, 1, 99.5, 2.0, 0, 0)],
               latency={"entry": 10, "response": 10})
    assert grow.fills.size == 0 or grow.fills["qty"].sum() <= 0.25  # back of the queue: the level had 2.0 ahead
    rows2 = [(160, 0, 2, 1, 99.0, 3.0, 1), (200, 0, 3, -1, 99.0, 3.5, 2), (300, 0, 4, 1, 99.5, 1.0, 3)]
    moved = run(rows2, [(100, 0, 0, 1, 99.5, 1.0, POST, 0), (150, 2, 0, 1, 99.0, 1.0, 0, 0)],
                latency={"entry": 20, "response": 10})
    # the modify reaches the exchange at 170 when 99.0 shows 3.0: queue 3.0, a 3.5 trade fills 0.5
    assert fills(moved) == [(1, 1, 99.0, 0.5, 1, 0)]
    assert "modify" in events_of(moved, 1)


def test_trade_through_and_cross_fill():
    rows = [(200, 0, 3, -1, 99.0, 0.1, 1), (300, 0, 4, 1, 99.5, 1.0, 2)]
    bid = [(100, 0, 0, 1, 99.5, 1.0, POST, 0)]
    # all: a trade beyond our price fills everything we have left, whatever traded
    res = run(rows, bid, fill={"trade_through": "all"})
    assert fills(res) == [(1, 1, 99.5, 1.0, 1, 0)]
    assert res.counters["trade_through_fills"] == 1
    # volume (the default): at most what traded beyond our price, in whole lots: 0.1 is less than a 0.25 lot
    assert run(rows, bid).fills.size == 0
    assert run(rows, bid, fill={"trade_through": "none"}).fills.size == 0
    more = [(200, 0, 3, -1, 99.0, 0.6, 1), (300, 0, 4, 1, 99.5, 1.0, 2)]
    assert fills(run(more, bid)) == [(1, 1, 99.5, 0.5, 1, 0)]  # 0.6 traded beyond -> 0.5 (two lots)
    # the ask side comes down to our bid price (book message ends crossed against us) -> filled
    rows = [(200, 0, 2, -1, 99.5, 0.5, 1), (300, 0, 4, 1, 99.5, 1.0, 2)]
    res = run(rows, bid, allow_crossed=True)
    assert fills(res) == [(1, 1, 99.5, 1.0, 1, 0)] and res.counters["cross_fills"] == 1
    assert run(rows, bid, fill={"cross_fill": False}, allow_crossed=True).fills.size == 0


def test_trade_through_volume_is_shared_best_price_first_then_oldest():
    # our bids: #1 1.0 @ 99.0, #2 0.5 @ 99.5, #3 1.0 @ 99.5; one sell message sweeps 1.0 @ 98.5 then 0.75 @ 98.0
    acts = [(100, 0, 0, 1, 99.0, 1.0, POST, 0), (100, 0, 0, 1, 99.5, 0.5, POST, 0), (100, 0, 0, 1, 99.5, 1.0, POST, 0)]
    rows = [(200, 0, 3, -1, 98.5, 1.0, 1), (200, 0, 3, -1, 98.0, 0.75, 1), (300, 0, 4, 1, 99.5, 1.0, 2)]
    res = run(rows, acts)
    # row 1 (1.0): 99.5 first, oldest first: #2 gets 0.5, #3 the other 0.5; #1 nothing
    # row 2 (0.75): #3's last 0.5, then #1 the remaining 0.25
    assert fills(res) == [(2, 1, 99.5, 0.5, 1, 0), (3, 1, 99.5, 0.5, 1, 0), (3, 1, 99.5, 0.5, 1, 0),
                          (1, 1, 99.0, 0.25, 1, 0)]
    assert res.counters["trade_through_fills"] == 4
    # all: every order passed fills completely on the first row
    res = run(rows, acts, fill={"trade_through": "all"})
    assert fills(res) == [(1, 1, 99.0, 1.0, 1, 0), (2, 1, 99.5, 0.5, 1, 0), (3, 1, 99.5, 1.0, 1, 0)]


def test_trade_through_setting_is_checked():
    with pytest.raises(ConfigError, match="volume \\| all \\| none"):
        FillModel(trade_through=True)
    with pytest.raises(ConfigError, match="fill.trade_through must be one of"):
        FillModel.from_dict({"trade_through": "some"})
    assert FillModel().trade_through == "volume"


def test_sizes_off_the_lot_grid_are_rejected_and_fills_stay_on_it():
    # lot 0.25: 0.3 is not a whole number of lots; 0.75 is
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 101.0, 0.3, IOC, 0), (100, 0, 0, 1, 101.0, 0.75, IOC, 0)])
    assert res.counters["invalid_lot_rejects"] == 1 and res.counters["rejects"] == 1 and res.counters["orders"] == 1
    assert fills(res) == [(1, 1, 100.5, 0.25, 0, 0), (1, 1, 101.0, 0.5, 0, 1)]
    # a level showing less than a lot gives a taker nothing; the walk goes on to the next level
    thin = [(150, 0, 2, -1, 100.5, 0.2, 1), (200, 0, 4, 1, 99.5, 1.0, 2)]
    res = run(thin, [(150, 0, 0, 1, 101.0, 0.5, IOC, 0)])
    assert fills(res) == [(1, 1, 101.0, 0.5, 0, 1)]
    # a modify to an off-grid size is refused before sending (counted)
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 99.0, 0.5, POST, 0), (200, 2, 0, 1, 99.0, 0.6, 0, 0)])
    assert res.counters["modifies"] == 0 and res.counters["invalid_lot_rejects"] == 1


def test_round_lot_floors_to_the_grid():
    from arbkit.engine import api
    from arbkit.engine.state import as_struct
    rp = Replayer(INST, script_strategy([])[0], script_strategy([])[1])
    st = as_struct(rp.state)
    assert [api.round_lot(st, 0, q) for q in (0.3, 0.75, 0.2499999999, 0.1 + 0.2, 0.0)] == [0.25, 0.75, 0.25, 0.25, 0.0]
    assert api.lot_size(st, 0) == 0.25


def test_partial_fill_updates_position_and_cash_at_once():
    rows = [(200, 0, 3, -1, 99.5, 2.25, 1), (300, 0, 4, 1, 99.5, 1.0, 2)]
    strat, params = script_strategy([(100, 0, 0, 1, 99.5, 1.0, POST, 0)])
    rp = Replayer(INST, strat, params)
    ev = make_events(IMAGE + rows)
    rp.feed(ev.take(slice(0, len(IMAGE) + 1)))  # up to and including the trade, nothing after it
    acct = rp.state.acct[0]
    assert acct[c.A_POS] == 0.25 and acct[c.A_POS_U] == 1.0  # one lot
    assert acct[c.A_CASH] == pytest.approx(-0.25 * 99.5 - (-1e-4 * 0.25 * 99.5))
    assert rp.state.of[:, c.F_LEAVES].max() == 3.0  # the order is still resting for the rest: 3 lots (0.75)
    rp.feed(ev.take(slice(len(IMAGE) + 1, None)))
    res = rp.finish()
    assert res.positions()["sim:X"] == 0.25


def test_latency_delays_arrival_and_responses():
    rows = [(1_000, 0, 4, 1, 99.5, 1.0, 1), (1_400, 0, 2, -1, 100.5, 0.0, 2), (2_000, 0, 4, 1, 99.5, 1.0, 3),
            (9_000, 0, 4, 1, 99.5, 1.0, 4)]
    res = run(rows, [(100, 0, 0, 1, 101.0, 0.25, IOC, 0)], latency={"entry": 1_500, "response": 700})
    # sent at 100 (the image's message end), reaches the exchange at 1600 -> 100.5 is gone by then (1400)
    assert fills(res) == [(1, 1, 101.0, 0.25, 0, 0)]
    assert res.fills["ts"][0] == 1_600 and res.fills["ts_seen"][0] == 2_300
    # without latency it takes the touch
    assert fills(run(rows, [(100, 0, 0, 1, 101.0, 0.25, IOC, 0)])) == [(1, 1, 100.5, 0.25, 0, 0)]


def test_cancel_too_late_is_refused_and_counted():
    rows = [(200, 0, 3, -1, 99.0, 1.0, 1), (300, 0, 4, 1, 99.5, 1.0, 2), (900, 0, 4, 1, 99.5, 1.0, 3)]
    res = run(rows, [(100, 0, 0, 1, 99.5, 1.0, POST, 0), (150, 1, 0, 0, 0.0, 0.0, 0, 0)],
              latency={"entry": 50, "response": 10})
    # the order rests at 150; the cancel leaves at 200 (the trade-through's message end), reaches the exchange at
    # 250: already filled
    assert len(res.fills) == 1
    assert res.counters["request_rejects"] == 1
    assert "request_reject" in events_of(res, 1)


def test_gap_makes_the_book_unusable_until_a_new_image():
    rows = [(200, 0, 6, 0, 0.0, 0.0, 1), (300, 0, 4, 1, 99.5, 1.0, 2), (400, 0, 4, 1, 99.5, 1.0, 3)]
    res = run(rows, [(250, 0, 0, 1, 101.0, 0.25, IOC, 0)])
    assert res.fills.size == 0
    assert c.REASON_NAMES[[e for e in res.orders if e["event"] == c.EV_REJECT][0]["reason"]] == "book_unusable"
    assert res.counters["gaps"] == 1


def test_inverse_and_binary_accounting_and_price_checks():
    inv = [Instrument("sim", "INV", 0.5, 0.25, taker_fee_bps=5.0, contract_type="inverse_perp", contract_size=100.0)]
    res = run([(200, 0, 4, 1, 99.5, 1.0, 1)], [(100, 0, 0, 1, 100.5, 0.25, IOC, 0)], inst=inv)
    acct = res.accounts[0]
    coin = 0.25 * 100.0 / 100.5
    assert acct[c.A_CASH] == pytest.approx(coin - coin * 5e-4)
    assert acct[c.A_POS] == 0.25
    # marked at the last mid 100.0: equity in quote = (cash - pos*cs/mid) * mid
    assert res.pnl == pytest.approx((coin - coin * 5e-4 - 0.25 * 100.0 / 100.0) * 100.0)
    binary = [Instrument("pm", "UP", 0.01, 1.0, contract_type="binary_outcome")]
    img = [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, 0.45, 10.0, 0), (100, 0, 1, -1, 0.47, 10.0, 0)]
    strat, params = script_strategy([(100, 0, 0, 1, 1.0, 1.0, LIMIT, 0), (100, 0, 0, 1, 0.46, 2.0, LIMIT, 0),
                                     (100, 0, 0, 1, 0.453, 1.0, LIMIT, 0)])
    res = replay(make_events(img + [(200, 0, 3, -1, 0.45, 1.0, 1)]), strat, params, instruments=binary)
    assert res.counters["rejects"] == 2  # price 1.0 (outside (0, 1)) and 0.453 (off the 0.01 grid)
    assert res.counters["orders"] == 1


def test_fill_probability_is_seeded():
    rows = [(200 + 100 * i, 0, 3, -1, 99.0, 0.25, i + 1) for i in range(1)] + [(900, 0, 4, 1, 99.5, 1.0, 9)]
    acts = [(100, 0, 0, 1, 99.5, 0.25, POST, 0)]
    outcomes = {run(rows, acts, fill={"fill_probability": 0.5}, seed=s).fills.size for s in range(16)}
    assert outcomes == {0, 1}
    a = run(rows, acts, fill={"fill_probability": 0.5}, seed=7)
    b = run(rows, acts, fill={"fill_probability": 0.5}, seed=7)
    assert a.fills_hash == b.fills_hash and a.counters == b.counters


def test_bad_config_and_bad_events_are_named():
    strat, params = script_strategy([(100, 0, 0, 1, 99.5, 1.0, POST, 0)])
    with pytest.raises(ConfigError, match="fill.queue"):
        replay(make_events(IMAGE), strat, params, instruments=INST, fill={"queue": "fifo"})
    with pytest.raises(ConfigError, match="fill_probability"):
        FillModel(fill_probability=1.5)
    with pytest.raises(ConfigError, match="latency.entry"):
        LatencyModel(entry={"samples_ns": []})
    with pytest.raises(ConfigError, match="unknown key"):
        FillModel.from_dict({"queue_modle": "log"})
    with pytest.raises(ConfigError, match="unknown parameter"):
        strat.param_vector({"nope": 1.0})
    bad = IMAGE + [(50, 0, 2, 1, 99.5, 1.0, 1)]
    with pytest.raises(DataError, match="ts_local not sorted") as e:
        replay(make_events(bad), strat, params, instruments=INST)
    assert e.value.row == len(IMAGE) and e.value.field == "ts_local"
    with pytest.raises(DataError, match="price nan"):
        replay(make_events(IMAGE + [(200, 0, 2, 1, float("nan"), 1.0, 1)]), strat, params, instruments=INST)
    with pytest.raises(DataError, match="asset 3"):
        replay(make_events(IMAGE + [(200, 3, 2, 1, 99.5, 1.0, 1)]), strat, params, instruments=INST)


def test_latency_series_is_interpolated_in_time():
    from arbkit.engine.config import LatencySpec
    rows = [(1_000, 0, 4, 1, 99.5, 1.0, 1), (5_000, 0, 4, 1, 99.5, 1.0, 2), (9_000, 0, 4, 1, 99.5, 1.0, 3)]
    spec = {"series_ts": [0, 2_000], "series_ns": [1_000.0, 3_000.0]}
    # sent at 100 (the image's message end): latency 1000 + 2000 * 100/2000 = 1100 -> reaches the exchange at 1200
    res = run(rows, [(100, 0, 0, 1, 101.0, 0.25, IOC, 0)], latency={"entry": spec, "response": spec})
    assert res.fills["ts"][0] == 1_200
    assert res.fills["ts_seen"][0] == 1_200 + 2_200  # response at 1200: 1000 + 2000 * 1200/2000
    # the same series built from a recording's feed delay
    ev = make_events([(t, 0, 2, 1, 99.5, 1.0, i) for i, t in enumerate(range(0, 4_000_000, 100_000))])
    ev = ev.replace(ts_exch=ev.ts_local - np.where(ev.ts_local < 2_000_000, 300, 700))
    feed = LatencySpec.from_feed(ev, 0, bucket_ms=1.0)
    assert feed.series_ns == [300.0, 300.0, 700.0, 700.0]
    assert feed.series_ts == [500_000, 1_500_000, 2_500_000, 3_500_000]
    with pytest.raises(ConfigError, match="no rows with an exchange timestamp"):
        LatencySpec.from_feed(make_events([(1, 0, 2, 1, 99.5, 1.0, 1)]), 0)
    with pytest.raises(ConfigError, match="strictly increasing"):
        LatencyModel(entry={"series_ts": [5, 5], "series_ns": [1.0, 2.0]})


def test_equity_is_sampled_on_the_interval_and_marks_to_mid():
    rows = [(1_000_000 * k, 0, 2, -1, 100.5, 0.25 + k, k) for k in range(1, 6)]
    res = run(rows, [(100, 0, 0, 1, 100.5, 0.25, IOC, 0)], equity_interval_ms=1.0)
    eq = res.equity_frame()
    assert eq["ts"].to_list() == [100, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000]
    # bought 0.25 at 100.5 with a 5 bps taker fee; the mid stays 100.0
    fee = 0.25 * 100.5 * 5e-4
    assert eq["equity"][-1] == pytest.approx(0.25 * (100.0 - 100.5) - fee)
    assert eq["position:sim:X"][-1] == 0.25

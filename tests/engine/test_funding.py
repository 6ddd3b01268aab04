"""Perpetual funding and mark prices in the engine, worked by hand and against the reference engine.

Long 1 BTC of a linear perpetual over a +0.01 % funding at mark 60,000 pays 6 USDT; the
short receives it. Inverse (Binance COIN-M / Bybit inverse): 100 contracts of 100 USD at
mark 60,000 and +0.01 % pay 100 · 100 / 60,000 · 0.0001 BTC. The payment happens at the
funding time itself, between events, at the last rate and mark known before it.
"""
import numpy as np
import pytest

from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument, Kind
from arbkit.engine import codes as c
from arbkit.run.replay import replay, replay_batch
from helpers.events import make_events
from helpers.reference_engine import reference_run
from helpers.script_strategy import script_strategy

S = 1_000_000_000
T = 100 * S  # the funding time
FUNDING, MARK = int(Kind.FUNDING), int(Kind.MARK)
LAT = {"entry": 0, "response": 0}
FILL = {"queue": "risk_averse", "queue_power": 1.0, "fill_probability": 1.0, "trade_through": "volume",
        "cross_fill": True, "taker_consumes_book": False, "max_taker_levels": 0}
LINEAR = Instrument("v", "BTCUSDT", 1.0, 0.001, contract_type="linear_perp")
INVERSE = Instrument("v", "BTCUSD_PERP", 0.5, 1.0, contract_type="inverse_perp", contract_size=100.0)


def book(t, bid, ask, qty=500.0, seq=0):
    return [(t, 0, 5, 0, 0.0, 0.0, seq), (t, 0, 1, 1, bid, qty, seq), (t, 0, 1, -1, ask, qty, seq)]


def rows_around_funding(mark=True, bid=59999.0, ask=60001.0):
    rows = book(1 * S, bid, ask)
    if mark:
        rows.append((2 * S, 0, MARK, 0, 60000.0, 59990.0, -1))
    rows += [(3 * S, 0, FUNDING, 0, 0.0001, 0.0, T), (200 * S, 0, 2, 1, bid, 6.0, 1)]
    return rows


def taker(side, qty, price):
    return script_strategy([(1 * S, 0, 0, side, price, qty, 3, 0)])


def run(rows, inst, side, qty, price, **kw):
    strat, params = taker(side, qty, price)
    return replay(make_events(rows), strat, params, instruments=[inst], latency=LAT, fill=FILL, **kw)


def ledger(res):
    return [(int(r["ts"]), int(r["asset"]), float(r["position"]), float(r["mark"]), int(r["mark_source"]),
             float(r["rate"]), float(r["amount"])) for r in res.funding]


def ref_of(rows, inst, side, qty, price, mark="mid"):
    return reference_run(rows, [inst], [(1 * S, 0, 0, side, price, qty, 3, 0)], FILL, ("const", 0, 0), 0, mark=mark)


def test_linear_long_pays_six_usdt_and_the_short_receives_them():
    rows = rows_around_funding()
    long_ = run(rows, LINEAR, 1, 1.0, 60001.0)
    short = run(rows, LINEAR, -1, 1.0, 59999.0)
    assert ledger(long_) == [(T, 0, 1.0, 60000.0, 1, 0.0001, -6.0)]
    assert ledger(short) == [(T, 0, -1.0, 60000.0, 1, 0.0001, 6.0)]
    assert long_.accounts[0, c.A_CASH] == -60001.0 - 6.0 and long_.accounts[0, c.A_FUNDING] == -6.0
    assert short.accounts[0, c.A_CASH] == 59999.0 + 6.0 and short.accounts[0, c.A_FUNDING] == 6.0
    table = long_.account_table()
    assert table["funding"].to_list() == [-6.0] and table["cash"].to_list() == [-60007.0]
    for res, side, px in ((long_, 1, 60001.0), (short, -1, 59999.0)):
        ref = ref_of(rows, LINEAR, side, 1.0, px)
        assert ref.ledger == ledger(res) and ref.cash[0] == res.accounts[0, c.A_CASH]


def test_inverse_pays_the_coin_amount_of_the_position_value():
    rows = rows_around_funding(bid=59999.5, ask=60000.5)
    res = run(rows, INVERSE, 1, 100.0, 60000.5)
    want = -100 * 100.0 / 60000.0 * 0.0001
    assert want == pytest.approx(-1.0 / 6000.0 / 10.0 * 1.0, rel=1e-12)  # 0.0000166667 BTC
    assert ledger(res) == [(T, 0, 100.0, 60000.0, 1, 0.0001, want)]
    assert res.accounts[0, c.A_FUNDING] == want
    assert res.accounts[0, c.A_CASH] == pytest.approx(100 * 100.0 / 60000.5 + want, rel=1e-15)
    ref = ref_of(rows, INVERSE, 1, 100.0, 60000.5)
    assert ref.ledger == ledger(res) and ref.cash[0] == res.accounts[0, c.A_CASH]
    short = run(rows, INVERSE, -1, 100.0, 59999.5)
    assert ledger(short)[0][-1] == -want


def test_without_a_mark_row_the_mid_is_used_and_said():
    rows = rows_around_funding(mark=False)
    res = run(rows, LINEAR, 1, 1.0, 60001.0)
    assert ledger(res) == [(T, 0, 1.0, 60000.0, 0, 0.0001, -6.0)]  # mark_source 0: the mid (59999 + 60001) / 2


def test_paid_at_the_funding_time_between_events_not_at_the_next_event():
    """Equity sampled each second: the sample at T already holds the payment; nothing happens at the next row."""
    rows = rows_around_funding()
    res = run(rows, LINEAR, 1, 1.0, 60001.0, equity_interval_ms=1000.0)
    eq = dict(zip(res.equity_ts.tolist(), res.equity_values[:, 0].tolist()))
    assert eq[T - S] == -1.0 and eq[T] == -7.0  # mid 60000: -60001 + 60000, then 6 USDT paid at T


def test_the_last_rate_and_mark_before_the_funding_time_count():
    rows = book(1 * S, 59999.0, 60001.0)
    rows += [(2 * S, 0, MARK, 0, 61000.0, 0.0, -1), (3 * S, 0, FUNDING, 0, 0.0003, 0.0, T),
             (4 * S, 0, FUNDING, 0, 0.0002, 0.0, T),  # revised
             (5 * S, 0, FUNDING, 0, 0.0009, 0.0, 2 * T),  # the period after: paid at 2T
             (50 * S, 0, MARK, 0, 62000.0, 0.0, -1),
             (T, 0, MARK, 0, 99999.0, 0.0, -1), (T, 0, FUNDING, 0, 0.5, 0.0, T),  # at T: too late for T
             (T + 5 * S, 0, MARK, 0, 88888.0, 0.0, -1),  # after T, before it is paid (no book row since)
             (150 * S, 0, 2, 1, 59999.0, 6.0, 1), (250 * S, 0, 2, 1, 59999.0, 7.0, 2)]
    res = run(rows, LINEAR, 1, 1.0, 60001.0)
    assert ledger(res) == [(T, 0, 1.0, 62000.0, 1, 0.0002, -1.0 * 62000.0 * 0.0002),
                           (2 * T, 0, 1.0, 88888.0, 1, 0.0009, -1.0 * 88888.0 * 0.0009)]
    ref = ref_of(rows, LINEAR, 1, 1.0, 60001.0)
    assert ref.ledger == ledger(res) and ref.cash[0] == res.accounts[0, c.A_CASH]


def test_funding_rows_move_no_clock():
    """A funding time after the last book row is paid only when the clock runs on past it (paper trading's clock);
    MARK / FUNDING rows after the last book row do not move it."""
    rows = book(1 * S, 59999.0, 60001.0) + [(3 * S, 0, FUNDING, 0, 0.0001, 0.0, T), (T + S, 0, MARK, 0, 1.0, 0.0, -1)]
    assert len(run(rows, LINEAR, 1, 1.0, 60001.0).funding) == 0
    res = run(rows, LINEAR, 1, 1.0, 60001.0, clock_end=T + 2 * S)
    assert ledger(res) == [(T, 0, 1.0, 60000.0, 0, 0.0001, -6.0)]  # no MARK before T: the mid


def test_flat_pays_nothing_and_funding_rows_open_no_message():
    rows = rows_around_funding()
    strat, params = script_strategy([])
    res = replay(make_events(rows), strat, params, instruments=[LINEAR], latency=LAT)
    plain = replay(make_events([r for r in rows if r[2] not in (FUNDING, MARK)]), strat, params, instruments=[LINEAR],
                   latency=LAT)
    assert len(res.funding) == 0 and res.accounts[0, c.A_FUNDING] == 0.0
    assert res.counters == plain.counters  # no event, message or strategy call of their own


def test_mark_price_mode_marks_equity_at_the_last_mark():
    rows = rows_around_funding()
    mid = run(rows, LINEAR, 1, 1.0, 60001.0)
    mk = run(rows[:4] + [(2 * S + 1, 0, MARK, 0, 60100.0, 0.0, -1)] + rows[4:], LINEAR, 1, 1.0, 60001.0, mark="mark_price")
    assert mid.account_table()["unrealised"].to_list() == [60000.0 - 60001.0]
    assert mk.account_table()["unrealised"].to_list() == [60100.0 - 60001.0]
    assert mk.pnl == pytest.approx(-60001.0 - 6.01 + 60100.0, abs=1e-9)  # funding at the mark 60,100 too
    assert mk.config["mark"] == "mark_price"
    with pytest.raises(ConfigError, match="mark must be one of mid, mark_price"):
        run(rows, LINEAR, 1, 1.0, 60001.0, mark="last")


def test_batched_equals_single_with_funding():
    rows = book(1 * S, 59999.0, 60001.0)
    rows += [(2 * S, 0, MARK, 0, 60000.0, 0.0, -1), (3 * S, 0, FUNDING, 0, 0.0001, 0.0, T),
             (T - 1, 0, MARK, 0, 60010.0, 0.0, -1), (3 * S, 0, FUNDING, 0, -0.0002, 0.0, 2 * T)]
    rows.sort(key=lambda r: r[0])
    rows += [(T + 5, 0, 2, 1, 59999.0, 6.0, 1), (2 * T + 5, 0, 2, -1, 60001.0, 6.0, 2)]
    scripts = [[(1 * S, 0, 0, 1, 60001.0, 1.0, 3, 0)], [(1 * S, 0, 0, -1, 59999.0, 2.0, 3, 0)],
               [(1 * S, 0, 0, 1, 60001.0, 3.0, 3, 0), (T + 1, 0, 0, -1, 59999.0, 3.0, 3, 0)], []]
    n_max = 2
    strat, _ = script_strategy(scripts[2], n_max=n_max)
    sets = [script_strategy(s, n_max=n_max)[1] for s in scripts]
    for mark in ("mid", "mark_price"):
        batch = replay_batch(make_events(rows), strat, sets, instruments=[LINEAR], latency=LAT, fill=FILL,
                             chunk_rows=3, mark=mark)
        singles = [replay(make_events(rows), strat, p, instruments=[LINEAR], latency=LAT, fill=FILL, mark=mark)
                   for p in sets]
        for b, s in zip(batch, singles):
            assert ledger(b) == ledger(s) and np.array_equal(b.accounts, s.accounts, equal_nan=True)
            assert np.array_equal(b.equity_values, s.equity_values, equal_nan=True)
            assert np.array_equal(b.max_drawdowns, s.max_drawdowns)
        assert [len(b.funding) for b in batch] == [2, 2, 1, 0]
        assert ledger(batch[1])[1] == (2 * T, 0, -2.0, 60010.0, 1, -0.0002, 2.0 * 60010.0 * -0.0002)

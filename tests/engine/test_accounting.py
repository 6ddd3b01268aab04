"""Accounting invariants under random fills (hypothesis): cash, realised, unrealised and fees tie out."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb, book_fill_nb, unrealised_nb

fills = hs.lists(hs.tuples(hs.sampled_from([1, -1]), hs.floats(50.0, 150.0), hs.floats(0.01, 5.0),
                           hs.floats(-2.0, 10.0)), min_size=1, max_size=40)


def _inst(inverse, cs):
    inst = np.zeros((1, c.NI))
    inst[0, c.I_INVERSE] = 1.0 if inverse else 0.0
    inst[0, c.I_CSIZE] = cs
    inst[0, c.I_UNIT] = 1.0  # no lot: quantities are plain floats
    return inst


@settings(max_examples=300, deadline=None)
@given(fills=fills, inverse=hs.booleans(), cs=hs.sampled_from([1.0, 10.0, 100.0]), mark=hs.floats(50.0, 150.0))
def test_equity_equals_realised_minus_fees_plus_unrealised(fills, inverse, cs, mark):
    inst = _inst(inverse, cs)
    acct = np.zeros((1, c.NA))
    pos = 0.0
    for side, price, qty, bps in fills:
        notional = qty * cs / price if inverse else qty * price * cs
        book_fill_nb(acct, inst, 0, side, price, qty, notional * bps * 1e-4)
        pos += side * qty
    acct[0, c.A_MID] = mark
    assert acct[0, c.A_POS] == pytest.approx(pos, abs=1e-9)
    realised, fees = acct[0, c.A_REAL], acct[0, c.A_FEES]
    upnl = unrealised_nb(acct, inst, 0)
    if inverse:
        # settlement in coin: cash - pos*cs/mark == realised - fees + unrealised (all coin)
        lhs = acct[0, c.A_CASH] - acct[0, c.A_POS] * cs / mark
        assert lhs == pytest.approx(realised - fees + upnl, rel=1e-9, abs=1e-9)
        assert asset_equity_nb(acct, inst, 0) == pytest.approx(lhs * mark, rel=1e-9, abs=1e-7)
    else:
        lhs = asset_equity_nb(acct, inst, 0)
        assert lhs == pytest.approx(realised - fees + upnl, rel=1e-9, abs=1e-7)


def test_round_trip_by_hand_linear_and_inverse():
    inst = _inst(False, 1.0)
    acct = np.zeros((1, c.NA))
    book_fill_nb(acct, inst, 0, 1, 100.0, 2.0, 0.1)
    book_fill_nb(acct, inst, 0, 1, 110.0, 2.0, 0.1)  # avg 105
    assert acct[0, c.A_AVG] == 105.0
    book_fill_nb(acct, inst, 0, -1, 120.0, 3.0, 0.1)  # close 3 at +15
    assert acct[0, c.A_REAL] == pytest.approx(45.0) and acct[0, c.A_POS] == 1.0 and acct[0, c.A_AVG] == 105.0
    book_fill_nb(acct, inst, 0, -1, 90.0, 3.0, 0.1)  # close 1 at -15, open short 2 at 90
    assert acct[0, c.A_REAL] == pytest.approx(30.0) and acct[0, c.A_POS] == -2.0 and acct[0, c.A_AVG] == 90.0
    assert acct[0, c.A_FEES] == pytest.approx(0.4)
    inv = _inst(True, 100.0)
    acct = np.zeros((1, c.NA))
    book_fill_nb(acct, inv, 0, 1, 50_000.0, 10.0, 0.0)  # long 1000 USD at 50k
    book_fill_nb(acct, inv, 0, -1, 55_000.0, 10.0, 0.0)
    assert acct[0, c.A_REAL] == pytest.approx(1000.0 * (1 / 50_000 - 1 / 55_000))  # coin
    assert acct[0, c.A_POS] == 0.0 and acct[0, c.A_AVG] == 0.0


@settings(max_examples=300, deadline=None)
@given(lot=hs.sampled_from([1e-6, 0.001, 0.01, 0.1, 0.25, 1.0]),
       lots=hs.lists(hs.tuples(hs.sampled_from([1, -1]), hs.integers(1, 5000)), min_size=1, max_size=60))
def test_positions_stay_on_the_lot_grid_exactly(lot, lots):
    """Fills counted in whole lots: the position is exactly (signed lots) x lot, where a float sum drifts off."""
    inst = _inst(False, 1.0)
    inst[0, c.I_LOT] = lot
    inst[0, c.I_UNIT] = lot
    acct = np.zeros((1, c.NA))
    units = 0
    for side, k in lots:
        book_fill_nb(acct, inst, 0, side, 100.0, float(k), 0.0)
        units += side * k
        assert acct[0, c.A_POS_U] == units
        assert acct[0, c.A_POS] == units * lot
        assert acct[0, c.A_POS] / lot == pytest.approx(round(acct[0, c.A_POS] / lot), abs=1e-9)
        if units == 0:
            assert acct[0, c.A_POS] == 0.0 and acct[0, c.A_AVG] == 0.0  # flat means exactly flat


def test_a_float_sum_of_lots_drifts_where_lot_counting_does_not():
    inst = _inst(False, 1.0)
    inst[0, c.I_LOT] = inst[0, c.I_UNIT] = 0.1
    acct = np.zeros((1, c.NA))
    for side, k in [(1, 1), (1, 2), (-1, 3)]:  # +0.1 +0.2 -0.3
        book_fill_nb(acct, inst, 0, side, 100.0, float(k), 0.0)
    assert 0.1 + 0.2 - 0.3 != 0.0 and acct[0, c.A_POS] == 0.0

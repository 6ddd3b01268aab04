"""The driver's one-pass input checks against the plain numpy rules they replace."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

from arbkit.engine import row_checks as rc

PRICED = (1, 2, 3, 4)  # SNAPSHOT, DEPTH, TRADE, BBO


def numpy_rules(ts, asset, kind, price, qty, n_assets):
    """The first offending row of each rule, written with numpy over whole columns (the oracle)."""
    def first(mask):
        idx = np.flatnonzero(mask)
        return int(idx[0]) if len(idx) else -1

    priced = np.isin(kind, PRICED)
    out = [-1] * rc.N_SLOTS
    out[rc.BAD_ORDER] = first(ts[1:] < ts[:-1]) + 1 if first(ts[1:] < ts[:-1]) >= 0 else -1
    out[rc.BAD_ASSET] = first((asset < 0) | (asset >= n_assets))
    out[rc.BAD_KIND] = first(~np.isin(kind, np.arange(1, 9)))
    out[rc.BAD_PRICE_VALUE] = first(priced & ~(np.isfinite(price) & (price >= 0)))
    out[rc.BAD_QTY_VALUE] = first(priced & ~(np.isfinite(qty) & (qty >= 0)))
    out[rc.BAD_PRICE_SIGN] = first(priced & (price <= 0) & (kind != 4))
    out[rc.N_FUNDING] = int(np.isin(kind, (7, 8)).sum())
    return out


values = hs.sampled_from([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 100.0])


@settings(max_examples=300, deadline=None)
@given(rows=hs.lists(hs.tuples(hs.integers(0, 3), hs.integers(-1, 3), hs.integers(0, 10), values, values),
                     min_size=1, max_size=40))
def test_first_bad_rows_match_numpy(rows):
    ts = np.cumsum([r[0] - 1 for r in rows]).astype(np.int64)  # steps of -1..2: sometimes out of order
    asset = np.array([r[1] for r in rows], np.int32)
    kind = np.array([r[2] for r in rows], np.uint8)
    price = np.array([r[3] for r in rows], np.float64)
    qty = np.array([r[4] for r in rows], np.float64)
    known, funding = rc.kind_tables()
    out = np.empty(rc.N_SLOTS, np.int64)
    rc.first_bad_rows_nb(ts, asset, kind, price, qty, 3, known, funding, out)
    assert out.tolist() == numpy_rules(ts, asset, kind, price, qty, 3)


def test_clean_chunk_has_no_bad_rows():
    ts = np.arange(5, dtype=np.int64)
    known, funding = rc.kind_tables()
    out = np.empty(rc.N_SLOTS, np.int64)
    rc.first_bad_rows_nb(ts, np.zeros(5, np.int32), np.array([1, 2, 3, 4, 7], np.uint8), np.full(5, 10.0), np.ones(5),
                         1, known, funding, out)
    assert out[:rc.N_FUNDING].tolist() == [-1] * rc.N_FUNDING and out[rc.N_FUNDING] == 1


good_values = hs.sampled_from([0.0, 1.5, 100.0])


@settings(max_examples=300, deadline=None)
@given(rows=hs.lists(hs.tuples(hs.integers(1, 3), hs.integers(0, 2), hs.integers(1, 8), good_values, good_values),
                     min_size=0, max_size=40),
       bad=hs.one_of(hs.none(), hs.tuples(hs.integers(0, 39), hs.sampled_from(["ts", "asset", "kind", "price", "qty"]),
                                           values)))
def test_all_good_pass_agrees_with_numpy(rows, bad):
    """The branch-free pass says -1 exactly when some rule has a first bad row, else the FUNDING / MARK count."""
    ts = np.cumsum([r[0] - 1 for r in rows]).astype(np.int64)
    asset = np.array([r[1] for r in rows], np.int32)
    kind = np.array([r[2] for r in rows], np.uint8)
    price = np.array([r[3] for r in rows], np.float64)
    qty = np.array([r[4] for r in rows], np.float64)
    if bad is not None and rows:
        i, field, v = bad[0] % len(rows), bad[1], bad[2]
        if field == "ts":
            ts[i] -= 2
        elif field == "asset":
            asset[i] = 3 if v == v and v > 0 else -1
        elif field == "kind":
            kind[i] = 0 if v == v and v > 0 else 9
        elif field == "price":
            price[i] = v
        else:
            qty[i] = v
    known, funding = rc.kind_tables()
    oracle = numpy_rules(ts, asset, kind, price, qty, 3)
    fast = rc.funding_rows_if_all_good_nb(ts, asset, kind, price, qty, 3, known, funding)
    if any(x >= 0 for x in oracle[:rc.N_FUNDING]):
        assert fast == -1
    else:
        assert fast == oracle[rc.N_FUNDING]
    out = np.empty(rc.N_SLOTS, np.int64)
    rc.first_bad_rows_nb(ts, asset, kind, price, qty, 3, known, funding, out)
    assert out.tolist() == oracle

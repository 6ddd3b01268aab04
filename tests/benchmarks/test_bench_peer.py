"""The peer benchmark's comparison logic (always) and its two engine drivers (when hftbacktest is installed).

The classifier is checked on hand-built fills and requests. With hftbacktest, both
engines run the touch_mm rule on hand-built books: where the rules agree the fills are
identical; where they differ (power-queue cancellations, a price modify after a partial
fill) each engine's fills are the ones its documented rule gives, worked out here by hand.
"""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from arbkit.core.columns import EventColumns
from arbkit.convert.hftbacktest import hftbacktest_events
from arbkit.core.schema import Instrument, Kind

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peer_match as pm  # noqa: E402
import peer_runs as pr  # noqa: E402  (no hftbacktest import until a run)

LOT = 0.001
T0 = 1_723_161_300_000_000_000  # a multiple of the 100 ms call interval
MS = 1_000_000


def reqs(*rows):
    out = np.zeros(len(rows), pm.REQUEST_DTYPE)
    for i, r in enumerate(rows):
        out[i] = tuple(r) + (0,) * (7 - len(r))
    return out


def fills(*rows):
    return np.array([tuple(r) for r in rows], dtype=pm.FILL_DTYPE)


def compare(a_req, h_req, a_f, h_f, trades=()):
    tr = np.array(trades, dtype=np.int64).reshape(-1, 3)
    return pm.compare(a_req, h_req, a_f, h_f, lot=LOT, entry_latency_ns=MS, event_ts=np.array([T0 + 7], np.int64),
                      trade_ts=tr[:, 0], trade_side=tr[:, 1], trade_tick=tr[:, 2])


def test_identical_runs_match_exactly():
    r = reqs((T0, pm.NEW, 1, 1, 1000, 0.01), (T0, pm.NEW, 2, -1, 1001, 0.01))
    f = fills((T0 + 10 * MS, 1, 1, 1000, 0.003), (T0 + 11 * MS, 1, 1, 1000, 0.007), (T0 + 20 * MS, 2, -1, 1001, 0.01))
    out = compare(r, r.copy(), f, f.copy())
    assert out["fills"] == {"arbkit": 3, "hftbacktest": 3, "matched": 3, "only_arbkit": 0, "only_hftbacktest": 0}
    assert out["unmatched"] == [] and out["requests"]["identical"]


def test_matching_is_one_to_one_and_to_a_millionth_of_a_lot():
    a = fills((T0, 1, 1, 1000, 0.002), (T0, 1, 1, 1000, 0.002), (T0, 1, 1, 1000, 0.0020000000000000018))
    h = fills((T0, 1, 1, 1000, 0.002), (T0, 1, 1, 1000, 0.002))
    pair = pm.match_fills(a, h, LOT)
    assert sorted(pair.tolist()) == [-1, 0, 1]


def test_every_unmatched_fill_gets_its_reason():
    t = [T0 + k * 10 * MS for k in range(12)]
    a_req = reqs((t[0], pm.NEW, 1, 1, 1000, 0.01), (t[2], pm.MODIFY, 1, 1, 1001, 0.013),
                 (t[0], pm.NEW, 2, -1, 1002, 0.01), (t[0], pm.NEW, 3, -1, 1003, 0.01))
    h_req = reqs(*a_req, (t[4], pm.NEW, 4, 1, 995, 0.01))
    a_f = fills((t[1], 1, 1, 1000, 0.003), (t[3], 1, 1, 1001, 0.01),  # the modify re-opened the order to 0.01
                (t[1], 2, -1, 1002, 1e-17),  # dust
                (t[5], 2, -1, 1002, 0.00982),  # the same fill, a fraction of a lot apart
                (t[6], 3, -1, 1003, 0.01))  # a trade at the price reached us here...
    h_f = fills((t[1], 1, 1, 1000, 0.003), (t[3], 1, 1, 1001, 0.007),  # ...hftbacktest kept the 0.007 left
                (t[5], 2, -1, 1002, 0.01), (t[7], 3, -1, 1003, 0.01),  # ...and only at a later trade there
                (t[8], 4, 1, 995, 0.01))  # an order arbkit never sent
    out = compare(a_req, h_req, a_f, h_f, trades=[(t[6], 1, 1003), (t[7], 1, 1003), (t[3], -1, 999)])
    got = {(r["engine"], r["ts"], r["order_id"]): (r["reason"], r["inherited"]) for r in out["unmatched"]}
    assert got == {
        ("arbkit", t[1], 2): ("dust", False),
        ("arbkit", t[3], 1): ("leaves_after_modify", False), ("hftbacktest", t[3], 1): ("leaves_after_modify", False),
        ("arbkit", t[5], 2): ("off_lot", False), ("hftbacktest", t[5], 2): ("off_lot", False),
        ("arbkit", t[6], 3): ("queue_rule", False), ("hftbacktest", t[7], 3): ("queue_rule", True),
        ("hftbacktest", t[8], 4): ("streams_diverged", False),
    }
    assert out["fills"]["matched"] == 1
    assert out["only_by_reason"]["arbkit"] == {"dust": 1, "leaves_after_modify": 1, "off_lot": 1, "queue_rule": 1}
    s = out["requests"]
    assert not s["identical"] and s["identical_prefix"] == 4 and s["first_difference"]["hftbacktest"]["order_id"] == 4


# -- both engines on hand-built books (needs hftbacktest) ------------------------------------------

INST = Instrument("test-venue", "BTCUSDT", tick_size=0.1, lot_size=LOT, maker_fee_bps=2.0, taker_fee_bps=5.0,
                  contract_type="linear_perp")
PARAMS = {"asset": 0, "half_spread_bps": 0.0, "order_size": 0.01, "max_position": 0.0495}
C, S, D, TR = Kind.CLEAR, Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE
OPEN = [(0, C, 0, 0.0, 0.0), (0, S, 1, 100.0, None), (0, S, 1, 99.9, 1.0), (0, S, -1, 100.1, None),
        (0, S, -1, 100.2, 1.0)]


def book(rows, bid_qty, ask_qty):
    rows = [(ms, k, sd, p, (bid_qty if sd > 0 else ask_qty) if q is None else q) for ms, k, sd, p, q in OPEN] + rows
    ts = np.array([T0 + ms * MS for ms, *_ in rows], np.int64)
    return EventColumns.from_arrays(ts_exch=ts, ts_local=ts, asset=np.zeros(len(rows), np.int32),
                                    kind=np.array([r[1] for r in rows], np.uint8),
                                    side=np.array([r[2] for r in rows], np.int8),
                                    price=np.array([r[3] for r in rows]), qty=np.array([r[4] for r in rows]),
                                    seq=np.full(len(rows), -1))


def both(cols, queue):
    pytest.importorskip("hftbacktest")
    a = pr.run_arbkit(cols, INST, PARAMS, pr.arbkit_fill_model(queue, 2.0), MS, 100.0, log_capacity=1000)
    h = pr.run_hftbacktest(hftbacktest_events(cols, 0), INST, a["calls"], PARAMS, queue, 2.0, MS, step=True,
                           nudge=1e-12)
    assert h["status"] == 0 and h["calls"] == len(a["calls"])
    f = a["result"].fills
    af = [(int(x["ts"] - T0) // MS, int(x["side"]), round(float(x["price"]), 1), round(float(x["qty"]), 12)) for x in f]
    hf = [(int(x["ts"] - T0) // MS, int(x["side"]), round(x["tick"] * 0.1, 1), round(float(x["qty"]), 12))
          for x in h["fills"]]
    return a, h, af, hf


def test_where_the_rules_agree_the_fills_are_identical():
    cols = book([(10, TR, -1, 100.0, 0.008),  # eats the 0.005 ahead of our bid, then 0.003 of it
                 (11, TR, -1, 100.0, 0.002),
                 (20, TR, 1, 100.2, 0.5),  # trades through our ask
                 (30, D, -1, 100.0, 0.3),  # the ask comes down onto our bid: crossed
                 (100, D, -1, 100.0, 0.0), (100, D, 1, 100.0, 0.2),  # second call: quote again
                 (150, TR, -1, 99.9, 0.1),  # through our new bid
                 (160, D, 1, 99.9, 0.5)], bid_qty=0.005, ask_qty=0.004)
    a, h, af, hf = both(cols, "risk_averse")
    want = [(10, 1, 100.0, 0.003), (11, 1, 100.0, 0.002), (20, -1, 100.1, 0.01), (30, 1, 100.0, 0.005),
            (150, 1, 100.0, 0.01)]
    assert af == want and hf == want
    assert np.array_equal(a["requests"][["ts", "kind", "side", "tick", "qty"]], h["requests"][["ts", "kind", "side", "tick", "qty"]])
    assert len(h["requests"]) == 4


def test_power_queue_counts_traded_volume_behind_you_in_hftbacktest_only():
    cols = book([(5, D, 1, 100.0, 2.0),  # 1.0 joins behind our bid (1.0 ahead)
                 (10, TR, -1, 100.0, 0.4),  # 0.4 traded ahead of us: 0.6 ahead
                 (20, D, 1, 100.0, 1.0),  # the level falls 1.0: 0.4 traded, 0.6 cancelled
                 (30, TR, -1, 100.0, 0.45), (40, TR, -1, 100.0, 0.06), (50, D, 1, 99.9, 1.1)],
                bid_qty=1.0, ask_qty=1.0)
    _, _, af, hf = both(cols, "power")
    ahead, cancelled, traded, level = 0.6, 0.6, 0.4, 2.0
    f = lambda x: x * x  # noqa: E731
    # arbkit: behind = level - traded - ahead; share of the cancellation ahead of us f(a)/(f(a)+f(b))
    behind = level - traded - ahead
    a_ahead = ahead - cancelled * f(ahead) / (f(ahead) + f(behind))
    a1 = 0.45 - a_ahead
    # hftbacktest: behind = previous level - ahead (the traded 0.4 still in it), plus its overflow term
    back = level - ahead
    p = f(back) / (f(back) + f(ahead))
    h_ahead = ahead - (1 - p) * cancelled + min(back - p * cancelled, 0.0) - 0.45  # > 0: no fill at 30 ms
    assert h_ahead > 0.0 and a1 > 0.0
    h1 = round((0.06 - h_ahead) / LOT) * LOT  # whole lots
    a1 = math.floor(a1 / LOT + 1e-9) * LOT  # arbkit floors queue fills to whole lots as well
    assert af == [(30, 1, 100.0, round(a1, 12)), (40, 1, 100.0, round(0.01 - a1, 12))]
    assert hf == [(40, 1, 100.0, round(h1, 12))]


def test_a_price_modify_after_a_partial_fill_reopens_the_order_in_arbkit_only():
    cols = book([(10, TR, -1, 100.0, 0.008),  # our bid fills 0.003 of 0.01
                 (100, D, -1, 100.1, 0.0),  # the ask level goes: mid 100.1, the bid is modified up to it
                 (150, TR, -1, 100.0, 0.2),  # trades through the bid, now at 100.1
                 (160, D, 1, 100.0, 0.1)], bid_qty=0.005, ask_qty=0.004)
    a, h, af, hf = both(cols, "risk_averse")
    mods = h["requests"][h["requests"]["kind"] == pm.MODIFY]
    assert len(mods) == 1 and mods["qty"][0] == pytest.approx(0.013) and mods["tick"][0] == 1001
    assert np.array_equal(a["requests"][["ts", "kind", "side", "tick", "qty"]], h["requests"][["ts", "kind", "side", "tick", "qty"]])
    assert af == [(10, 1, 100.0, 0.003), (150, 1, 100.1, 0.01)]  # leaves = 0.013 - 0.003
    assert hf == [(10, 1, 100.0, 0.003), (150, 1, 100.1, 0.007)]  # leaves kept at 0.007

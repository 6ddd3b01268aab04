"""hypothesis generators for differential tests: valid event streams (images, depth, trades, gaps, silences) on one
or two assets, order scripts, fill models, latency models, schedules, and the instruments they trade.

Book and trade quantities are mostly whole lots of 0.25 with some off the grid (0.1, 0.35, 1.3), so queue and
trade-through fills get floored; order sizes include off-grid ones (rejected ``invalid_lot``)."""
from hypothesis import strategies as hs

from arbkit.core.schema import Instrument
from arbkit.engine import Schedule

TICK = 0.5
CENTRE = 200  # ticks -> price 100.0


@hs.composite
def streams(draw, funding=False):
    """Rows (ts, asset, kind, side, price, qty, seq) for one or two assets, starting with images.

    ``funding``: FUNDING rows (rates for funding times a little ahead, revised, late, or for the period after)
    and MARK rows too, some at the same ts_local as a book row."""
    n_assets = draw(hs.integers(1, 2))
    rows = []
    t = 1_000
    qty = hs.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
    for a in range(n_assets):
        rows.append((t, a, 5, 0, 0.0, 0.0, 0))
        for k in range(1, 4):
            rows.append((t, a, 1, 1, (CENTRE - k) * TICK, draw(qty), 0))
            rows.append((t, a, 1, -1, (CENTRE + k) * TICK, draw(qty), 0))
    seq = 1
    for _ in range(draw(hs.integers(5, 60))):
        t += draw(hs.sampled_from([0, 1, 500, 1_000, 3_000, 10_000]))
        a = draw(hs.integers(0, n_assets - 1))
        kinds = ["depth"] * 6 + ["trade"] * 3 + ["image", "gap"] + (["funding"] * 3 + ["mark"] * 2 if funding else [])
        what = draw(hs.sampled_from(kinds))
        if what == "depth":
            for _ in range(draw(hs.integers(1, 3))):
                side = draw(hs.sampled_from([1, -1]))
                off = draw(hs.integers(0, 5))
                tk = CENTRE - 1 - off if side > 0 else CENTRE + 1 + off
                if draw(hs.integers(0, 7)) == 0:
                    tk += side * draw(hs.integers(1, 2))  # sometimes into the other side's range (a crossed book)
                rows.append((t, a, 2, side, tk * TICK, draw(hs.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 4.0, 0.35, 1.3])),
                             seq))
        elif what == "trade":
            side = draw(hs.sampled_from([1, -1, 0]))
            for _ in range(draw(hs.sampled_from([1, 1, 2, 3]))):  # a trade message: one or more rows
                tk = CENTRE + draw(hs.integers(-4, 4))
                rows.append((t, a, 3, side, tk * TICK, draw(hs.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0, 0.1, 0.35])), seq))
        elif what == "image":
            rows.append((t, a, 5, 0, 0.0, 0.0, seq))
            for k in range(1, draw(hs.integers(1, 4)) + 1):
                rows.append((t, a, 1, 1, (CENTRE - k) * TICK, draw(qty), seq))
                rows.append((t, a, 1, -1, (CENTRE + k) * TICK, draw(qty), seq))
        elif what == "funding":
            when = t + draw(hs.sampled_from([-1, 0, 1, 700, 2_000, 5_000, 20_000]))
            if draw(hs.booleans()):
                when = (when // 5_000 + 1) * 5_000  # a grid of funding times: rows revise the same time
            rows.append((t, a, 7, 0, draw(hs.sampled_from([0.0001, -0.0003, 0.00125, 0.0])), 0.0, when))
        elif what == "mark":
            rows.append((t, a, 8, 0, (CENTRE + draw(hs.integers(-6, 6))) * TICK + 0.1, 99.0, -1))
        else:
            rows.append((t, a, 6, 0, 0.0, 0.0, seq))
        seq += 1
    return n_assets, rows


@hs.composite
def scripts(draw, n_assets, t0, t1):
    actions = []
    n_submits = []
    for i in range(draw(hs.integers(1, 14))):
        t = draw(hs.integers(t0, t1))
        op = draw(hs.sampled_from([0, 0, 0, 1, 2])) if n_submits else 0
        a = draw(hs.integers(0, n_assets - 1))
        side = draw(hs.sampled_from([1, -1]))
        price = (CENTRE + draw(hs.integers(-4, 4))) * TICK
        qty = draw(hs.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0, 0.3]))
        otype = draw(hs.integers(0, 3))
        ref = draw(hs.sampled_from(n_submits)) if op else 0
        actions.append((t, op, a, side, price, qty, otype, ref))
        if op == 0:
            n_submits.append(i)
    actions.sort(key=lambda x: x[0])  # the script runs in time order; refs may point later (then ignored)
    return actions


fill_models = hs.builds(
    dict,
    queue=hs.sampled_from(["risk_averse", "power", "log"]),
    queue_power=hs.sampled_from([1.0, 2.0, 3.0]),
    fill_probability=hs.sampled_from([1.0, 1.0, 0.5]),
    trade_through=hs.sampled_from(["volume", "volume", "all", "none"]),
    cross_fill=hs.booleans(),
    taker_consumes_book=hs.booleans(),
    max_taker_levels=hs.sampled_from([0, 0, 1, 2]),
)
latencies = hs.one_of(
    hs.tuples(hs.sampled_from([0, 1, 700, 2_000]), hs.sampled_from([0, 1, 700, 2_000])).map(lambda x: ("const",) + x),
    hs.tuples(hs.lists(hs.sampled_from([0, 300, 1_000, 4_000]), min_size=1, max_size=4),
              hs.lists(hs.sampled_from([0, 300, 1_000, 4_000]), min_size=1, max_size=4)).map(lambda x: ("emp",) + x),
)


#: lot sizes: whole quarters, or tenths (order sizes 0.25 and 0.3: off the quarter grid; 0.25 off the tenth grid)
lots = hs.sampled_from([0.25, 0.25, 0.1])


def instruments(n, lot=0.25):
    """One or two instruments: a linear perpetual (maker rebate) and an inverse one."""
    kinds = [("linear_perp", 1.0, -0.25, 4.0), ("inverse_perp", 10.0, 1.0, 5.0)]
    out = []
    for a in range(n):
        ct, cs, mk, tk = kinds[a]
        out.append(Instrument("sim", f"X{a}", TICK, lot, maker_fee_bps=mk, taker_fee_bps=tk, contract_type=ct,
                              contract_size=cs))
    return out


#: when the script runs: every message, a 2 µs timer (between events too), on top changes, on responses; some
#: pause their timers after 5 µs of silence (the streams have 10 µs silences)
schedules = hs.sampled_from([Schedule(every_event=True), Schedule(interval_ms=0.002),
                             Schedule(interval_ms=0.001, on_top_change=True),
                             Schedule(on_response=True, interval_ms=0.005),
                             Schedule(on_top_change=True, on_response=True), Schedule(on_response=True),
                             Schedule(interval_ms=0.001, max_silence_s=5e-6),
                             Schedule(every_event=True, on_response=True, max_silence_s=4e-6)])

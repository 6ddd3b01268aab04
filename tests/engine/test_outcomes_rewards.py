"""Liquidity rewards by hand: Polymarket's scoring rule on known books and orders, sampled twice; the reference agrees.

Market m1: UP (asset 0) shows 0.39 / 0.41 (mid 0.40), DOWN (asset 1) 0.59 / 0.61 (mid 0.60); tick 0.01.
Terms: max_spread v = 0.03, min_size 5, scale c = 3. The rate is 432e9 cash per unit of score per day and the
interval 200 ns, so each sample credits rate x 200 / 86.4e12 = exactly 1.0 cash per unit of score.
Orders are sent at t = 150 (a quiet row; zero latency: they rest at once, both books built by then); the next row
comes at t = 500, so the samples due at t = 200 and 400 score them (the sample at the first message end, t = 100,
finds nothing resting).
An order at distance s from its own book's mid scores ((v - s) / v)^2 x size.
"""
import numpy as np
import pytest

from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine import codes as c
from arbkit.kpi.markets import market_kpis
from arbkit.run.replay import replay, replay_batch
from helpers.events import make_events
from helpers.reference_engine import reference_run
from helpers.script_strategy import script_strategy

LIMIT = 0
FILL = {"queue": "risk_averse", "queue_power": 2.0, "fill_probability": 1.0, "trade_through": "volume",
        "cross_fill": True, "taker_consumes_book": False, "max_taker_levels": 0}
TERMS = {"rate": 432e9, "max_spread": 0.03, "min_size": 5.0, "scale": 3.0, "interval_ms": 0.0002}


def pair(resolution=None, winner=None, market="m1"):
    kw = dict(contract_type="binary_outcome", market_id=market, resolution_ts=resolution, winner=winner)
    return [Instrument("polymarket", "UP", 0.01, 1.0, outcome="Up", complement="DOWN", **kw),
            Instrument("polymarket", "DOWN", 0.01, 1.0, outcome="Down", complement="UP", **kw)]


def image(up_bid=0.39, up_ask=0.41):
    return [(100, 0, 5, 0, 0.0, 0.0, 0), (100, 0, 1, 1, up_bid, 100.0, 0), (100, 0, 1, -1, up_ask, 100.0, 0),
            (100, 1, 5, 0, 0.0, 0.0, 0), (100, 1, 1, 1, round(1 - up_ask, 2), 100.0, 0),
            (100, 1, 1, -1, round(1 - up_bid, 2), 100.0, 0), (150, 0, 2, 1, round(up_bid - 0.03, 2), 5.0, 1)]


QUIET = [(500, 0, 2, 1, 0.30, 7.0, 1)]  # a level far below the UP bid: the top does not move
# side one (buys UP): UP bid 10 at 0.39, s = 0.01: (0.02 / 0.03)^2 x 10 = 40/9
UP_BID = (150, 0, 0, 1, 0.39, 10.0, LIMIT, 0)
# side two (buys DOWN): DOWN bid 45 at 0.58, s = 0.02 from 0.60: (0.01 / 0.03)^2 x 45 = 5
DOWN_BID = (150, 0, 1, 1, 0.58, 45.0, LIMIT, 0)
# scoring nothing: UP bid 10 at 0.36 is 0.04 > v from the mid; DOWN bid 4 at 0.59 is below min_size 5
FAR = (150, 0, 0, 1, 0.36, 10.0, LIMIT, 0)
SMALL = (150, 0, 1, 1, 0.59, 4.0, LIMIT, 0)


def run(actions, inst=None, rows=None, rewards=TERMS, **kw):
    strat, params = script_strategy(actions)
    return replay(make_events(rows or image() + QUIET), strat, params, instruments=inst or pair(), rewards=rewards, **kw)


def ref(actions, inst=None, rows=None, rewards=TERMS):
    return reference_run(rows or image() + QUIET, inst or pair(), actions, FILL, ("const", 0, 0), 0, rewards=rewards)


def rewards_of(res):
    r = res.fills[res.fills["kind"] == c.FK_REWARD]
    return [(int(x["ts"]), int(x["asset"]), float(x["price"])) for x in r]


def test_two_sided_quote_earns_the_weaker_side_each_sample():
    # Q1 = 40/9 (+0 for FAR), Q2 = 5 (+0 for SMALL); Qmin = max(min(40/9, 5), max(40/9, 5) / 3) = 40/9 per sample
    acts = [UP_BID, DOWN_BID, FAR, SMALL]
    res = run(acts)
    got = rewards_of(res)
    assert [(t, a) for t, a, _ in got] == [(200, 0), (400, 0)]  # credited on the market's first asset
    assert [x for _, _, x in got] == pytest.approx([40 / 9, 40 / 9], rel=1e-12)
    assert res.accounts[0, c.A_REWARD] == pytest.approx(80 / 9, rel=1e-12)
    assert res.accounts[0, c.A_CASH] == pytest.approx(80 / 9, rel=1e-12)  # nothing traded: the cash is the reward
    assert res.counters["reward_rows"] == 2 and res.counters["fills"] == 0  # a reward is no trade
    assert (res.summary()["fills"], res.summary()["fill_rows"]) == (0, 2)  # `arbkit replay` prints trades
    assert res.pnl == pytest.approx(80 / 9, rel=1e-12)
    want = ref(acts)
    assert [(f.ts, f.asset, f.price, f.kind) for f in want.fills] == \
        [(int(f["ts"]), int(f["asset"]), float(f["price"]), int(f["kind"])) for f in res.fills]
    assert want.cash == list(res.accounts[:, c.A_CASH])


def test_far_and_small_orders_alone_earn_nothing():
    res = run([FAR, SMALL])
    assert rewards_of(res) == [] and res.accounts[0, c.A_REWARD] == 0.0 and res.pnl == 0.0


def test_one_sided_quote_earns_a_third_inside_the_range():
    # Q1 = 40/9, Q2 = 0, mid 0.40 in [0.10, 0.90]: Qmin = (40/9) / 3 = 40/27 per sample
    res = run([UP_BID])
    assert [x for _, _, x in rewards_of(res)] == pytest.approx([40 / 27, 40 / 27], rel=1e-12)
    assert ref([UP_BID]).cash[0] == res.accounts[0, c.A_CASH]


def test_one_sided_quote_earns_nothing_outside_the_range():
    # UP 0.04 / 0.06 (mid 0.05, outside [0.10, 0.90]); UP bid 10 at 0.04: s = 0.01, 40/9 on side one only -> 0
    rows = image(0.04, 0.06) + [(500, 0, 2, 1, 0.01, 7.0, 1)]
    one = (150, 0, 0, 1, 0.04, 10.0, LIMIT, 0)
    assert rewards_of(run([one], rows=rows)) == []
    # with DOWN bid 45 at 0.93 (s = 0.02 from 0.95: 5 on side two) the market scores min(40/9, 5) = 40/9
    two = (150, 0, 1, 1, 0.93, 45.0, LIMIT, 0)
    res = run([one, two], rows=rows)
    assert [x for _, _, x in rewards_of(res)] == pytest.approx([40 / 9, 40 / 9], rel=1e-12)
    assert ref([one, two], rows=rows).cash[0] == res.accounts[0, c.A_CASH]


@pytest.mark.parametrize("winner", [None, "Up"])
def test_nothing_after_resolution(winner):
    # resolved at 300: the sample at 200 pays, the one at 400 does not (with a known winner the orders are also gone)
    inst = pair(resolution=300, winner=winner)
    res = run([UP_BID, DOWN_BID], inst=inst)
    assert rewards_of(res) == [(200, 0, pytest.approx(40 / 9, rel=1e-12))]
    assert ref([UP_BID, DOWN_BID], inst=inst).rewards == list(res.accounts[:, c.A_REWARD])


def test_per_day_rate_is_pro_rata_per_sample():
    # the same rate at twice the interval: one sample (at 400) of twice the cash per unit of score
    res = run([UP_BID, DOWN_BID], rewards={**TERMS, "interval_ms": 0.0004})
    assert rewards_of(res) == [(400, 0, pytest.approx(80 / 9, rel=1e-12))]


def test_markets_key_selects_and_overrides():
    acts = [UP_BID, DOWN_BID]
    base = dict(TERMS)
    res = run(acts, rewards={**base, "markets": {"m1": {"rate": 864e9}}})  # twice the rate for m1
    assert [x for _, _, x in rewards_of(res)] == pytest.approx([80 / 9, 80 / 9], rel=1e-12)
    res = run(acts, inst=pair(market="other"), rewards={**base, "markets": {"other": {"max_spread": 0.06}}})
    assert len(rewards_of(res)) == 2  # listed: earns with its own max spread
    with pytest.raises(ConfigError, match=r"rewards.markets: no outcome instrument of market\(s\) \['m9'\]"):
        run(acts, rewards={**base, "markets": {"m9": {}}})


def test_off_by_default_and_rate_zero_leave_the_run_unchanged():
    acts = [UP_BID, DOWN_BID, FAR, SMALL, (300, 0, 0, -1, 0.41, 5.0, LIMIT, 0)]
    rows = image() + [(300, 0, 3, -1, 0.38, 20.0, 1)] + QUIET  # a sell through 0.39 fills our UP bid: a trade
    off = run(acts, rows=rows, rewards=None)
    zero = run(acts, rows=rows, rewards={**TERMS, "rate": 0.0})
    on = run(acts, rows=rows)
    assert off.counters["fills"] > 0 and off.fills_hash == zero.fills_hash
    assert "rewards" not in off.config and "rewards" in on.config
    trades = lambda r: r.fills[r.fills["kind"] != c.FK_REWARD]
    assert trades(on).tobytes() == off.fills.tobytes()  # rewards add rows and cash, they move no trade
    assert on.pnl == pytest.approx(off.pnl + on.accounts[:, c.A_REWARD].sum(), rel=1e-12)


def test_batch_equals_single_runs_with_rewards():
    sets = [[UP_BID, DOWN_BID], [UP_BID], [FAR]]
    strat, _ = script_strategy(sets[0])  # the longest script: its parameter count fits every set
    params = [script_strategy(a)[1] for a in sets]
    width = max(len(p) for p in params)
    params = [np.concatenate([p, np.zeros(width - len(p))]) for p in params]
    batch = replay_batch(make_events(image() + QUIET), strat, params, instruments=pair(), rewards=TERMS)
    for p, b in zip(params, batch):
        single = replay(make_events(image() + QUIET), strat, p, instruments=pair(), rewards=TERMS)
        assert b.fills_hash == single.fills_hash
        np.testing.assert_array_equal(b.accounts, single.accounts)


def test_kpis_per_market():
    res = run([UP_BID, DOWN_BID])
    m = market_kpis(res)
    assert m["m1"]["rewards"] == pytest.approx(80 / 9, rel=1e-12) == m["total"]["rewards"]
    assert m["m1"]["pnl_marked"] - m["m1"]["pnl_marked_ex_rewards"] == pytest.approx(80 / 9, rel=1e-12)


@pytest.mark.parametrize("bad,msg", [
    ({"rate": -1.0}, r"rewards.rate must be a finite number in \[0.0, inf\], got -1.0"),
    ({"max_spread": 0.0}, r"rewards.max_spread must be a finite number in \(0.0, 1.0\], got 0.0"),
    ({"min_size": -5}, r"rewards.min_size must be"),
    ({"scale": 0.5}, r"rewards.scale must be"),
    ({"interval_ms": 0}, r"rewards.interval_ms must be"),
    ({"rates": 1.0}, r"rewards: unknown key\(s\) \['rates'\]"),
    ({"markets": {"m1": {"rate": -2}}}, r"rewards.markets.m1.rate must be"),
    ({"markets": {"m1": {"spread": 0.1}}}, r"rewards.markets.m1: unknown key\(s\) \['spread'\]"),
])
def test_bad_terms_are_one_clear_line(bad, msg):
    with pytest.raises(ConfigError, match=msg) as exc:
        run([UP_BID], rewards={**TERMS, **bad})
    assert "\n" not in str(exc.value)


def test_clock_moved_in_steps_equals_one_replay():
    """Paper trading's path: rows fed in pieces with the clock advanced between them (samples fall in the gaps)."""
    from arbkit.engine.replayer import Replayer
    acts = [UP_BID, DOWN_BID]
    rows = image() + QUIET + [(900, 0, 2, 1, 0.31, 7.0, 1)]
    want = run(acts, rows=rows)
    strat, params = script_strategy(acts)
    cols = make_events(rows)
    rp = Replayer(pair(), strat, params, rewards=TERMS)
    rp.feed(cols.take(slice(0, 7)))
    for t in (180, 250, 333, 500):
        rp.advance_to(t)
    rp.feed(cols.take(slice(7, 8)))
    rp.advance_to(700)
    rp.feed(cols.take(slice(8, 9)))
    got = rp.finish()
    assert len(rewards_of(want)) == 4  # 200, 400, 600, 800
    assert got.fills_hash == want.fills_hash
    np.testing.assert_array_equal(got.accounts, want.accounts)


def test_run_config_carries_rewards_and_names_the_file_on_bad_terms(tmp_path):
    from arbkit.run.config import RunConfig
    good = RunConfig.from_dict({"strategy": "pm_mm", "rewards": {"rate": 1.0, "max_spread": 0.05}}, where="run.yaml")
    assert good.rewards == {"rate": 1.0, "max_spread": 0.05}
    with pytest.raises(ConfigError, match=r"^run.yaml: rewards.max_spread must be a finite number in \(0.0, 1.0\], "
                                          r"got -0.1$"):
        RunConfig.from_dict({"strategy": "pm_mm", "rewards": {"max_spread": -0.1}}, where="run.yaml")
    with pytest.raises(ConfigError, match=r"^run.yaml: rewards must be a mapping"):
        RunConfig.from_dict({"strategy": "pm_mm", "rewards": 3}, where="run.yaml")


def test_trade_log_credits_rewards_and_keeps_the_mark(tmp_path):
    import json
    acts = [UP_BID, DOWN_BID]
    rows = image() + [(300, 0, 3, -1, 0.38, 20.0, 1)] + QUIET  # our UP bid fills 10 at 0.39 at t = 300
    res = run(acts, rows=rows)
    lines = [json.loads(x) for x in res.trades_jsonl(tmp_path / "t.jsonl").read_text().splitlines()]
    assert [x["side"] for x in lines] == ["reward", "buy", "reward"]  # samples at 200 and 400 around the fill
    # after the last reward the log's cash + UP marked at its own last fill price (0.39) = the rewards credited
    credited = sum(x["price"] for x in lines if x["side"] == "reward")
    assert credited == pytest.approx(res.accounts[0, c.A_REWARD], rel=1e-12)
    assert lines[-1]["pnl_so_far"] == pytest.approx(credited, rel=1e-12)
    assert lines[-1]["inventory_after"] == lines[-1]["inventory_before"] == 10.0

"""Risk guards on hand-built books: budget cap, exposure, cooldown, kill switch (drawdown, gap), stuck guards."""
import pytest

from arbkit.engine import RiskGuards
from arbkit.run.replay import replay
from arbkit.engine import codes as c
from arbkit.core.errors import ConfigError
from helpers.events import make_events
from helpers.script_strategy import script_strategy
from helpers.fill_books import IMAGE, INST, IOC, LIMIT, POST

MS = 1_000_000
TAIL = [(k * 100 * MS, 0, 4, 1, 99.5, 1.0, 100 + k) for k in range(1, 20)]  # BBO rows: time passes, books unchanged


def run(rows, actions, guards, **kw):
    strat, params = script_strategy(actions)
    events = sorted(IMAGE + rows + TAIL, key=lambda r: r[0])  # stable: same-time rows keep their order
    return replay(make_events(events), strat, params, instruments=INST, guards=guards, **kw)


def test_budget_caps_the_size_and_counts_it():
    # IOC buy 2.0 up to 101.5: notional 2 x 101.5 = 203 > budget 150 -> cut to floor(150/101.5 / 0.25) * 0.25 = 1.25
    res = run([], [(100, 0, 0, 1, 101.5, 2.0, IOC, 0)], {"budget": 150.0})
    assert res.fills["qty"].sum() == pytest.approx(1.25)
    assert res.guards["budget"]["cap_applied"] == 1 and res.counters["guard_budget_capped"] == 1
    # with 1.25 held (125 of exposure at the mid 100), a second buy has room for 25 / 101.5 < one lot: blocked;
    # a sell (reducing) always passes, and then there is room again
    res = run([], [(100, 0, 0, 1, 101.5, 2.0, IOC, 0), (500 * MS, 0, 0, 1, 101.5, 2.0, IOC, 0),
                   (700 * MS, 0, 0, -1, 99.5, 0.5, IOC, 0), (900 * MS, 0, 0, 1, 101.5, 2.0, IOC, 0)], {"budget": 150.0})
    sent = res.orders[res.orders["event"] == c.EV_SUBMIT]
    assert list(sent["qty"]) == [1.25, 0.5, 0.5]  # 0.75 held -> room (150 - 75) / 101.5 = 0.74 -> 0.5
    assert res.counters["guard_budget_blocks"] == 1 and res.counters["guard_budget_capped"] == 2
    from arbkit.kpi import compute_kpis
    assert compute_kpis(res)["total"]["blocks"] == {"kill_switch": 0, "budget": 1, "exposure": 0, "cooldown": 0,
                                                    "volume": 0}


def test_exposure_limit_blocks_growth_but_not_reduction():
    acts = [(100, 0, 0, 1, 100.5, 0.25, IOC, 0), (300 * MS, 0, 0, 1, 101.0, 0.5, IOC, 0),
            (600 * MS, 0, 0, -1, 99.5, 0.25, IOC, 0)]
    res = run([], acts, {"max_position_notional": 40.0})
    # 0.25 x 100 = 25 ok; +0.5 -> 0.75 x 101 = 75.75 > 40 blocked; the sell reduces: allowed
    assert [(int(f["side"]), float(f["qty"])) for f in res.fills] == [(1, 0.25), (-1, 0.25)]
    assert res.counters["guard_exposure_blocks"] == 1
    assert res.positions()["sim:X"] == 0.0


def test_cooldown_after_a_fill():
    acts = [(100, 0, 0, 1, 100.5, 0.25, IOC, 0), (200 * MS, 0, 0, 1, 99.0, 0.25, POST, 0),
            (900 * MS, 0, 0, 1, 99.0, 0.25, POST, 0)]
    res = run([], acts, {"cooldown_after_fill_ms": 500.0})
    sent = res.orders[res.orders["event"] == c.EV_SUBMIT]
    assert len(sent) == 2 and res.counters["guard_cooldown_blocks"] == 1  # the 200 ms order is inside 500 ms


def test_kill_switch_on_drawdown_cancels_and_blocks_entries():
    # buy 1.0 (0.25 @ 100.5, 0.5 @ 101, 0.25 @ 101.5), rest a bid; then the bids collapse -> drawdown
    acts = [(100, 0, 0, 1, 101.5, 1.0, IOC, 0), (100 * MS, 0, 0, 1, 95.0, 0.25, POST, 0),
            (700 * MS, 0, 0, 1, 95.0, 0.25, POST, 0), (800 * MS, 0, 0, -1, 90.0, 0.5, IOC, 0)]
    rows = [(300 * MS, 0, 2, 1, 99.5, 0.0, 1), (300 * MS, 0, 2, 1, 99.0, 0.0, 1), (300 * MS, 0, 1, 1, 92.0, 5.0, 1),
            (300 * MS, 0, 2, -1, 100.5, 0.0, 1), (300 * MS, 0, 2, -1, 101.0, 0.0, 1), (300 * MS, 0, 2, -1, 101.5, 0.0, 1),
            (300 * MS, 0, 2, -1, 96.0, 5.0, 1)]
    res = run(rows, acts, {"max_drawdown": 5.0})
    ks = res.guards["kill_switch"]
    assert ks["tripped"] and ks["reason"] == "max_drawdown" and ks["ts"] == 300 * MS
    log = res.orders_frame()
    assert "cancel" in log.filter(log["order_id"] == 2)["event_name"].to_list()  # the resting bid was pulled
    assert res.counters["guard_kill_blocks"] == 1  # the 700 ms bid
    assert res.fills["side"][-1] == -1  # the reducing sell still went out


def test_data_gap_trips_the_kill_switch_and_stuck_guards_are_reported():
    rows = [(150 * MS, 0, 6, 0, 0.0, 0.0, 1)]
    acts = [(k * 100 * MS, 0, 0, 1, 99.0, 0.25, LIMIT, 0) for k in range(3, 18)]
    res = run(rows, acts, {"max_gap_ms": 100.0, "stuck_window_ms": 500.0})
    ks = res.guards["kill_switch"]
    # the GAP at 150 ms trips the switch at 150 + 100 ms, during the silence (no event at 250 ms)
    assert ks["tripped"] and ks["reason"] == "data_gap" and ks["ts"] == 250 * MS
    assert res.guards["kill_switch"]["blocks"] == 15
    assert res.guards["kill_switch"]["stuck"] and res.guards["kill_switch"]["longest_block_run_s"] >= 0.5
    assert not res.guards["budget"]["stuck"]


def test_guard_config_is_checked():
    with pytest.raises(ConfigError, match="guards.max_drawdown"):
        RiskGuards(max_drawdown=-1)
    with pytest.raises(ConfigError, match="unknown key"):
        RiskGuards.from_dict({"max_dd": 3})
    assert not RiskGuards().active and RiskGuards(budget=1).active


def test_arbitrage_exits_with_kill_switch_reason():
    from arbkit.strategies.arb import round_trips
    from helpers.arb_books import IMAGES, INSTS, PARAMS
    from helpers.arb_books import MS as AMS
    from arbkit.strategies.arb import arb
    # entering at the touches costs half the spread on each leg: equity -0.5 right after, a drawdown of 0.5
    rows = [(k * 100 * AMS, 1, 3, 1, 101.5, 0.1, k) for k in range(2, 10)]
    res = replay(make_events(IMAGES + rows), arb(), PARAMS, instruments=INSTS, guards={"max_drawdown": 0.4})
    trips = round_trips(res)
    assert res.guards["kill_switch"]["tripped"] and res.guards["kill_switch"]["reason"] == "max_drawdown"
    assert len(trips) == 1 and trips[0]["exit_reason"] == "kill_switch"
    assert res.positions() == {"va:X": 0.0, "vb:X": 0.0}  # the exits (reducing) went through


def test_entry_attempts_entries_block_ratio_and_stuck_windows():
    """Hand-counted: the budget example above has 3 entry attempts (the 0.5 sell only reduces: no attempt), 2 sent,
    1 blocked; the guard figures built on them (arbkit.kpi.ops) follow."""
    from arbkit.kpi.ops import guard_kpis

    res = run([], [(100, 0, 0, 1, 101.5, 2.0, IOC, 0), (500 * MS, 0, 0, 1, 101.5, 2.0, IOC, 0),
                   (700 * MS, 0, 0, -1, 99.5, 0.5, IOC, 0), (900 * MS, 0, 0, 1, 101.5, 2.0, IOC, 0)], {"budget": 150.0})
    assert res.counters["entry_attempts"] == 3 and res.counters["entries"] == 2 and res.counters["orders"] == 3
    g = guard_kpis(res)
    assert g["block_ratio_pct"]["budget"] == pytest.approx(100 / 3) and g["block_ratio_pct"]["all"] == pytest.approx(100 / 3)
    assert g["entry_success_pct"] == pytest.approx(200 / 3) and g["cap_applied"] == 2 and g["stuck_guard_windows"] == 0
    # the kill switch blocks every entry from 300 ms to 1700 ms with none let through: one run of 1.4 s, counted
    # once as a stuck window of 500 ms; a second guard config without a window counts none
    rows = [(150 * MS, 0, 6, 0, 0.0, 0.0, 1)]
    acts = [(k * 100 * MS, 0, 0, 1, 99.0, 0.25, LIMIT, 0) for k in range(3, 18)]
    res = run(rows, acts, {"max_gap_ms": 100.0, "stuck_window_ms": 500.0})
    assert res.guards["kill_switch"]["stuck_windows"] == 1 and res.guards["budget"]["stuck_windows"] == 0
    g = guard_kpis(res)
    assert g["entry_attempts"] == 15 and g["entries"] == 0 and g["block_ratio_pct"]["kill_switch"] == 100.0
    assert g["stuck_guard_windows"] == 1 and g["max_block_run_s"] == pytest.approx(1.4)
    assert run(rows, acts, {"max_gap_ms": 100.0, "stuck_window_ms": 0.0}).guards["kill_switch"]["stuck_windows"] == 0

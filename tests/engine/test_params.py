"""Parameter schemas: each kind's rule and message, strategies' declarations, and the engine refusing before a kernel runs."""
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument
from arbkit.engine import api
from arbkit.engine.params import asset, bps, choice, flag, integer, non_negative, order_size, param_problem, positive
from arbkit.engine.replayer import Replayer
from arbkit.engine.strategy import Strategy, strategy_kernel
from arbkit.strategies import REGISTRY, get_strategy
from helpers.events import make_events

INST = [Instrument("a", "X", tick_size=0.5, lot_size=0.01), Instrument("b", "Y", tick_size=0.5, lot_size=0.01)]


@strategy_kernel
def _join_bid(st, params, user):
    a = np.int64(params[0])
    if api.book_usable(st, a) and user[0] == 0.0:
        user[0] = api.submit(st, a, 1, api.best_bid(st, a), params[1], api.POST_ONLY)


def user_strategy(**specs):
    """A strategy written outside arbkit: its own kernel, its own declarations."""
    return Strategy("join_bid", _join_bid, params={"venue_index": 0, "qty": 0.01, "spare": 1.0}, specs=specs)


@pytest.mark.parametrize("spec, good, bad, allowed", [
    (asset(), [0, 1], [2, -1, 0.5, math.inf], "an instrument index 0..1 (0 a:X, 1 b:Y)"),
    (integer(1, 5), [1, 5], [0, 6, 2.5], "a whole number >= 1 and <= 5"),
    (positive(), [1e-9, 3.0], [0.0, -0.01, math.nan], "a finite number > 0"),
    (non_negative(unit="s"), [0.0, 7.0], [-1e-9], "a finite number >= 0 s"),
    (bps(0.0), [0.0, 10_000.0], [-0.1, 10_000.5], "a finite number >= 0 and <= 10000 bps"),
    (choice(0, 1, labels=("hedge", "unwind")), [0, 1], [2, 0.5], "one of 0 (hedge), 1 (unwind)"),
    (flag(), [0, 1], [-1], "one of 0 (off), 1 (on)"),
])
def test_each_kind_accepts_its_range_and_says_what_is_allowed(spec, good, bad, allowed):
    for v in good:
        assert spec.problem(float(v), INST) is None, v
    for v in bad:
        assert spec.problem(float(v), INST) is not None, v
    assert spec.allowed(INST) == allowed


def test_distinct_legs_and_the_message_names_parameter_value_and_rule():
    specs = {"asset_a": asset(), "asset_b": asset(distinct_from="asset_a")}
    assert param_problem("x", ["asset_a", "asset_b"], [1.0, 1.0], specs, INST) == (
        "strategy x: parameter asset_b = 1 is the same instrument as asset_a; allowed: an instrument other than "
        "asset_a (the two legs must differ)")
    assert param_problem("x", ["asset_a", "asset_b"], [0.0, 2.0], specs, INST) == (
        "strategy x: parameter asset_b = 2 is not allowed (the recording has 2 instruments); allowed: an instrument "
        "index 0..1 (0 a:X, 1 b:Y)")
    assert param_problem("x", ["asset_a", "asset_b"], [0.0, 1.0], specs, INST) is None


def test_an_order_size_below_a_lot_of_either_leg_is_refused_naming_the_leg_and_its_lot():
    insts = [INST[0], Instrument("c", "Z", tick_size=0.5, lot_size=1.0)]
    specs = {"asset_a": asset(), "asset_b": asset(distinct_from="asset_a"), "order_size": order_size("asset_a", "asset_b")}
    names = ["asset_a", "asset_b", "order_size"]
    assert param_problem("arb", names, [0.0, 1.0, 0.01], specs, insts) == (
        "strategy arb: parameter order_size = 0.01 is below one lot of asset_b (1 c:Z: lot 1); allowed: at least 1 "
        "(sizes are rounded down to the lot, so it would never trade)")
    assert param_problem("arb", names, [0.0, 1.0, 1.0], specs, insts) is None
    assert param_problem("arb", names, [1.0, 0.0, 0.999], specs, insts).startswith(
        "strategy arb: parameter order_size = 0.999 is below one lot of asset_a (1 c:Z")
    assert param_problem("arb", names, [0.0, 1.0, 0.01], specs) is None  # no recording: the lot is unknown
    # the registered sizes are declared that way, so a replay refuses before any event
    for name in ("arb", "cross_taker", "mm", "touch_mm"):  # one-instrument or two-leg sizes
        assert get_strategy(name).spec("order_size").lot_of, name


def test_every_registered_strategy_declares_its_indices_and_sizes():
    for name in REGISTRY:
        strat = get_strategy(name)
        for p in strat.params:
            if p.startswith("asset"):
                assert strat.spec(p).kind == "asset", (name, p)
            if p in ("order_size",):
                assert strat.spec(p).problem(0.0) is not None and strat.spec(p).problem(-1.0) is not None


def test_declarations_are_checked_when_the_strategy_is_made():
    with pytest.raises(ConfigError, match=r"specs for unknown parameter\(s\) \['size'\]"):
        user_strategy(size=positive())
    with pytest.raises(ConfigError, match="parameter qty = 0.01 is not allowed .*the strategy's own default"):
        user_strategy(qty=integer(1, 10))


def test_a_user_strategy_gets_the_same_checks_from_its_declarations():
    strat = user_strategy(venue_index=asset(), qty=positive())
    events = make_events([(1, 0, 5, 0, 0.0, 0.0, 0), (1, 0, 1, 1, 99.5, 2.0, 0), (1, 0, 1, -1, 100.5, 2.0, 0)])
    with pytest.raises(ConfigError, match=r"strategy join_bid: parameter venue_index = 2 is not allowed"):
        Replayer(INST, strat, {"venue_index": 2})
    with pytest.raises(ConfigError, match=r"parameter qty = -1 is not allowed \(too small\); allowed: a finite number > 0"):
        Replayer(INST, strat, {"qty": -1})
    with pytest.raises(ConfigError, match=r"parameter spare = inf|parameter\(s\) \['spare'\] must be finite"):
        Replayer(INST, strat, {"spare": math.inf})  # undeclared: any finite number
    Replayer(INST, strat, {"spare": -1e12})
    run = Replayer(INST, strat, {"venue_index": 1})
    run.feed(events.replace(asset=np.ones(3, np.int32)))
    assert len(run.finish().orders) == 1


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(1, 4))
def test_no_index_outside_the_books_reaches_a_kernel(value, n):
    """Whatever the value, a Replayer either refuses it or holds a whole index inside the recording's instruments."""
    insts = [Instrument("v", f"S{k}", tick_size=0.5, lot_size=0.01) for k in range(n)]
    strat = user_strategy(venue_index=asset())
    try:
        run = Replayer(insts, strat, {"venue_index": value})
    except ConfigError as exc:
        assert "venue_index" in str(exc)
        return
    idx = run.params[0]
    assert idx == math.floor(idx) and 0 <= idx < n


@strategy_kernel
def _read_any_book(st, params, user):
    user[0] = api.best_bid(st, np.int64(params[0]))  # an index nobody declared: the bounds-checked run's business


@pytest.mark.skipif(not numba.config.BOUNDSCHECK, reason="only with NUMBA_BOUNDSCHECK=1 (make test-boundscheck)")
def test_bounds_checked_run_turns_an_undeclared_index_into_an_error():
    """What no spec covers (a user's undeclared index) is an IndexError in the bounds-checked run, not memory corruption."""
    strat = Strategy("read_any", _read_any_book, params={"which": 0})
    events = make_events([(1, 0, 5, 0, 0.0, 0.0, 0), (1, 0, 1, 1, 99.5, 2.0, 0), (1, 0, 1, -1, 100.5, 2.0, 0)])
    run = Replayer(INST, strat, {"which": 1})
    run.feed(events)
    run.finish()
    with pytest.raises(IndexError):
        bad = Replayer(INST, strat, {"which": 7})
        bad.feed(events)
        bad.finish()

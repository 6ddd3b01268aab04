"""A replay tells when its window, or its trace window, held no events (``notices``, a warning), and says nothing otherwise."""
import warnings

import pytest

from arbkit.run.replay import EmptyRunWarning, replay, replay_batch
from arbkit.strategies.touch_mm import touch_mm

PARAMS = {"asset": 1, "half_spread_bps": 0.5}


def test_window_after_the_data(bundled):
    late = bundled.manifest.end_ns + 10**9
    with pytest.warns(EmptyRunWarning, match=rf"no events in the window \[{late}, open\): the recording spans"):
        res = replay(bundled, touch_mm(), PARAMS, start=late)
    assert res.counters["events"] == 0 and res.summary()["notices"] == res.notices and len(res.notices) == 1


def test_start_after_end_and_a_batch_say_it_once(bundled):
    t = bundled.manifest.start_ns + 5 * 10**9
    with pytest.warns(EmptyRunWarning) as caught:
        results = replay_batch(bundled, touch_mm(), [PARAMS, {**PARAMS, "half_spread_bps": 1.0}], start=t, end=t - 1)
    assert len([w for w in caught if issubclass(w.category, EmptyRunWarning)]) == 1
    for res in results:
        assert res.notices == [f"no events: the window is empty (start_ns {t} is not before end_ns {t - 1})"]


def test_trace_window_that_misses_the_data(bundled):
    end = bundled.manifest.start_ns + 2 * 10**9
    with pytest.warns(EmptyRunWarning, match=r"no events in the trace window \[1, 2\]: the replayed events span"):
        res = replay(bundled, touch_mm(), PARAMS, end=end, trace=(1, 2))
    assert res.trace == [] and res.counters["events"] > 0


def test_a_run_with_events_has_no_notices(bundled):
    end = bundled.manifest.start_ns + 2 * 10**9
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyRunWarning)
        res = replay(bundled, touch_mm(), PARAMS, end=end, trace=(bundled.manifest.start_ns, end))
    assert res.notices == [] and "notices" not in res.summary() and res.trace

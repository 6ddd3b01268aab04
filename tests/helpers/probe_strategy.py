"""A strategy that only records when and why it is called (exact ns, as two floats), for timer tests."""
import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.strategy import Strategy, strategy_kernel


@strategy_kernel
def probe_kernel(st, params, user):
    now = api.now(st)
    api.annotate(st, 1, np.float64(now // 1_000_000_000), np.float64(now % 1_000_000_000),
                 np.float64(api.call_reason(st)), 0.0, 0.0, 0.0, 0.0, 0.0)


def probe(schedule: Schedule) -> Strategy:
    """The probe on ``schedule``."""
    return Strategy("probe", probe_kernel, params={"unused": 0.0}, schedule=schedule, state_size=1)


def calls(result) -> list[tuple[int, int]]:
    """(time ns, call-reason bits) of every call the probe recorded."""
    n = result.notes
    return [(int(s) * 1_000_000_000 + int(ns), int(r)) for s, ns, r in zip(n[:, 2], n[:, 3], n[:, 4])]

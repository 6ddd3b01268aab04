"""A strategy that plays a script of timed actions, for differential and hand-worked tests.

The script is packed into the parameter vector: ``[n, wake, (t, op, asset, side, price, qty, otype, ref) * n]``
with op 0 submit, 1 cancel, 2 modify (``ref`` = index of the submit action it targets), 3 merge ``qty`` of
``asset`` with its complement (``api.merge_pair``).
``wake`` 1: after each call, ask to be woken at the next action's time (``api.wake_at``), so
actions happen on time between events too. ``user[0]`` is the next action; ``user[1 + i]``
the id returned by action ``i``.
"""
import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.strategy import Strategy, strategy_kernel

WIDTH = 8
HEAD = 2  # n, wake


@strategy_kernel
def script_kernel(st, params, user):
    n = np.int64(params[0])
    i = np.int64(user[0])
    now = api.now(st)
    while i < n:
        b = HEAD + WIDTH * i
        if params[b] > now:
            break
        op = np.int64(params[b + 1])
        a = np.int64(params[b + 2])
        if op == 0:
            user[1 + i] = api.submit(st, a, np.int64(params[b + 3]), params[b + 4], params[b + 5], np.int64(params[b + 6]))
        elif op == 3:
            user[1 + i] = api.merge_pair(st, a, params[b + 5])
        else:
            oid = np.int64(user[1 + np.int64(params[b + 7])])
            if oid > 0:
                if op == 1:
                    api.cancel(st, oid)
                else:
                    api.modify(st, oid, params[b + 4], params[b + 5])
        i += 1
    user[0] = i
    if params[1] != 0.0 and i < n:
        api.wake_at(st, np.int64(params[HEAD + WIDTH * i]))


def script_vector(actions, wake=False, n_max=None):
    """The parameter vector of ``actions`` (padded with zeros to ``n_max`` actions)."""
    flat = [float(len(actions)), 1.0 if wake else 0.0]
    for act in actions:
        flat.extend(float(x) for x in act)
    n_max = len(actions) if n_max is None else n_max
    flat += [0.0] * (HEAD + WIDTH * n_max - len(flat))
    return np.array(flat)


def script_strategy(actions, wake=False, schedule=None, n_max=None):
    """A Strategy (and its parameter vector) playing ``actions`` at every message end (or ``schedule``)."""
    flat = script_vector(actions, wake, n_max)
    names = {f"p{i}": float(v) for i, v in enumerate(flat)}
    strat = Strategy("script", script_kernel, params=names, schedule=schedule or Schedule(every_event=True),
                     state_size=1 + (len(actions) if n_max is None else n_max))
    return strat, flat

"""A strategy that plays a script of timed actions, for differential and hand-worked tests.

The script is packed into the parameter vector: ``[n, (t, op, asset, side, price, qty, otype, ref) * n]``
with op 0 submit, 1 cancel, 2 modify (``ref`` = index of the submit action it targets).
``user[0]`` is the next action; ``user[1 + i]`` the id returned by action ``i``.
"""
import numpy as np

from arbkit.engine import api
from arbkit.engine.config import Schedule
from arbkit.engine.strategy import Strategy, strategy_kernel

WIDTH = 8


@strategy_kernel
def script_kernel(st, params, user):
    n = np.int64(params[0])
    i = np.int64(user[0])
    now = api.now(st)
    while i < n:
        b = 1 + WIDTH * i
        if params[b] > now:
            break
        op = np.int64(params[b + 1])
        a = np.int64(params[b + 2])
        if op == 0:
            user[1 + i] = api.submit(st, a, np.int64(params[b + 3]), params[b + 4], params[b + 5], np.int64(params[b + 6]))
        else:
            oid = np.int64(user[1 + np.int64(params[b + 7])])
            if oid > 0:
                if op == 1:
                    api.cancel(st, oid)
                else:
                    api.modify(st, oid, params[b + 4], params[b + 5])
        i += 1
    user[0] = i


def script_strategy(actions):
    """A Strategy (and its parameter vector) playing ``actions`` at every message end."""
    flat = [float(len(actions))]
    for act in actions:
        flat.extend(float(x) for x in act)
    names = {f"p{i}": v for i, v in enumerate(flat)}
    strat = Strategy("script", script_kernel, params=names, schedule=Schedule(every_event=True),
                     state_size=1 + len(actions))
    return strat, np.array(flat)

"""Compile the engine, the batched kernel and the built-in strategies into the JIT cache ahead of their first use.

The engine is compiled the first time it runs (about a minute on two cores) and its machine
code is cached; ``make venv`` runs ``python -m arbkit.apps.warm`` after installing, so the
first ``make demo`` or test run starts at once. It replays a small synthetic market through
every registered strategy, alone and batched, and evaluates the results.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from arbkit.core.columns import EventColumns
from arbkit.core.schema import Instrument, Kind
from arbkit.kpi import evaluate
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies import REGISTRY, get_strategy

#: the synthetic market: three instruments a few ticks apart, so every built-in strategy finds its assets
INSTRUMENTS = [Instrument("warm", f"X{a}", 0.1, 0.001, 2.0, 5.0, "USD", "linear_perp") for a in range(3)]


def synthetic_events(seconds: int = 20, step_ms: int = 50) -> EventColumns:
    """A five-level book image per instrument, then every ``step_ms`` one instrument's best bid or ask level
    emptied or refilled (its top moves a tick) and a trade at the touch."""
    rows = []
    ns = 1_000_000
    for a in range(len(INSTRUMENTS)):
        rows.append((0, a, Kind.CLEAR, 0, 0.0, 0.0))
        for k in range(5):
            rows += [(0, a, Kind.SNAPSHOT, 1, round(100.0 - 0.1 * k, 1), 1.0),
                     (0, a, Kind.SNAPSHOT, -1, round(100.1 + 0.1 * k, 1), 1.0)]
    rng = np.random.default_rng(0)
    for i, t in enumerate(range(step_ms * ns, seconds * 1000 * ns, step_ms * ns)):
        a, side = i % len(INSTRUMENTS), 1 if (i // len(INSTRUMENTS)) % 2 else -1
        qty = 0.0 if (i // (2 * len(INSTRUMENTS))) % 2 else float(rng.uniform(0.5, 2.0))
        rows += [(t, a, Kind.DEPTH, side, 100.0 if side > 0 else 100.1, qty),
                 (t + ns, a, Kind.TRADE, -side, 99.9 if side > 0 else 100.2, 0.2)]
    rows.sort(key=lambda r: r[0])
    cols = list(zip(*rows))
    return EventColumns.from_arrays(ts_exch=np.array(cols[0], np.int64), ts_local=np.array(cols[0], np.int64),
                                    asset=np.array(cols[1], np.int32), kind=np.array(cols[2], np.uint8),
                                    side=np.array(cols[3], np.int8), price=np.array(cols[4], np.float64),
                                    qty=np.array(cols[5], np.float64), seq=np.arange(len(rows), dtype=np.int64))


def warm() -> float:
    """Replay the synthetic market through every registered strategy, alone and batched; the seconds it took."""
    t0 = time.perf_counter()
    cols = synthetic_events()
    for name in REGISTRY:
        strategy = get_strategy(name)
        alone = replay(cols, strategy, instruments=INSTRUMENTS, latency={"entry": 1_000_000, "response": 1_000_000})
        evaluate(alone)
        for res in replay_batch(cols, strategy, [{}, {}], instruments=INSTRUMENTS):
            evaluate(res)
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"arbkit: compiled code cached ({warm():.1f} s)", file=sys.stderr)

"""The JIT-cache warm-up `make venv` runs: its synthetic market is a valid recording on which every registered
strategy is called and its books are usable, so the warm-up compiles the code real runs use."""
import numpy as np

from arbkit.apps.warm import INSTRUMENTS, synthetic_events, warm
from arbkit.book.scanner import scan_books
from arbkit.run.replay import replay
from arbkit.strategies import REGISTRY


def test_synthetic_market_is_sorted_and_two_sided():
    cols = synthetic_events()
    assert np.all(np.diff(cols.ts_local) >= 0) and len(cols) > 500
    scanner, _ = scan_books(cols, [i.tick_size for i in INSTRUMENTS])
    assert scanner.n_crossed == 0
    for a, inst in enumerate(INSTRUMENTS):
        top = scanner.final_top(a, inst.tick_size)
        assert top["bid"] is not None and top["ask"] is not None and top["bid"] < top["ask"]


def test_every_registered_strategy_is_called_and_warm_runs():
    cols = synthetic_events()
    for name in REGISTRY:
        res = replay(cols, name, instruments=INSTRUMENTS)
        assert res.counters["strategy_calls"] > 10, name
    assert warm() > 0

"""Event tables built by hand for tests."""
import numpy as np

from arbkit.core.columns import EventColumns


def make_events(rows):
    """EventColumns from a list of (ts_local, asset, kind, side, price, qty, seq) tuples (ts_exch = ts_local)."""
    rows = list(rows)
    arr = np.array(rows, dtype=object).reshape(len(rows), 7) if rows else np.zeros((0, 7))
    return EventColumns.from_arrays(
        ts_exch=arr[:, 0].astype(np.int64), ts_local=arr[:, 0].astype(np.int64), asset=arr[:, 1].astype(np.int32),
        kind=arr[:, 2].astype(np.uint8), side=arr[:, 3].astype(np.int8), price=arr[:, 4].astype(np.float64),
        qty=arr[:, 5].astype(np.float64), seq=arr[:, 6].astype(np.int64))

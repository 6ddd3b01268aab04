import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ARBKIT_SHARED_DATA", ROOT.parent / "shared" / "data" / "real"))
BINANCE_DIR = SHARED / "binance_hftbacktest_2024-08-08"
BUNDLED = ROOT / "recordings" / "binance_btc_3venues_20240808"

sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p}")
    return p


@pytest.fixture(scope="session")
def bundled():
    import arbkit
    return arbkit.load(BUNDLED)


def make_events(rows):
    """EventColumns from a list of (ts_local, asset, kind, side, price, qty, seq) tuples (ts_exch = ts_local)."""
    from arbkit.core.columns import EventColumns
    rows = list(rows)
    arr = np.array(rows, dtype=object).reshape(len(rows), 7) if rows else np.zeros((0, 7))
    return EventColumns.from_arrays(
        ts_exch=arr[:, 0].astype(np.int64), ts_local=arr[:, 0].astype(np.int64), asset=arr[:, 1].astype(np.int32),
        kind=arr[:, 2].astype(np.uint8), side=arr[:, 3].astype(np.int8), price=arr[:, 4].astype(np.float64),
        qty=arr[:, 5].astype(np.float64), seq=arr[:, 6].astype(np.int64))

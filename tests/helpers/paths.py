"""Where the tests find the repository, the bundled recording and the shared real data."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ARBKIT_SHARED_DATA", ROOT.parent / "shared" / "data" / "real"))
BINANCE_DIR = SHARED / "binance_hftbacktest_2024-08-08"
BUNDLED = ROOT / "recordings" / "binance_btc_3venues_20240808"


def shared(*parts: str) -> Path:
    """A path under the shared real data; the test is skipped when it is not there."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p}")
    return p

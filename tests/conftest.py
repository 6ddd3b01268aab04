"""Fixtures only; helpers live in tests/helpers/ (importable as ``helpers.*``: this directory is put on sys.path)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers.paths import BUNDLED  # noqa: E402


@pytest.fixture(scope="session")
def bundled():
    import arbkit
    return arbkit.load(BUNDLED)


@pytest.fixture(scope="session")
def spot_coinm(tmp_path_factory):
    """Binance BTCUSDT spot and BTCUSD_PERP COIN-M, the 2024-08-08 capture chained with its 2024-08-09
    continuation on one clock: 650.4 s, 1,229,698 events (converted once per session)."""
    from arbkit.convert import convert
    from helpers.paths import BINANCE_DIR, shared

    files = [shared(BINANCE_DIR.name, f"binance_{v}_{d}.gz") for v in ("spot_btcusdt", "cm_btcusd_perp")
             for d in ("20240808", "20240809")]
    return convert("binance", files, tmp_path_factory.mktemp("spot_coinm") / "rec")

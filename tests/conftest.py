"""Fixtures only; helpers live in tests/helpers/ (importable as ``helpers.*``: this directory is put on sys.path)."""
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: ``make test-boundscheck`` (``--hypothesis-profile=boundscheck``): the engine's tests with numba bounds
#: checks on run each property test with at most this many examples (the checks make every run slower).
settings.register_profile("boundscheck", max_examples=30, deadline=None)

from helpers.paths import BUNDLED  # noqa: E402


@pytest.fixture(scope="session")
def bundled():
    import arbkit
    return arbkit.load(BUNDLED)


def pytest_collection_modifyitems(config, items):
    """Under the ``boundscheck`` profile, cap the examples of property tests that set their own ``max_examples``
    (a test's explicit setting otherwise wins over the profile)."""
    current = getattr(settings, "get_current_profile_name", lambda: getattr(settings, "_current_profile", None))()
    if current != "boundscheck":
        return
    cap = settings.get_profile("boundscheck").max_examples
    for item in items:
        fn = getattr(item, "obj", None)
        own = getattr(fn, "_hypothesis_internal_use_settings", None)
        if own is not None and own.max_examples > cap:
            fn._hypothesis_internal_use_settings = settings(own, max_examples=cap)


@pytest.fixture(scope="session")
def spot_coinm(tmp_path_factory):
    """Binance BTCUSDT spot and BTCUSD_PERP COIN-M, the 2024-08-08 capture chained with its 2024-08-09
    continuation on one clock: 650.4 s, 1,229,698 events (converted once per session)."""
    from arbkit.convert import convert
    from helpers.paths import BINANCE_DIR, shared

    files = [shared(BINANCE_DIR.name, f"binance_{v}_{d}.gz") for v in ("spot_btcusdt", "cm_btcusd_perp")
             for d in ("20240808", "20240809")]
    return convert("binance", files, tmp_path_factory.mktemp("spot_coinm") / "rec")

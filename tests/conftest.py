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

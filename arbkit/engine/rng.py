"""A seeded splitmix64 generator whose whole state is one uint64 in an array.

The engine owns its generator (rather than numba's global ``np.random``) so that a run's
draws depend only on its seed and its own history: the same in any process, any worker,
and for each of the K parameter sets a batched sweep drives side by side.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


def new_rng(seed: int) -> np.ndarray:
    """Generator state for ``seed`` (any Python int; reduced modulo 2**64)."""
    return np.array([int(seed) % (1 << 64)], dtype=np.uint64)


@njit(cache=True)
def rng_uniform_nb(state):
    """Next float in [0, 1) with 53 random bits; advances ``state[0]``."""
    s = state[0] + _GAMMA
    state[0] = s
    z = s
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return np.float64(z >> _S11) * _INV53

"""Order-entry and response latency per asset: constant, empirical (seeded draws) or a series.

A :class:`LatencyTable` is the numba form: for asset ``a``, ``mode[a]`` picks the model,
``const[a]`` is the constant in ns, and ``values[off[a]:off[a+1]]`` (with ``times`` for a
series) holds the samples. :func:`draw_latency_nb` returns nanoseconds (>= 0).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from arbkit.engine.rng import rng_uniform_nb

MODE_CONSTANT = 0
MODE_EMPIRICAL = 1
MODE_SERIES = 2


class LatencyTable(NamedTuple):
    """Per-asset latency for the engine: constant, empirical samples or a time series."""
    mode: np.ndarray  # int64[n]
    const: np.ndarray  # int64[n] ns
    off: np.ndarray  # int64[n+1]
    values: np.ndarray  # float64[m] ns
    times: np.ndarray  # int64[m] ns (series only; 0 otherwise)


def constant_table(ns_per_asset: np.ndarray) -> LatencyTable:
    """A table with one constant latency per asset."""
    n = len(ns_per_asset)
    return LatencyTable(np.zeros(n, np.int64), np.asarray(ns_per_asset, np.int64).copy(),
                        np.zeros(n + 1, np.int64), np.zeros(0), np.zeros(0, np.int64))


def build_table(specs: list[tuple[int, int, np.ndarray, np.ndarray]]) -> LatencyTable:
    """One entry per asset: (mode, const_ns, values_ns, times_ns)."""
    n = len(specs)
    mode = np.zeros(n, np.int64)
    const = np.zeros(n, np.int64)
    off = np.zeros(n + 1, np.int64)
    vals: list[np.ndarray] = []
    times: list[np.ndarray] = []
    for a, (m, c, v, t) in enumerate(specs):
        mode[a] = m
        const[a] = c
        v = np.asarray(v, np.float64)
        t = np.asarray(t, np.int64) if m == MODE_SERIES else np.zeros(len(v), np.int64)
        off[a + 1] = off[a] + len(v)
        vals.append(v)
        times.append(t)
    values = np.concatenate(vals) if vals else np.zeros(0)
    tms = np.concatenate(times) if times else np.zeros(0, np.int64)
    return LatencyTable(mode, const, off, np.ascontiguousarray(values, np.float64), np.ascontiguousarray(tms, np.int64))


@njit(cache=True)
def draw_latency_nb(lt, a, now, rng):
    """Latency in ns for a message of asset ``a`` sent at ``now``."""
    m = lt.mode[a]
    if m == MODE_CONSTANT:
        return lt.const[a]
    lo = lt.off[a]
    hi = lt.off[a + 1]
    if m == MODE_EMPIRICAL:
        i = lo + np.int64(rng_uniform_nb(rng) * (hi - lo))
        if i >= hi:
            i = hi - 1
        return np.int64(lt.values[i])
    # series: linear interpolation in time, flat beyond the ends
    if now <= lt.times[lo]:
        return np.int64(lt.values[lo])
    if now >= lt.times[hi - 1]:
        return np.int64(lt.values[hi - 1])
    j = lo + np.searchsorted(lt.times[lo:hi], now, side="right")  # times[j-1] <= now < times[j]
    t0 = lt.times[j - 1]
    t1 = lt.times[j]
    v0 = lt.values[j - 1]
    v1 = lt.values[j]
    return np.int64(np.floor(v0 + (v1 - v0) * (now - t0) / (t1 - t0) + 0.5))

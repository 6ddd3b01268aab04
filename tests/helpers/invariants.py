"""Invariants every run must keep, checked on any result (no oracle needed): the lot grid, fill ratios, volume."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from arbkit.engine import codes as c


def on_grid(x: float, lot: float) -> bool:
    """True when ``x`` is a whole number of lots (to float precision)."""
    k = x / lot
    return abs(k - round(k)) <= 1e-9 * max(1.0, abs(k))


def assert_lot_invariants(res) -> None:
    """No fill below one lot; every fill, position and sampled position on the lot grid, exactly."""
    for f in res.fills:
        lot = res.instruments[int(f["asset"])].lot_size
        assert f["qty"] >= lot * (1 - 1e-9) and on_grid(float(f["qty"]), lot), (float(f["qty"]), lot)
    for a, inst in enumerate(res.instruments):
        lot = inst.lot_size
        units = res.accounts[a, c.A_POS_U]
        assert units == np.round(units), units  # counted in whole lots
        assert res.accounts[a, c.A_POS] == units * lot  # and the position is exactly that many lots
        assert res.accounts[a, c.A_LPOS_U] == np.round(res.accounts[a, c.A_LPOS_U])
        for p in res.equity_positions[:, a]:
            assert p == np.round(p / lot) * lot


def assert_ratios_at_most_100(kpis: dict) -> None:
    """Fill ratios and the fill rate never exceed 100 % (modified-up quantity is in the denominator)."""
    for block in [kpis["total"], *kpis["instruments"].values()]:
        for key in ("buy_fill_ratio_pct", "sell_fill_ratio_pct", "fill_rate_pct"):
            v = block[key]
            assert not v > 100.0 + 1e-9, (key, v)


def assert_volume_through_bounded(rows: list[tuple], through_fills: list) -> None:
    """``trade_through: volume``: an order's trade-through fills at one time are at most the quantity traded beyond
    its price then (trade rows of that asset and time), and all of them at most what traded then."""
    traded: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for ts, a, kind, _side, price, qty, _seq in rows:
        if kind == 3:
            traded[(a, ts)].append((price, qty))
    per_order: dict[tuple[int, int], float] = defaultdict(float)
    per_time: dict[tuple[int, int], float] = defaultdict(float)
    for f in through_fills:
        per_order[(f.order_id, f.ts)] += f.qty
        per_time[(f.asset, f.ts)] += f.qty
        beyond = sum(q for p, q in traded[(f.asset, f.ts)] if (p < f.price if f.side > 0 else p > f.price))
        assert per_order[(f.order_id, f.ts)] <= beyond + 1e-9, (f, beyond)
    for key, q in per_time.items():
        assert q <= sum(x for _, x in traded[key]) + 1e-9

"""Edge model of the arbitrage: expected edge of an entry/TP pair from the recorded spreads, under cost profiles.

The two books' tops are rebuilt at every row (``scan_books``) and carried forward per asset.
A paper trader walks that series: it enters when a direction's spread reaches ``entry_bps``,
at the touches, and closes at the first top where the round trip marked at the closing
touches gains ``tp_bps`` or loses ``stop_loss_bps``, or after ``time_limit_s`` (or at the
end). Instant fills at the touch, no queue or latency: this is the spread's own edge.

expected edge (bps) = mean gross bps of those paper round trips
                      − 2 · (taker fee A + taker fee B) · fee_scale − 4 · slippage_bps

for each cost profile in ``arbkit/conf/costs`` (optimistic, realistic, conservative). The
realised edge is the replay's mean net PnL per round trip over its entry notional.
``is_structurally_safe`` = conservative edge ≥ 0; ``is_recommended`` = realistic edge ≥
``threshold_bps`` (0.5 by default).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numba import njit

from arbkit.book.scanner import scan_books
from arbkit.conf import conf_path
from arbkit.core.errors import ConfigError
from arbkit.io.recording import Recording, load
from arbkit.strategies.arb import round_trips

COSTS_DIR = conf_path("costs")
PROFILES = ("optimistic", "realistic", "conservative")


@dataclass(frozen=True)
class CostProfile:
    """A cost profile: taker fees scaled by ``fee_scale`` plus ``slippage_bps`` per leg."""
    name: str
    fee_scale: float = 1.0
    slippage_bps: float = 0.0

    @classmethod
    def load(cls, name: str) -> "CostProfile":
        """A profile from arbkit/conf/costs by name, or a YAML path."""
        import yaml

        p = COSTS_DIR / f"{name}.yaml"
        if not p.is_file():
            raise ConfigError(f"cost profile {name!r}: no such file {p}")
        d = yaml.safe_load(p.read_text()) or {}
        unknown = set(d) - {"name", "fee_scale", "slippage_bps"}
        if unknown:
            raise ConfigError(f"{p}: unknown key(s) {sorted(unknown)}")
        prof = cls(str(d.get("name", name)), float(d.get("fee_scale", 1.0)), float(d.get("slippage_bps", 0.0)))
        if prof.fee_scale < 0 or prof.slippage_bps < 0:
            raise ConfigError(f"{p}: fee_scale and slippage_bps must be >= 0")
        return prof


def aligned_tops(cols, a: int, b: int, tick_sizes) -> np.ndarray:
    """Rows where both books have a top: columns bid_a, ask_a, bid_b, ask_b, ts."""

    _, tops = scan_books(cols, tick_sizes, record_tops=True)
    out = np.full((len(cols), 4), np.nan)
    for j, asset in enumerate((a, b)):
        mine = cols.asset == asset
        idx = np.where(mine, np.arange(len(cols)), -1)
        np.maximum.accumulate(idx, out=idx)
        ok = idx >= 0
        out[ok, 2 * j] = tops[idx[ok], 0]
        out[ok, 2 * j + 1] = tops[idx[ok], 2]
    keep = ~np.isnan(out).any(axis=1)
    return np.column_stack([out[keep], cols.ts_local[keep].astype(np.float64)])


@njit(cache=True)
def paper_round_trips_nb(bid_a, ask_a, bid_b, ask_b, ts, entry_bps, tp_bps, stop_bps, limit_ns):
    """Gross bps of each paper round trip (see module doc) and its direction."""
    n = bid_a.shape[0]
    out = np.zeros(n)
    dirs = np.zeros(n, np.int64)
    k = 0
    i = 0
    while i < n:
        mid = 0.5 * (bid_a[i] + ask_a[i])
        up = (bid_b[i] - ask_a[i]) / mid * 1e4
        down = (bid_a[i] - ask_b[i]) / mid * 1e4
        d = 0
        if up >= entry_bps and up >= down:
            d = 1
        elif down >= entry_bps:
            d = -1
        if d == 0:
            i += 1
            continue
        p_long = ask_a[i] if d > 0 else ask_b[i]
        p_short = bid_b[i] if d > 0 else bid_a[i]
        ref = ask_a[i] if d > 0 else bid_a[i]
        t0 = ts[i]
        j = i + 1
        pnl = 0.0
        while j < n:
            close_long = bid_a[j] if d > 0 else bid_b[j]
            close_short = ask_b[j] if d > 0 else ask_a[j]
            pnl = ((close_long - p_long) + (p_short - close_short)) / ref * 1e4
            if pnl >= tp_bps or pnl <= -stop_bps or ts[j] - t0 >= limit_ns:
                break
            j += 1
        if j >= n:
            j = n - 1
        out[k] = pnl
        dirs[k] = d
        k += 1
        i = j + 1
    return out[:k], dirs[:k]


_TOPS_CACHE: dict[tuple, np.ndarray] = {}


def _tops(rec: Any, a: int, b: int) -> np.ndarray:
    """Aligned tops of a and b, kept for the last few recordings (a sweep asks once per parameter set)."""
    key = (str(rec.path), tuple(p.sha256 for p in rec.manifest.parts), a, b)
    if key not in _TOPS_CACHE:
        if len(_TOPS_CACHE) >= 4:
            _TOPS_CACHE.pop(next(iter(_TOPS_CACHE)))
        _TOPS_CACHE[key] = aligned_tops(rec.to_numpy(), a, b, [i.tick_size for i in rec.instruments])
    return _TOPS_CACHE[key]


def edge_report(recording: Any, params: Mapping[str, float], *, result: Any = None, threshold_bps: float = 0.5,
                profiles: tuple[str, ...] = PROFILES) -> dict[str, Any]:
    """Expected edge per cost profile, realised edge (when ``result`` is an arb replay), and the two flags."""

    rec = recording if isinstance(recording, Recording) else load(recording)
    a, b = int(params["asset_a"]), int(params["asset_b"])
    insts = rec.instruments
    tops = _tops(rec, a, b)
    gross, dirs = paper_round_trips_nb(tops[:, 0], tops[:, 1], tops[:, 2], tops[:, 3], tops[:, 4],
                                    float(params["entry_bps"]), float(params["tp_bps"]),
                                    float(params.get("stop_loss_bps", 1e9)), float(params.get("time_limit_s", 1e9)) * 1e9)
    fees = insts[a].taker_fee_bps + insts[b].taker_fee_bps
    mean_gross = float(gross.mean()) if len(gross) else float("nan")
    out: dict[str, Any] = {"paper_round_trips": int(len(gross)), "gross_edge_bps": mean_gross, "profiles": {}}
    for name in profiles:
        prof = CostProfile.load(name)
        cost = 2.0 * fees * prof.fee_scale + 4.0 * prof.slippage_bps
        out["profiles"][name] = {"fee_scale": prof.fee_scale, "slippage_bps": prof.slippage_bps, "cost_bps": cost,
                                 "edge_bps": mean_gross - cost if len(gross) else float("nan")}
        out[f"edge_{name}"] = out["profiles"][name]["edge_bps"]
    if result is not None:
        trips = [t for t in round_trips(result) if t["exit_reason"] != "end_of_data"]
        size = float(result.params.get("order_size", 0.0))
        per = [t["pnl_net"] / (size * _entry_price(result, t)) * 1e4 for t in trips if size > 0]
        out["realised_edge_bps"] = float(np.mean(per)) if per else float("nan")
        out["realised_round_trips"] = len(per)
    cons = out.get("edge_conservative", float("nan"))
    real = out.get("edge_realistic", float("nan"))
    out["is_structurally_safe"] = bool(cons >= 0) if cons == cons else False
    out["is_recommended"] = bool(real >= threshold_bps) if real == real else False
    out["threshold_bps"] = threshold_bps
    return out


def _entry_price(result: Any, trip: Mapping[str, Any]) -> float:
    f = result.fills[np.isin(result.fills["order_id"], trip["orders"][:1])]
    return float(f["price"][0]) if len(f) else float("nan")

"""The trade log: one JSON-ready line per fill with its decision context (finished runs and live paper runs)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from arbkit.core.schema import Instrument
from arbkit.engine import codes as c


class TradeLog:
    """Trade-log lines built fill by fill (it keeps inventory, cash and fees): for a finished
    Result (:meth:`RunResult.trades_jsonl`) and for a live paper run appending as fills happen."""

    def __init__(self, instruments: list[Instrument], strategy: str, params: dict[str, float]) -> None:
        self.instruments = instruments
        self.strategy = strategy
        self.params = params
        n = len(instruments)
        self.pos = np.zeros(n)
        self.cash = np.zeros(n)
        self.last_px = np.full(n, np.nan)
        self.fees = 0.0
        self._linear_size = np.array([i.contract_size if not i.contract_type.startswith("inverse") else 0.0
                                      for i in instruments])

    def line(self, f: Any, notes: np.ndarray) -> dict[str, Any]:
        """The JSON-ready line of fill ``f`` (``notes``: the strategy's annotations so far)."""
        a = int(f["asset"])
        inst = self.instruments[a]
        side, px, q = int(f["side"]), float(f["price"]), float(f["qty"])
        inverse = inst.contract_type.startswith("inverse")
        fee_q = float(f["fee"]) * (px if inverse else 1.0)
        before = float(self.pos[a])
        reward = int(f["kind"]) == c.FK_REWARD  # a liquidity reward: price is the cash credited, no position or mark
        self.pos[a] += side * q
        flow = q * inst.contract_size if inverse else q * px * inst.contract_size  # quote value
        self.cash[a] -= side * flow
        if reward:
            self.cash[a] += px
        else:
            self.last_px[a] = px
        self.fees += fee_q
        marked = float(np.nansum(self.cash + self.pos * np.nan_to_num(self.last_px) * self._linear_size))
        bid, ask = float(f["best_bid"]), float(f["best_ask"])
        mid = 0.5 * (bid + ask)
        note_ts = notes[:, 0] if len(notes) else np.zeros(0)
        k = int(np.searchsorted(note_ts, float(f["ts"]), side="right")) - 1
        context = None
        if k >= 0:
            row = notes[k]
            context = {"code": int(row[1]), "values": [float(v) for v in row[2:]], "ts": int(row[0])}
        line = {
            "ts": int(f["ts"]), "ts_seen": int(f["ts_seen"]), "instrument": inst.key,
            "order_id": int(f["order_id"]), "side": "reward" if reward else "buy" if side > 0 else "sell", "price": px,
            "qty": q,
            "liquidity": "maker" if f["maker"] else "taker", "level": int(f["level"]), "fee": float(f["fee"]),
            "best_bid": bid, "best_ask": ask,
            "spread_bps": (ask - bid) / mid * 1e4 if mid == mid and mid > 0 else None,
            "inventory_before": before, "inventory_after": float(self.pos[a]),
            "fees_so_far": self.fees, "pnl_so_far": marked - self.fees if not inverse else None,
            "strategy": self.strategy, "params": self.params, "context": context,
        }
        return _finite(line)


def _finite(x: Any) -> Any:
    """NaN/inf -> None, recursively (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x

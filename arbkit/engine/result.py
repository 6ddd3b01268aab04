"""What a replay returns: fills, order log, equity samples, counters, positions and a fills hash."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arbkit.engine import codes as c
from arbkit.core.schema import Instrument


def fills_hash(fills: np.ndarray) -> str:
    """sha256 over the fills' bytes (fixed packed dtype), the run's fingerprint."""
    arr = np.ascontiguousarray(fills, dtype=c.FILL_DTYPE)
    return hashlib.sha256(arr.tobytes()).hexdigest()


@dataclass
class Result:
    """One replay's output. ``fills`` and ``orders`` are structured arrays (see ``codes.FILL_DTYPE``)."""

    instruments: list[Instrument]
    strategy: str
    params: dict[str, float]
    seed: int
    config: dict[str, Any]
    fills: np.ndarray
    orders: np.ndarray
    equity_ts: np.ndarray
    equity_values: np.ndarray  # [S, n+1] per-asset equity then total, quote currency
    equity_positions: np.ndarray  # [S, n]
    counters: dict[str, int]
    accounts: np.ndarray  # [n, NA] final per-asset account (truth, exchange side)
    span_ns: tuple[int, int]
    notes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2 + c.NOTE_VALUES)))  # strategy annotations
    guards: dict[str, Any] = field(default_factory=dict)  # per guard: blocks, longest run, stuck; kill switch
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fills_hash(self) -> str:
        """sha256 of the fills: the run's fingerprint."""
        return fills_hash(self.fills)

    @property
    def pnl(self) -> float:
        """Final equity (cash + positions at the last mid), quote currency, all assets."""
        from arbkit.engine.accounting import total_equity
        from arbkit.engine.config import instrument_matrix
        return float(total_equity(self.accounts, instrument_matrix(self.instruments)))

    def positions(self) -> dict[str, float]:
        """Final position per instrument."""
        return {inst.key: float(self.accounts[a, c.A_POS]) for a, inst in enumerate(self.instruments)}

    def account_table(self) -> pl.DataFrame:
        """Per instrument: position, cash, average entry, realised PnL, fees, volume, last mid."""
        from arbkit.engine.accounting import asset_equity, unrealised
        from arbkit.engine.config import instrument_matrix
        im = instrument_matrix(self.instruments)
        rows = []
        for a, inst in enumerate(self.instruments):
            acc = self.accounts[a]
            rows.append({
                "instrument": inst.key, "position": acc[c.A_POS], "cash": acc[c.A_CASH], "avg_entry": acc[c.A_AVG],
                "realised": acc[c.A_REAL], "unrealised": float(unrealised(self.accounts, im, a)), "fees": acc[c.A_FEES],
                "volume": acc[c.A_VOL], "mid": acc[c.A_MID], "equity_quote": float(asset_equity(self.accounts, im, a)),
            })
        return pl.DataFrame(rows)

    def fills_frame(self) -> pl.DataFrame:
        """The fills as a polars DataFrame (with the instrument key)."""
        df = pl.from_numpy(self.fills)
        keys = [i.key for i in self.instruments]
        return df.with_columns(pl.col("asset").map_elements(lambda a: keys[a], return_dtype=pl.Utf8).alias("instrument")) \
            if len(df) else df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("instrument"))

    def orders_frame(self) -> pl.DataFrame:
        """The order log as a polars DataFrame with names."""
        df = pl.from_numpy(self.orders)
        return df.with_columns(
            pl.col("event").map_elements(lambda e: c.ORDER_EVENT_NAMES[e], return_dtype=pl.Utf8).alias("event_name"),
            pl.col("status").map_elements(lambda s: c.STATUS_NAMES[s], return_dtype=pl.Utf8).alias("status_name"),
            pl.col("reason").map_elements(lambda r: c.REASON_NAMES[r], return_dtype=pl.Utf8).alias("reason_name"),
            pl.col("type").map_elements(lambda t: c.ORDER_TYPE_NAMES[t], return_dtype=pl.Utf8).alias("type_name"),
        ) if len(df) else df

    def equity_frame(self) -> pl.DataFrame:
        """Equity and positions per sample as a polars DataFrame."""
        cols: dict[str, Any] = {"ts": self.equity_ts}
        for a, inst in enumerate(self.instruments):
            cols[f"equity:{inst.key}"] = self.equity_values[:, a]
            cols[f"position:{inst.key}"] = self.equity_positions[:, a]
        cols["equity"] = self.equity_values[:, len(self.instruments)] if len(self.equity_ts) else np.zeros(0)
        return pl.DataFrame(cols)

    def summary(self) -> dict[str, Any]:
        """One JSON-able dict: events, fills, fills_hash, pnl, fees, positions, counters."""
        return {
            "strategy": self.strategy, "params": self.params, "seed": self.seed,
            "events": self.counters["events"], "fills": int(len(self.fills)), "fills_hash": self.fills_hash,
            "pnl": self.pnl, "fees": {i.key: float(self.accounts[a, c.A_FEES]) for a, i in enumerate(self.instruments)},
            "positions": self.positions(), "counters": self.counters, "guards": self.guards,
            "start_ns": self.span_ns[0], "end_ns": self.span_ns[1],
        }

    def trades_jsonl(self, path: str | Path) -> Path:
        """One JSON line per fill with its decision context; returns the path.

        Each line: time, instrument, order, side, price, qty, maker/taker, level, fee, the
        book top and its spread at the fill, inventory before and after, fees and PnL so far
        (cash + positions marked at each instrument's last fill price, quote currency, linear
        instruments; None on inverse ones), the
        strategy and its parameters, and the strategy's last annotation before the fill (the
        market maker's reservation price/spread/sigma^2/q, the arbitrage's round-trip events).
        """
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        log = TradeLog(self.instruments, self.strategy, self.params)
        tmp = p.with_suffix(p.suffix + ".tmp")
        with tmp.open("w") as out:
            for f in self.fills:
                out.write(json.dumps(log.line(f, self.notes)) + "\n")
        tmp.replace(p)
        return p

    def to_json(self) -> str:
        """The summary as JSON."""
        return json.dumps(self.summary(), sort_keys=True)

    # -- notebook API: tables and figures ---------------------------------------------------------

    def kpis(self) -> pl.DataFrame:
        """The KPIs as a table: one row per KPI, a ``total`` column and one per instrument."""
        from arbkit.kpi import compute_kpis
        trips = None
        if self.strategy == "arb":
            from arbkit.strategies.arb import round_trips
            trips = round_trips(self)
        k = compute_kpis(self, round_trips=trips)
        blocks = {"total": k["total"], **k.get("instruments", {})}
        names = [n for n, v in k["total"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return pl.DataFrame({"kpi": names, **{col: [float(b[n]) if isinstance(b.get(n), (int, float)) else None
                                                    for n in names] for col, b in blocks.items()}})

    def plot_equity(self):
        """Equity and drawdown over the run (a matplotlib Figure)."""
        from arbkit.report.figures import equity_figure
        return equity_figure(self)

    def plot_inventory(self):
        """Position per instrument over the run."""
        from arbkit.report.figures import inventory_figure
        return inventory_figure(self)

    def plot_fills(self):
        """Fills on price with the book top at each fill."""
        from arbkit.report.figures import fills_figure
        return fills_figure(self)

    def plot_spread(self, recording: Any):
        """Arbitrage: the legs' cross-spread distribution with the entry and take-profit lines."""
        from arbkit.report.figures import spread_figure
        return spread_figure(self, recording)

    def plot_quotes(self, recording: Any, window_s: tuple[float, float] | None = None):
        """Market making: own quotes against the book's best bid/ask in a window (seconds into the run)."""
        from arbkit.report.figures import quotes_figure
        return quotes_figure(self, recording, window_s=window_s)

    def report(self, path: str | Path, *, recording: Any = None, gates: tuple[str, ...] = ()) -> Path:
        """Write a markdown report with PNG figures (see :func:`arbkit.report.run_report`)."""
        from arbkit.report import run_report
        return run_report(self, path, recording=recording, gates=gates)


class TradeLog:
    """Trade-log lines built fill by fill (it keeps inventory, cash and fees): for a finished
    Result (:meth:`Result.trades_jsonl`) and for a live paper run appending as fills happen."""

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
        self.pos[a] += side * q
        flow = q * inst.contract_size if inverse else q * px * inst.contract_size  # quote value
        self.cash[a] -= side * flow
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
            "order_id": int(f["order_id"]), "side": "buy" if side > 0 else "sell", "price": px, "qty": q,
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

"""What a replay returns: fills, order log, equity samples, counters, positions and a fills hash.

Plain data and the tables made from it; the analysis (KPIs, figures, reports) lives on
:class:`arbkit.run.result.RunResult`, which the replay functions return.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb, total_equity_nb, unrealised_nb
from arbkit.engine.config import instrument_matrix
from arbkit.core.schema import Instrument


def fills_hash(fills: np.ndarray) -> str:
    """sha256 over the fills' bytes (fixed packed dtype), the run's fingerprint."""
    arr = np.ascontiguousarray(fills, dtype=c.FILL_DTYPE)
    return hashlib.sha256(arr.tobytes()).hexdigest()


#: the fill fields that do not depend on which other instruments shared the run (asset index and order ids do)
_OWN_FIELDS = [n for n in c.FILL_DTYPE.names if n not in ("asset", "order_id")]


def instrument_fills_hash(fills: np.ndarray, asset: int) -> str:
    """sha256 over one instrument's fills without the asset index and order ids: equal for the same instrument's
    fills whether it ran alone or beside others (with latencies that draw no random numbers)."""
    sel = np.ascontiguousarray(fills[fills["asset"] == asset], dtype=c.FILL_DTYPE)
    return hashlib.sha256(b"".join(sel[n].tobytes() for n in _OWN_FIELDS)).hexdigest()


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
    user_state: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the strategy's own state at the end
    notices: list[str] = field(default_factory=list)  # what the run should be told: an empty window, rows left out
    #: per equity sample: the exact running max drawdown then time in market (ns), per asset and total [S, 2(n+1)]
    equity_marks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    #: exact max drawdown from the starting equity (quote currency), per asset then total [n+1]
    max_drawdowns: np.ndarray = field(default_factory=lambda: np.zeros(1))
    #: exact time with a non-zero position up to the end of the run (ns), per asset then any [n+1]
    time_in_market_ns: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    #: crossed books seen (allowed): count and the first (row, ts, instrument); None when there were none
    crossed: dict[str, Any] | None = None
    #: wall time spent in the engine's loops (ns) and the strategy calls it made there (a batched pass: every set's
    #: calls and the pass's time, shared); measured, so never part of the fills or their hash
    engine_ns: int | None = None
    engine_calls: int | None = None
    #: the funding ledger: one row per funding time and instrument held (``codes.FUNDING_DTYPE``)
    funding: np.ndarray = field(default_factory=lambda: np.zeros(0, c.FUNDING_DTYPE))

    @property
    def fills_hash(self) -> str:
        """sha256 of the fills: the run's fingerprint."""
        return fills_hash(self.fills)

    @property
    def n_trades(self) -> int:
        """Fill-log rows that are trades (settlement, merge and reward rows are not)."""
        return int(np.count_nonzero(self.fills["kind"] == c.FK_TRADE))

    def fills_hash_by_instrument(self) -> dict[str, str]:
        """Per instrument (``venue:symbol``): :func:`instrument_fills_hash` of its fills."""
        return {inst.key: instrument_fills_hash(self.fills, a) for a, inst in enumerate(self.instruments)}

    @property
    def pnl(self) -> float:
        """Final equity (cash + positions at the last mid), quote currency, all assets."""
        return float(total_equity_nb(self.accounts, instrument_matrix(self.instruments)))

    def positions(self) -> dict[str, float]:
        """Final position per instrument."""
        return {inst.key: float(self.accounts[a, c.A_POS]) for a, inst in enumerate(self.instruments)}

    def account_table(self) -> pl.DataFrame:
        """Per instrument: position, cash, average entry, realised PnL, fees, funding, volume, last mid."""
        im = instrument_matrix(self.instruments)
        rows = []
        for a, inst in enumerate(self.instruments):
            acc = self.accounts[a]
            rows.append({
                "instrument": inst.key, "position": acc[c.A_POS], "cash": acc[c.A_CASH], "avg_entry": acc[c.A_AVG],
                "realised": acc[c.A_REAL], "unrealised": float(unrealised_nb(self.accounts, im, a)), "fees": acc[c.A_FEES],
                "funding": acc[c.A_FUNDING], "volume": acc[c.A_VOL], "mid": acc[c.A_MID], "equity_quote": float(asset_equity_nb(self.accounts, im, a)),
            })
        return pl.DataFrame(rows)

    def fills_frame(self) -> pl.DataFrame:
        """The fills as a polars DataFrame (with the instrument key)."""
        df = pl.from_numpy(self.fills)
        keys = [i.key for i in self.instruments]
        return df.with_columns(pl.col("asset").map_elements(lambda a: keys[a], return_dtype=pl.Utf8).alias("instrument")) \
            if len(df) else df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("instrument"))

    def funding_frame(self) -> pl.DataFrame:
        """The funding ledger as a polars DataFrame (with the instrument key)."""
        df = pl.from_numpy(self.funding)
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
            "events": self.counters["events"], "fills": self.n_trades, "fill_rows": int(len(self.fills)), "fills_hash": self.fills_hash,
            "pnl": self.pnl, "fees": {i.key: float(self.accounts[a, c.A_FEES]) for a, i in enumerate(self.instruments)},
            "funding": {i.key: float(self.accounts[a, c.A_FUNDING]) for a, i in enumerate(self.instruments)},
            "positions": self.positions(), "counters": self.counters, "guards": self.guards,
            "start_ns": self.span_ns[0], "end_ns": self.span_ns[1],
            **({"notices": list(self.notices)} if self.notices else {}),
        }

    def to_json(self) -> str:
        """The summary as JSON."""
        return json.dumps(self.summary(), sort_keys=True)

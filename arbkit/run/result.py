"""A replay's Result with the notebook API: KPIs, figures, the markdown report and the trade log.

The engine's :class:`~arbkit.engine.result.Result` is plain data; :class:`RunResult` adds
the methods that need the layers above it (kpi, report, strategies). ``arbkit.replay``,
``replay_batch`` and the paper runner return it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from arbkit.core.errors import ConfigError
from arbkit.engine.result import Result
from arbkit.engine.strategy import Strategy
from arbkit.kpi import Evaluation, evaluate
from arbkit.kpi.evaluation import GateSpec
from arbkit.report import run_report
from arbkit.report.figures import equity_figure, fills_figure, inventory_figure, quotes_figure, spread_figure
from arbkit.run.trade_log import TradeLog


@dataclass
class RunResult(Result):
    """One replay's output with its analysis methods (``evaluate()``, ``kpis()``, ``plot_*()``, ``report()``,
    ``trades_jsonl()``). ``spec`` is the Strategy it was replayed with (its analysis hooks)."""

    spec: Strategy | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, result: Result, spec: Strategy | None = None) -> "RunResult":
        """The same run's data (no copies) as a RunResult replayed with ``spec``."""
        return cls(**{f.name: getattr(result, f.name) for f in fields(Result)}, spec=spec)

    def evaluate(self, gate: GateSpec | Sequence[GateSpec] | None = None, costs: str = "realistic") -> Evaluation:
        """KPIs, round trips, edge, gate verdicts and objective (see :func:`arbkit.kpi.evaluate`)."""
        return evaluate(self, gate=gate, costs=costs)

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

    def kpis(self) -> pl.DataFrame:
        """The KPIs as a table: one row per KPI, a ``total`` column and one per instrument."""
        k = evaluate(self).kpis
        blocks = {"total": k["total"], **k.get("instruments", {})}
        names = [n for n, v in k["total"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return pl.DataFrame({"kpi": names, **{col: [float(b[n]) if isinstance(b.get(n), (int, float)) else None
                                                    for n in names] for col, b in blocks.items()}})

    def plot_equity(self):
        """Equity and drawdown over the run (a matplotlib Figure)."""
        return equity_figure(self)

    def plot_inventory(self):
        """Position per instrument over the run."""
        return inventory_figure(self)

    def plot_fills(self):
        """Fills on price with the book top at each fill."""
        return fills_figure(self)

    def plot_spread(self):
        """A strategy with an edge model (the arbitrage): the spreads it saw, with the entry and take-profit lines."""
        spreads = evaluate(self).spreads
        if spreads is None:
            raise ConfigError(f"plot_spread: strategy {self.strategy!r} has no edge model, so no spread histogram")
        return spread_figure(self, spreads)

    def plot_quotes(self, recording: Any, window_s: tuple[float, float] | None = None):
        """Market making: own quotes against the book's best bid/ask in a window (seconds into the run)."""
        return quotes_figure(self, recording, window_s=window_s)

    def report(self, path: str | Path, *, recording: Any = None, gates: tuple[str, ...] = ()) -> Path:
        """Write a markdown report with PNG figures (see :func:`arbkit.report.run_report`)."""
        return run_report(self, path, recording=recording, gates=gates)

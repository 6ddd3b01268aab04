"""Per-market KPIs of binary-outcome runs: settled and mark-to-mid PnL side by side, net exposure (YES − NO).

A market is the instruments sharing a ``market_id`` (a complementary pair). Settled PnL is
the equity after the engine paid the positions out at resolution; mark-to-mid PnL values the
same positions at the last mid instead (``A_SETTLE_ADJ`` holds the difference). A market with
no known winner is marked to mid and says so (``resolution: "marked_to_mid"``). Liquidity rewards
(reward rows, :mod:`arbkit.engine.rewards`) are in both PnLs; ``*_ex_rewards`` leave them out.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from arbkit.core.schema import markets_of
from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb
from arbkit.engine.config import instrument_matrix
from arbkit.kpi.compute import fill_rate_pct

#: the market block's KPIs: name -> (unit, meaning)
MARKET_KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "resolution": ("text", "settled (the winner was known: positions paid 1 or 0 at the resolution time) or "
                           "marked_to_mid (no known winner: PnL values positions at the last mid)"),
    "winner": ("text", "the winning outcome, when known"),
    "pnl_settled": ("quote currency", "cash after the payout at resolution, fees included (NaN when not settled)"),
    "pnl_marked": ("quote currency", "the same positions valued at their last mid instead of the payout"),
    "net_exposure": ("tokens", "YES − NO held at the end, before any payout (the first instrument of the pair is YES)"),
    "net_exposure_max_abs": ("tokens", "largest |YES − NO| during the run (from the fills and merges)"),
    "time_within_limit_pct": ("%", "time with |YES − NO| <= the strategy's max net exposure / the run's span, until "
                                   "the resolution (NaN with no limit)"),
    "fills": ("count", "trades of the market's instruments (payouts and merges are not trades)"),
    "fill_rate_pct": ("%", "filled quantity / quoted quantity of the market's instruments"),
    "quote_count": ("count", "limit orders sent plus modifies on the market's instruments"),
    "merges": ("count", "YES + NO pairs merged into cash (merge rows / 2)"),
    "rewards": ("quote currency", "liquidity rewards credited (the sum of the market's reward rows; 0 when off)"),
    "pnl_settled_ex_rewards": ("quote currency", "pnl_settled less the rewards"),
    "pnl_marked_ex_rewards": ("quote currency", "pnl_marked less the rewards"),
}


def _net_path(fills: np.ndarray, yes: int, no: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Times and YES − NO after each trade or merge row of the pair (payout and reward rows left out)."""
    rows = fills[((fills["kind"] == c.FK_TRADE) | (fills["kind"] == c.FK_MERGE)) & ((fills["asset"] == yes) | (fills["asset"] == (-9 if no is None else no)))]
    sign = np.where(rows["asset"] == yes, 1.0, -1.0)
    return rows["ts"], np.cumsum(sign * np.where(rows["side"] > 0, 1.0, -1.0) * rows["qty"])


def _within_pct(ts: np.ndarray, net: np.ndarray, limit: float, start: int, end: int) -> float:
    if not limit > 0 or end <= start:
        return float("nan")
    times = (np.concatenate(([start], np.clip(ts, start, end), [end])) - start).astype(np.float64)
    values = np.concatenate(([0.0], net))
    inside = np.abs(values) <= limit + 1e-9
    return float(np.sum(np.diff(times) * inside) / (end - start) * 100.0)


def market_kpis(result: Any, limits: Mapping[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """One block per market (see :data:`MARKET_KPI_DEFINITIONS`) and ``total``; empty for runs with no binary market.

    ``limits``: max net exposure per market id (a strategy's per-market limit) for ``time_within_limit_pct``.
    """
    groups = markets_of(result.instruments)
    if not groups:
        return {}
    im = instrument_matrix(result.instruments)
    acct = result.accounts
    fills, orders = result.fills, result.orders
    start, end = result.span_ns
    out: dict[str, dict[str, Any]] = {}
    for market, assets in groups.items():
        yes, no = assets[0], (assets[1] if len(assets) > 1 else None)
        equity = float(sum(np.nan_to_num(asset_equity_nb(acct, im, a)) for a in assets))
        adj = float(sum(acct[a, c.A_SETTLE_ADJ] for a in assets))
        settled = all(acct[a, c.A_SETTLED] != 0.0 for a in assets)
        sel = fills[np.isin(fills["asset"], assets)]
        trades = sel[sel["kind"] == c.FK_TRADE]
        osel = orders[np.isin(orders["asset"], assets)]
        ts, net = _net_path(fills, yes, no)
        inst = result.instruments[yes]
        stop = inst.resolution_ts if settled and inst.resolution_ts is not None else end
        submits = osel[osel["event"] == c.EV_SUBMIT]
        rewards = float(sel["price"][sel["kind"] == c.FK_REWARD].sum())
        pnl_settled = equity if settled else float("nan")
        out[market] = {
            "instruments": [result.instruments[a].key for a in assets],
            "resolution": "settled" if settled else "marked_to_mid",
            "winner": inst.winner if settled else None,
            "pnl_settled": pnl_settled,
            "pnl_marked": equity - adj,
            "net_exposure": float(net[-1]) if len(net) else 0.0,
            "net_exposure_max_abs": float(np.max(np.abs(net))) if len(net) else 0.0,
            "time_within_limit_pct": _within_pct(ts, net, float((limits or {}).get(market, 0.0)), start,
                                                 max(start, min(end, stop))),
            "fills": int(len(trades)),
            "fill_rate_pct": fill_rate_pct(trades, osel) if len(osel) else float("nan"),
            "quote_count": int(np.sum((submits["type"] == c.LIMIT) | (submits["type"] == c.POST_ONLY))
                               + np.sum(osel["event"] == c.EV_MODIFY)),
            "merges": int(np.sum(sel["kind"] == c.FK_MERGE) // 2),
            "rewards": rewards,
            "pnl_settled_ex_rewards": pnl_settled - rewards,
            "pnl_marked_ex_rewards": equity - adj - rewards,
        }
    blocks = list(out.values())
    all_settled = all(b["resolution"] == "settled" for b in blocks)
    out["total"] = {
        "resolution": "settled" if all_settled else "marked_to_mid" if not any(
            b["resolution"] == "settled" for b in blocks) else "partly_settled",
        "pnl_settled": float(sum(b["pnl_settled"] for b in blocks)) if all_settled else float("nan"),
        "pnl_marked": float(sum(b["pnl_marked"] for b in blocks)),
        "fills": int(sum(b["fills"] for b in blocks)),
        "quote_count": int(sum(b["quote_count"] for b in blocks)),
        "merges": int(sum(b["merges"] for b in blocks)),
        "rewards": float(sum(b["rewards"] for b in blocks)),
        "pnl_settled_ex_rewards": float(sum(b["pnl_settled_ex_rewards"] for b in blocks)) if all_settled else float("nan"),
        "pnl_marked_ex_rewards": float(sum(b["pnl_marked_ex_rewards"] for b in blocks)),
        "markets": len(blocks),
    }
    return out

"""Every KPI arbkit reports: snake_case name -> (unit, meaning). The one place they are defined."""
from __future__ import annotations

KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "round_trips": ("count", "flat -> position -> flat cycles (per instrument from its fills; the total sums them)"),
    "win_rate_pct": ("%", "round trips with net PnL > 0, over all round trips"),
    "exit_reasons": ("count and %", "round trips by exit reason (strategies that record reasons; else 'flat')"),
    "total_pnl": ("quote currency", "cash + positions marked at the last mid, after fees"),
    "avg_pnl_per_rt": ("quote currency", "net PnL of closed round trips / round trips"),
    "fees_paid": ("quote currency", "fees charged (negative = rebates earned); inverse fees converted at the fill price"),
    "buy_fill_ratio_pct": ("%", "filled buy quantity / submitted buy quantity"),
    "sell_fill_ratio_pct": ("%", "filled sell quantity / submitted sell quantity"),
    "maker_fill_ratio_pct": ("%", "maker fill quantity / all filled quantity"),
    "slippage_avg_bps": ("bps", "quantity-weighted taker cost vs the touch met on arrival (positive = worse)"),
    "max_drawdown": ("quote currency", "largest fall of equity from a previous peak (equity samples and the final mark)"),
    "sharpe": ("ratio", "mean / stdev of per-interval equity changes x sqrt(intervals per 365 days); no capital base"),
    "profitable_hours_pct": ("%", "clock hours whose equity change is > 0, over hours with samples"),
    "inventory_max_abs": ("contracts", "largest |position| in the equity samples and fills"),
    "inventory_p95_abs": ("contracts", "95th percentile of |position| over the equity samples"),
    "time_in_market_pct": ("%", "equity samples with a non-zero position"),
    "quote_count": ("count", "limit orders sent plus modifies (quotes placed)"),
    "orders": ("count", "orders sent"),
    "cancels": ("count", "cancels sent"),
    "rejects": ("count", "orders rejected (before sending or by the exchange)"),
    "fills": ("count", "fill rows"),
    "volume": ("contracts", "filled quantity"),
    "blocks": ("count per guard", "orders each risk guard refused (total block only; see Result.guards)"),
}

"""Every KPI arbkit reports: snake_case name -> (unit, meaning). The one place they are defined."""
from __future__ import annotations

KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "round_trips": ("count", "flat -> position -> flat cycles (per instrument from its fills; the total sums them)"),
    "win_rate_pct": ("%", "round trips with net PnL > 0, over all round trips"),
    "exit_reasons": ("count and %", "round trips by exit reason (strategies that record reasons; else 'flat')"),
    "total_pnl": ("quote currency", "cash + positions marked at the last mid, after fees"),
    "avg_pnl_per_rt": ("quote currency", "net PnL of closed round trips / round trips"),
    "fees_paid": ("quote currency", "fees charged (negative = rebates earned); inverse fees converted at the fill price"),
    "buy_fill_ratio_pct": ("%", "filled buy quantity / quoted buy quantity (submitted plus the increases of accepted "
                                "modifies); at most 100"),
    "sell_fill_ratio_pct": ("%", "filled sell quantity / quoted sell quantity (submitted plus modified up); at most 100"),
    "fill_rate_pct": ("%", "filled quantity / quoted quantity (submitted plus modified up), both sides; the live "
                           "state's fill_rate_pct is the same"),
    "maker_fill_ratio_pct": ("%", "maker fill quantity / all filled quantity"),
    "slippage_avg_bps": ("bps", "quantity-weighted taker cost vs the touch met on arrival (positive = worse)"),
    "max_drawdown": ("quote currency", "largest fall of equity from its running peak, the peak starting at the starting "
                                       "equity (0); exact: the engine evaluates equity at every fill and every mid move "
                                       "of an instrument held (checkpoints: as of the last equity sample before them)"),
    "sharpe": ("ratio", "mean / stdev of per-interval equity changes x sqrt(intervals per 365 days); no capital base"),
    "profitable_hours_pct": ("%", "clock hours whose equity change is > 0, over hours with samples"),
    "inventory_max_abs": ("contracts", "largest |position| any instrument reached (running sum of its fills)"),
    "inventory_p95_abs": ("contracts", "95th percentile of |position| over the equity samples"),
    "time_in_market_pct": ("%", "time with a non-zero position (any instrument, for the total) / the run's span; exact, "
                                "from the fills' times (checkpoints: as of the last equity sample before them)"),
    "quote_count": ("count", "limit orders sent plus modifies (quotes placed)"),
    "orders": ("count", "orders sent"),
    "cancels_sent": ("count", "cancel requests sent: by the strategy, and by the kill switch when it trips (the "
                              "engine counter kill_switch_cancels has its share)"),
    "exchange_cancels": ("count", "orders the exchange cancelled that the strategy did not ask to cancel: IOC/market "
                                  "leftovers, the kill switch's cancels, orders still resting at the end of the data"),
    "rejects": ("count", "orders rejected (before sending or by the exchange)"),
    "fills": ("count", "fill rows"),
    "volume": ("contracts", "filled quantity"),
    "blocks": ("count per guard", "orders each risk guard refused (total block only; see Result.guards)"),
    "crossed_books": ("count", "book messages that left best bid >= best ask (total block only; a replay stops at the "
                               "first unless crossed books are allowed)"),
}

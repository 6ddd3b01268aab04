"""Every KPI arbkit reports: snake_case name -> (unit, meaning). The one place they are defined."""
from __future__ import annotations

KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "round_trips": ("count", "flat -> position -> flat cycles (per instrument from its fills; the total sums them)"),
    "win_rate_pct": ("%", "round trips with net PnL > 0, over all round trips"),
    "exit_reasons": ("count and %", "round trips by exit reason (strategies that record reasons; else 'flat')"),
    "total_pnl": ("quote currency", "cash + positions marked at the last mid (the last mark price with mark: "
                                    "mark_price), after fees and funding"),
    "funding_pnl": ("quote currency", "perpetual funding received (+) or paid (-) at the funding times on the "
                                      "positions held (the funding ledger); inverse coin amounts converted at the mark "
                                      "they were computed at; part of total_pnl"),
    "trading_pnl": ("quote currency", "total_pnl - funding_pnl: what the fills made at the marks, after fees"),
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
    "caps": ("count per guard", "orders the budget and volume guards cut to a smaller size (total block only)"),
    "crossed_books": ("count", "book messages that left best bid >= best ask (total block only; a replay stops at the "
                               "first unless crossed books are allowed)"),
}

#: operations KPIs (arbkit.kpi.ops): usable as gate terms and acceptance criteria beside the KPIs above
OPS_KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "entry_attempts": ("count", "orders that would open or add to a position (any order but one that only reduces it), "
                                "each judged by the risk guards when they are on"),
    "entries": ("count", "entry attempts sent (the guards let them through, possibly capped)"),
    "entry_success_pct": ("%", "entries / entry attempts"),
    "cap_applied": ("count", "entries the portfolio budget guard let through smaller (capped to the budget left)"),
    "guard_blocks": ("count per guard", "entry attempts each guard refused, and 'all'"),
    "block_ratio_pct": ("% per guard", "blocks by that guard / entry attempts (the guards' decisions); 'all' for every "
                                       "guard"),
    "longest_block_run_s": ("s per guard", "longest time a guard kept refusing entries with none let through "
                                           "(first block to last block of the run)"),
    "max_block_run_s": ("s", "the longest of longest_block_run_s over the guards"),
    "stuck_guard_windows": ("count", "runs of blocks in which one guard kept entries at zero for the guards' "
                                     "stuck_window_ms or longer"),
    "kill_switch_tripped": ("bool", "the kill switch tripped during the run"),
    "replay_call_ns_avg": ("ns", "replay only: the engine's wall time per strategy call (time in the engine loop / "
                                 "strategy calls; a batched pass shares one figure between its sets)"),
    "loop_latency_ms_p50": ("ms", "paper only: wall time per strategy call — each batch fed to the engine, its time / "
                                  "its strategy calls — median over batches"),
    "loop_latency_ms_p99": ("ms", "paper only: as loop_latency_ms_p50, 99th percentile"),
    "quote_latency_ms_p50": ("ms", "paper on the live clock only: wall time an order was sent at minus the time of the "
                                   "market data it answered (its engine time), median over orders"),
    "quote_latency_ms_p99": ("ms", "paper on the live clock only: as quote_latency_ms_p50, 99th percentile"),
    "quote_latency_samples": ("count", "paper on the live clock only: orders sent or modified whose quote latency was "
                                       "counted"),
    "cpu_pct": ("%", "paper: process CPU time / wall time over every segment (100 = one core busy)"),
    "rss_mb_max": ("MB", "paper: largest resident memory sampled (the series is in ops.jsonl)"),
    "rss_mb_last": ("MB", "paper: resident memory at the last sample"),
    "rss_samples": ("count", "paper: memory samples in ops.jsonl (one every sample interval of wall time and one at "
                             "each process's end)"),
    "rss_slope_mb_per_h": ("MB / h", "paper: least-squares slope of the RSS samples over wall time (None with fewer "
                                     "than 2 samples); a leak shows as a steady positive slope"),
    "log_counts": ("count per level", "paper: log records by level (DEBUG … CRITICAL) in paper.log"),
    "log_warnings": ("count", "paper: WARNING log records"),
    "log_errors": ("count", "paper: ERROR and CRITICAL log records"),
    "abnormal_exits": ("count", "paper: process segments that ended without finishing (killed, crashed, failed)"),
    "restarts": ("count", "paper: times the run's process started again on its directory (supervisor or --resume)"),
    "segments": ("count", "paper: processes that ran on the run directory"),
    "wall_s_total": ("s", "paper: wall time summed over the segments (run time across restarts)"),
    "run_hours": ("h", "paper: engine clock from the first event to the run's last clock time"),
}

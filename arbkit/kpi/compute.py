"""Compute the KPIs (see :mod:`arbkit.kpi.definitions`) from a replay Result, per instrument and total.

Everything is derived from the Result's fills, order log, equity samples, final accounts and
the engine's exact marks (max drawdown from the starting equity, time in market), so a KPI can
always be recomputed by hand from the same arrays; none depends on ``equity_interval_ms``
except the ones defined on the samples (sharpe, profitable hours, inventory p95).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb
from arbkit.engine.config import instrument_matrix

YEAR_S = 365 * 24 * 3600
CHECKPOINTS_S = (300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 9 * 3600, 12 * 3600)


def _fee_quote(result, fills: np.ndarray) -> np.ndarray:
    """Fees in the quote currency (inverse fees are coin: converted at the fill price)."""
    inverse = np.array([i.contract_type.startswith("inverse") for i in result.instruments])
    if len(fills) == 0:
        return np.zeros(0)
    return np.where(inverse[fills["asset"]], fills["fee"] * fills["price"], fills["fee"])


def _funding_quote(result, rows: np.ndarray) -> np.ndarray:
    """Funding ledger amounts in the quote currency (inverse amounts are coin: converted at their mark)."""
    inverse = np.array([i.contract_type.startswith("inverse") for i in result.instruments])
    if len(rows) == 0:
        return np.zeros(0)
    return np.where(inverse[rows["asset"]], rows["amount"] * rows["mark"], rows["amount"])


def round_trips_from_fills(fills: np.ndarray, contract_size: float = 1.0, inverse: bool = False) -> list[dict[str, Any]]:
    """Flat -> position -> flat cycles of one instrument's fills, in fill order, with their net PnL.

    A fill that crosses zero closes the cycle and opens the next with the remainder.
    PnL is in the settlement currency (quote for linear, coin for inverse), fees included.
    """
    trips: list[dict[str, Any]] = []
    pos = 0.0
    cash = 0.0
    fees = 0.0
    start = None
    n_fills = 0
    for f in fills:
        side, px, q, fee = int(f["side"]), float(f["price"]), float(f["qty"]), float(f["fee"])
        dust = 1e-9 * q
        while q > dust:  # float residue of closing a position is not a new position
            if pos == 0.0:
                start = int(f["ts"])
                cash = 0.0
                fees = 0.0
                n_fills = 0
            take = q if (pos == 0.0 or (pos > 0) == (side > 0)) else min(q, abs(pos))
            if q - take <= dust:
                take = q
            share = take / float(f["qty"])
            flow = take * contract_size / px if inverse else take * px * contract_size
            cash += side * flow if inverse else -side * flow
            fees += fee * share
            pos += side * take
            n_fills += 1
            q -= take
            if abs(pos) <= dust:
                pos = 0.0
                net = cash - fees
                trips.append({"entry_ts": start, "exit_ts": int(f["ts"]), "pnl_net": net, "pnl_gross": cash,
                              "fees": fees, "fills": n_fills, "exit_reason": "flat"})
    return trips


def quoted_quantity(orders: np.ndarray) -> np.ndarray:
    """Per order-log row: the quantity it quoted — a submit's size, a modify's increase of the total (else 0).

    Summed, it is the denominator of the fill ratios: every filled unit was quoted by a submit
    or by a modify that raised the size, so filled / quoted is at most 100 %.
    """
    out = np.zeros(len(orders))
    if len(orders) == 0:
        return out
    sel = np.flatnonzero((orders["event"] == c.EV_SUBMIT) | (orders["event"] == c.EV_MODIFY))
    rows = sel[np.argsort(orders["order_id"][sel], kind="stable")]  # per order, in log (time) order
    oid = orders["order_id"][rows]
    qty = orders["qty"][rows]
    first = np.concatenate(([True], oid[1:] != oid[:-1]))
    prev = np.concatenate(([0.0], qty[:-1]))
    out[rows] = np.where(first, qty, np.maximum(qty - prev, 0.0))
    return out


def fill_rate_pct(fills: np.ndarray, orders: np.ndarray) -> float:
    """Filled quantity / quoted quantity (submitted plus modified up), %: the one definition (KPIs and live state)."""
    fills = fills[fills["kind"] == c.FK_TRADE] if len(fills) else fills
    return _ratio(float(fills["qty"].sum()) if len(fills) else 0.0, float(quoted_quantity(orders).sum()))


def _max_abs_position(fills: np.ndarray, n_assets: int) -> float:
    """The largest |position| any instrument reached (from the fills, exact up to float sums)."""
    best = 0.0
    for a in range(n_assets):
        f = fills[fills["asset"] == a]
        if len(f):
            best = max(best, float(np.max(np.abs(np.cumsum(f["side"] * f["qty"])))))
    return best


def _sharpe(ts: np.ndarray, equity: np.ndarray) -> float:
    if len(equity) < 3:
        return float("nan")
    d = np.diff(equity)
    sd = d.std(ddof=1)
    if not sd > 0:
        return float("nan")
    step_s = float(np.median(np.diff(ts))) / 1e9
    return float(d.mean() / sd * math.sqrt(YEAR_S / step_s)) if step_s > 0 else float("nan")


def _profitable_hours(ts: np.ndarray, equity: np.ndarray) -> float:
    if len(equity) < 2:
        return float("nan")
    hour = ts // (3600 * 10**9)
    last_of_hour = np.flatnonzero(np.append(hour[1:] != hour[:-1], True))
    ends = equity[last_of_hour]
    starts = np.concatenate(([equity[0]], ends[:-1]))
    return float(np.mean(ends - starts > 0) * 100.0)


def _ratio(num: float, den: float) -> float:
    return float(num / den * 100.0) if den > 0 else float("nan")


def _pct(part_ns: float, whole_ns: float) -> float:
    return float(part_ns / whole_ns * 100.0) if whole_ns > 0 else 0.0


def _block(result, asset: int | None, fills: np.ndarray, orders: np.ndarray, eq_ts: np.ndarray, eq: np.ndarray,
           pos: np.ndarray, final_pnl: float, max_dd: float, tim_pct: float, funding: np.ndarray) -> dict[str, Any]:
    rows = fills if asset is None else fills[fills["asset"] == asset]
    sel = rows[rows["kind"] == c.FK_TRADE]  # payouts at resolution and merges are no trades
    osel = orders if asset is None else orders[orders["asset"] == asset]
    fsel = funding if asset is None else funding[funding["asset"] == asset]
    funding_pnl = float(_funding_quote(result, fsel).sum())
    trips: list[dict[str, Any]] = []
    assets = range(len(result.instruments)) if asset is None else [asset]
    for a in assets:
        inst = result.instruments[a]
        trips += round_trips_from_fills(fills[fills["asset"] == a], inst.contract_size, inst.contract_type.startswith("inverse"))
    submits = osel[osel["event"] == c.EV_SUBMIT]
    quoted = quoted_quantity(osel)
    buy_quoted = float(quoted[osel["side"] > 0].sum())
    sell_quoted = float(quoted[osel["side"] < 0].sum())
    taker = sel[sel["maker"] == 0]
    wins = sum(1 for t in trips if t["pnl_net"] > 0)
    reasons: dict[str, int] = {}
    for t in trips:
        reasons[t["exit_reason"]] = reasons.get(t["exit_reason"], 0) + 1
    abs_pos = np.abs(pos) if pos.size else np.zeros(1)
    quotes = int(np.sum((submits["type"] == c.LIMIT) | (submits["type"] == c.POST_ONLY))
                 + np.sum(osel["event"] == c.EV_MODIFY))
    return {
        "round_trips": len(trips),
        "win_rate_pct": _ratio(wins, len(trips)),
        "exit_reasons": {k: {"count": v, "pct": _ratio(v, len(trips))} for k, v in sorted(reasons.items())},
        "total_pnl": final_pnl,
        "funding_pnl": funding_pnl,
        "trading_pnl": final_pnl - funding_pnl,
        "avg_pnl_per_rt": float(np.mean([t["pnl_net"] for t in trips])) if trips else float("nan"),
        "fees_paid": float(_fee_quote(result, sel).sum()),
        "buy_fill_ratio_pct": _ratio(float(sel["qty"][sel["side"] > 0].sum()), buy_quoted),
        "sell_fill_ratio_pct": _ratio(float(sel["qty"][sel["side"] < 0].sum()), sell_quoted),
        "fill_rate_pct": _ratio(float(sel["qty"].sum()), buy_quoted + sell_quoted),
        "maker_fill_ratio_pct": _ratio(float(sel["qty"][sel["maker"] == 1].sum()), float(sel["qty"].sum())),
        "slippage_avg_bps": float(np.average(taker["slip_touch_bps"], weights=taker["qty"])) if len(taker) else float("nan"),
        "max_drawdown": max_dd,
        "sharpe": _sharpe(eq_ts, eq),
        "profitable_hours_pct": _profitable_hours(eq_ts, eq),
        "inventory_max_abs": _max_abs_position(rows, len(result.instruments)),
        "inventory_p95_abs": float(np.percentile(abs_pos, 95)),
        "time_in_market_pct": tim_pct,
        "quote_count": quotes,
        "orders": int(len(submits)),
        "cancels_sent": int(np.sum(osel["event"] == c.EV_CANCEL_SENT)),
        "exchange_cancels": int(np.sum((osel["event"] == c.EV_CANCEL) & (osel["reason"] != 0))),
        "rejects": int(np.sum(osel["event"] == c.EV_REJECT)),
        "fills": int(len(sel)),
        "volume": float(sel["qty"].sum()),
    }


def _apply_trips(block: dict[str, Any], trips: list[dict[str, Any]]) -> None:
    """Replace the flat-to-flat round trips with the strategy's own (which know their exit reasons)."""
    n = len(trips)
    wins = sum(1 for t in trips if t["pnl_net"] > 0)
    reasons: dict[str, int] = {}
    for t in trips:
        reasons[t["exit_reason"]] = reasons.get(t["exit_reason"], 0) + 1
    block["round_trips"] = n
    block["win_rate_pct"] = _ratio(wins, n)
    block["exit_reasons"] = {k: {"count": v, "pct": _ratio(v, n)} for k, v in sorted(reasons.items())}
    block["avg_pnl_per_rt"] = float(np.mean([t["pnl_net"] for t in trips])) if trips else float("nan")


def compute_kpis(result, *, until_ns: int | None = None, round_trips: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """KPIs per instrument (by ``venue:symbol``) and ``total``, plus the engine counters.

    ``until_ns`` restricts fills, orders and equity samples to ``ts <= until_ns`` (checkpoints);
    PnL is then the last equity sample's. ``round_trips`` (a strategy's own, e.g.
    ``arbkit.strategies.arb.round_trips``) replace the total's flat-to-flat cycles.
    """

    fills, orders = result.fills, result.orders
    funding = getattr(result, "funding", None)
    if funding is None:
        funding = np.zeros(0, c.FUNDING_DTYPE)
    eq_ts, eq_val, eq_pos = result.equity_ts, result.equity_values, result.equity_positions
    eq_marks = result.equity_marks
    n = len(result.instruments)
    start, end = result.span_ns
    if until_ns is not None:
        fills = fills[fills["ts"] <= until_ns]
        orders = orders[orders["ts"] <= until_ns]
        funding = funding[funding["ts"] <= until_ns]
        keep = eq_ts <= until_ns
        eq_ts, eq_val, eq_pos, eq_marks = eq_ts[keep], eq_val[keep], eq_pos[keep], eq_marks[keep]
        finals = [float(eq_val[-1, a]) if len(eq_ts) else 0.0 for a in range(n + 1)]
        # the engine's exact running figures as of the last sample at or before the checkpoint
        max_dd = [float(eq_marks[-1, r]) if len(eq_ts) else 0.0 for r in range(n + 1)]
        elapsed = float(eq_ts[-1] - start) if len(eq_ts) else 0.0
        tim = [_pct(float(eq_marks[-1, n + 1 + r]), elapsed) if len(eq_ts) else 0.0 for r in range(n + 1)]
    else:
        im = instrument_matrix(result.instruments)
        finals = [float(np.nan_to_num(asset_equity_nb(result.accounts, im, a))) for a in range(n)]
        finals.append(float(sum(finals)))
        max_dd = [float(x) for x in result.max_drawdowns]
        tim = [_pct(float(x), float(end - start)) for x in result.time_in_market_ns]
    out: dict[str, Any] = {"instruments": {}}
    for a, inst in enumerate(result.instruments):
        out["instruments"][inst.key] = _block(result, a, fills, orders, eq_ts, np.nan_to_num(eq_val[:, a]),
                                              eq_pos[:, a], finals[a], max_dd[a], tim[a], funding)
    out["total"] = _block(result, None, fills, orders, eq_ts, eq_val[:, n] if len(eq_ts) else np.zeros(0),
                          eq_pos.reshape(-1) if eq_pos.size else np.zeros(0), finals[n], max_dd[n], tim[n], funding)
    crossed = result.crossed
    out["total"]["crossed_books"] = int(crossed["count"]) if crossed else 0
    if round_trips is not None:
        # closed by then: a round trip that has not exited (exit_ts None: still open at the end) is in no checkpoint
        done = [t for t in round_trips if until_ns is None or (t.get("exit_ts") is not None and t["exit_ts"] <= until_ns)]
        _apply_trips(out["total"], done)
    if until_ns is None and result.guards:
        out["total"]["blocks"] = {name: g.get("blocks", 0) for name, g in result.guards.items()}
        out["total"]["caps"] = {name: g["cap_applied"] for name, g in result.guards.items() if "cap_applied" in g}
    out["counters"] = dict(result.counters)
    return out


def checkpoints(result, elapsed_s: tuple[int, ...] = CHECKPOINTS_S) -> dict[str, dict[str, Any]]:
    """The total KPIs at each elapsed time the recording reaches (``"5m"``, ``"1h"`` …)."""
    start, end = result.span_ns
    out: dict[str, dict[str, Any]] = {}
    for s in elapsed_s:
        if start + s * 10**9 > end:
            break
        label = f"{s // 3600}h" if s % 3600 == 0 else f"{s // 60}m"
        out[label] = compute_kpis(result, until_ns=start + s * 10**9)["total"]
    return out

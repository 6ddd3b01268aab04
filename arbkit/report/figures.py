"""Matplotlib figures of a run: equity and drawdown, inventory, fills on price, spread vs entry/TP, quotes vs book.

Each function returns a ``matplotlib.figure.Figure`` (nothing is saved), so a notebook
shows it and the report saves it as PNG. Without a display matplotlib draws with Agg.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from arbkit.book.scanner import scan_books
from arbkit.engine import codes as c
from arbkit.io.recording import Recording, load
from arbkit.strategies.hooks import SpreadHistogram

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pyplot():
    """matplotlib.pyplot, imported at the first figure: it costs about half a second, which replays and sweep
    workers that draw nothing should not pay."""
    import matplotlib.pyplot as plt

    return plt


def _times_s(ts: np.ndarray, t0: int) -> np.ndarray:
    return (np.asarray(ts, dtype=np.float64) - t0) / 1e9


def equity_figure(result: Any) -> Figure:
    """Total equity (quote currency) and its drawdown from the running peak (from the starting equity, 0), against
    seconds into the run; the dashed line is the engine's exact running max drawdown."""
    fig, (ax1, ax2) = _pyplot().subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=(2, 1))
    n = len(result.instruments)
    t = _times_s(result.equity_ts, result.span_ns[0])
    eq = result.equity_values[:, n] if len(result.equity_ts) else np.zeros(0)
    ax1.plot(t, eq, lw=1.2, color="tab:blue")
    ax1.set_ylabel("equity")
    ax1.set_title(f"{result.strategy}: equity and drawdown")
    dd = np.maximum.accumulate(np.concatenate(([0.0], eq)))[1:] - eq if len(eq) else eq
    ax2.fill_between(t, 0, -dd, color="tab:red", alpha=0.4, step="post")
    marks = getattr(result, "equity_marks", None)
    if marks is not None and len(marks) == len(eq) and len(eq):
        ax2.step(t, -marks[:, n], where="post", color="tab:red", lw=0.8, ls="--")
    ax2.set_ylabel("drawdown")
    ax2.set_xlabel("seconds into the run")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def inventory_figure(result: Any) -> Figure:
    """Position per instrument over time (from the equity samples)."""
    fig, ax = _pyplot().subplots(figsize=(9, 3.5))
    t = _times_s(result.equity_ts, result.span_ns[0])
    for a, inst in enumerate(result.instruments):
        pos = result.equity_positions[:, a] if len(result.equity_ts) else np.zeros(0)
        if np.any(pos != 0):
            ax.step(t, pos, where="post", lw=1.0, label=inst.key)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("position (contracts)")
    ax.set_xlabel("seconds into the run")
    ax.set_title("inventory")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def fills_figure(result: Any) -> Figure:
    """Every fill on its price (buys up-triangles, sells down-triangles; hollow = maker) with the book top then."""
    shown = result.fills[result.fills["kind"] != c.FK_REWARD]  # reward rows carry cash, not a price
    assets = sorted({int(a) for a in shown["asset"]}) or [0]
    fig, axes = _pyplot().subplots(len(assets), 1, figsize=(9, 3.2 * len(assets)), squeeze=False)
    t0 = result.span_ns[0]
    for ax, a in zip(axes[:, 0], assets):
        f = shown[shown["asset"] == a]
        t = _times_s(f["ts"], t0)
        ax.plot(t, f["best_bid"], ".", ms=2, color="tab:green", alpha=0.5, label="best bid at fill")
        ax.plot(t, f["best_ask"], ".", ms=2, color="tab:red", alpha=0.5, label="best ask at fill")
        for side, marker, color in ((1, "^", "tab:green"), (-1, "v", "tab:red")):
            m = f["side"] == side
            maker = m & (f["maker"] == 1)
            taker = m & (f["maker"] == 0)
            ax.scatter(t[maker], f["price"][maker], marker=marker, facecolors="none", edgecolors=color, s=28,
                       label=f"{'buy' if side > 0 else 'sell'} (maker)")
            ax.scatter(t[taker], f["price"][taker], marker=marker, color=color, s=28,
                       label=f"{'buy' if side > 0 else 'sell'} (taker)")
        ax.set_title(f"fills on price: {result.instruments[a].key}")
        ax.set_ylabel("price")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("seconds into the run")
    fig.tight_layout()
    return fig


def spread_figure(result: Any, spreads: SpreadHistogram) -> Figure:
    """The spreads a strategy's edge model saw (bps, per direction) over the run, with the entry and TP lines."""
    fig, ax = _pyplot().subplots(figsize=(9, 3.8))
    edges = spreads.edges
    seen = np.flatnonzero(spreads.counts.sum(axis=0))
    lo, hi = (seen[0], seen[-1] + 1) if len(seen) else (0, len(edges) - 1)
    for d, label in enumerate(spreads.directions):
        outside = int(spreads.below[d] + spreads.above[d])
        ax.stairs(spreads.counts[d, lo:hi], edges[lo:hi + 1], fill=True, alpha=0.6,
                  label=label + (f" ({outside:,} outside {edges[0]:g}..{edges[-1]:g} bps)" if outside else ""))
    entry = float(result.params.get("entry_bps", np.nan))
    tp = float(result.params.get("tp_bps", np.nan))
    ax.axvline(entry, color="k", ls="--", label=f"entry {entry:g} bps")
    ax.axvline(entry + tp, color="tab:green", ls=":", label=f"entry + TP {entry + tp:g} bps")
    ax.set_xlabel("executable cross spread (bps of mid)")
    ax.set_ylabel("book updates")
    ax.set_title("spread / edge distribution")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def book_tops(recording: Any, asset: int) -> np.ndarray:
    """Best bid and ask of ``asset`` after each of its rows: columns bid, ask, ts_local."""
    rec = recording if isinstance(recording, Recording) else load(recording)
    cols = rec.to_numpy()
    _, tops = scan_books(cols, [i.tick_size for i in rec.instruments], record_tops=True)
    mine = cols.asset == asset
    return np.column_stack([tops[mine, 0], tops[mine, 2], cols.ts_local[mine].astype(np.float64)])


def quotes_figure(result: Any, recording: Any, asset: int | None = None, window_s: tuple[float, float] | None = None
                  ) -> Figure:
    """Market making: own bid/ask quotes (from the order log) against the book's best bid/ask in a time window."""

    a = int(result.params.get("asset", 0)) if asset is None else asset
    t0 = result.span_ns[0]
    lo, hi = window_s if window_s is not None else (0.0, min(60.0, (result.span_ns[1] - t0) / 1e9))
    tops = book_tops(recording, a)
    tt = _times_s(tops[:, 2], t0)
    m = (tt >= lo) & (tt <= hi)
    fig, ax = _pyplot().subplots(figsize=(9, 4))
    ax.step(tt[m], tops[m, 0], where="post", color="tab:green", lw=0.8, label="best bid")
    ax.step(tt[m], tops[m, 1], where="post", color="tab:red", lw=0.8, label="best ask")
    log = result.orders[result.orders["asset"] == a]
    live: dict[int, tuple[float, float, int]] = {}  # order id -> (since, price, side)
    segs: dict[int, list] = {1: [], -1: []}
    for row in log:
        oid, ev, ts = int(row["order_id"]), int(row["event"]), _times_s(np.array([row["ts"]]), t0)[0]
        if ev in (c.EV_ACCEPT, c.EV_MODIFY):
            if oid in live:
                since, px, side = live[oid]
                segs[side].append((since, ts, px))
            live[oid] = (ts, float(row["price"]), int(row["side"]))
        elif ev in (c.EV_CANCEL, c.EV_REJECT) or (ev == c.EV_FILL and row["leaves"] <= 0):
            if oid in live:
                since, px, side = live.pop(oid)
                segs[side].append((since, ts, px))
    end = (result.span_ns[1] - t0) / 1e9
    for since, px, side in live.values():
        segs[side].append((since, end, px))
    for side, color, label in ((1, "darkgreen", "our bid"), (-1, "darkred", "our ask")):
        shown = [(s, e, p) for s, e, p in segs[side] if e >= lo and s <= hi]
        for k, (s, e, p) in enumerate(shown):
            ax.hlines(p, max(s, lo), min(e, hi), color=color, lw=2.2, alpha=0.8, label=label if k == 0 else None)
    f = result.fills[(result.fills["asset"] == a) & (result.fills["kind"] != c.FK_REWARD)]
    ft = _times_s(f["ts"], t0)
    fm = (ft >= lo) & (ft <= hi)
    ax.scatter(ft[fm], f["price"][fm], color="k", s=18, zorder=5, label="our fills")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("price")
    ax.set_title(f"quotes vs book: {result.instruments[a].key} ({lo:g}-{hi:g} s)")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def heatmap_figure(table: Any, x: str, y: str, kpi: str) -> Figure:
    """A KPI over two swept parameters (mean over the other parameters), annotated with its values."""
    import polars as pl

    agg = table.group_by([y, x]).agg(pl.col(kpi).mean()).sort([y, x])
    xs = sorted(agg[x].unique().to_list())
    ys = sorted(agg[y].unique().to_list())
    grid = np.full((len(ys), len(xs)), np.nan)
    for row in agg.iter_rows(named=True):
        grid[ys.index(row[y]), xs.index(row[x])] = row[kpi] if row[kpi] is not None else np.nan
    fig, ax = _pyplot().subplots(figsize=(1.1 * len(xs) + 3, 0.7 * len(ys) + 2.2))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn")
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for i in range(len(ys)):
        for j in range(len(xs)):
            if grid[i, j] == grid[i, j]:
                ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label=kpi)
    ax.set_title(f"{kpi} over {x} x {y}")
    fig.tight_layout()
    return fig


def scatter_figure(table: Any, kpi: str, params: list[str]) -> Figure:
    """For larger grids: the KPI against each swept parameter (one panel per parameter)."""
    fig, axes = _pyplot().subplots(1, len(params), figsize=(3.2 * len(params), 3.2), squeeze=False)
    for ax, p in zip(axes[0], params):
        ax.scatter(table[p].to_numpy(), table[kpi].to_numpy(), s=12, alpha=0.6)
        ax.set_xlabel(p)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(kpi)
    fig.tight_layout()
    return fig

"""Rank sweep results and write ``candidates.json`` (the sets worth running, with why)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from arbkit.core.errors import ConfigError
from arbkit.core.json_file import write_json
from arbkit.sweep.candidates import RESERVED

def rank(table: pl.DataFrame, keys: Sequence[tuple[str, bool]]) -> pl.DataFrame:
    """Rows sorted best first by ``keys`` ((column, descending) pairs, a strategy's ``rank_keys``; NaN last)
    with a ``rank`` column (1 = best); gate failures after passes."""
    order = [(k, desc) for k, desc in keys if k in table.columns]
    cols, desc = [], []
    if "gate_passed" in table.columns:
        cols.append("gate_passed")
        desc.append(True)
    for k, d in order:
        cols.append(pl.col(k).fill_nan(None))
        desc.append(d)
    ranked = table.sort(cols, descending=desc, nulls_last=True) if cols else table
    return ranked.with_row_index("rank", offset=1)


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_candidates(path: Path, ranked: pl.DataFrame, param_names: Sequence[str], meta: dict[str, Any],
                     top: int = 10) -> Path:
    """``candidates.json``: ``meta`` (:func:`arbkit.sweep.candidates.metadata`) and the ``top`` ranked sets, each
    with its parameters flat, its edges, flags, KPIs and a rationale; checked against the schema as written."""
    clash = sorted(set(param_names) & set(RESERVED))
    if clash:
        raise ConfigError(f"candidates.json: parameter name(s) {clash} clash with candidate fields {list(RESERVED)}")
    cands = []
    keys = ", ".join(k for k, _ in meta.get("rank_keys", []))
    for row in ranked.head(top).iter_rows(named=True):
        why = [f"rank {row['rank']} by {keys}"]
        if row.get("edge_realistic") is not None:
            why.append(f"realistic edge {row['edge_realistic']:.3g} bps, conservative "
                       f"{row.get('edge_conservative', float('nan')):.3g} bps")
        why.append(f"total_pnl {row.get('total_pnl', float('nan')):.6g} over {row.get('fills', 0)} fills")
        if row.get("gate_verdict"):
            why.append(f"gate {row['gate_verdict']}")
        cands.append({
            "rank": row["rank"], "param_id": row["param_id"],
            **{k: row[k] for k in param_names},
            **{f"edge_{k}": _finite(row.get(f"edge_{k}")) for k in ("optimistic", "realistic", "conservative")},
            "realised_edge_bps": _finite(row.get("realised_edge_bps")),
            "is_structurally_safe": bool(row.get("is_structurally_safe") or False),
            "is_recommended": bool(row.get("is_recommended") or False),
            "rationale": "; ".join(why),
            "kpis": {k: _finite(row.get(k)) for k in ("total_pnl", "round_trips", "win_rate_pct", "fills",
                                                       "max_drawdown", "sharpe")},
            "fills_hash": row.get("fills_hash"),
        })
    return write_json(path, {"metadata": meta, "candidates": cands}, "candidates")

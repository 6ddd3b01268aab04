"""Local sweeps: grid expansion, equality with separate replays, resume without recompute, ranking, files."""
import json

import polars as pl
import pytest

from arbkit.run.replay import replay
from arbkit.core.errors import ConfigError
from arbkit.strategies.mm import mm
from arbkit.sweep import expand_grid, param_id, random_grid, sweep
from helpers.paths import BUNDLED

BASE = {"asset": 1, "mode": 1, "order_size": 0.01, "max_position": 0.05}
GRID = {"half_spread_bps": [0.3, 0.6, 1.0], "inventory_skew_bps": [0.0, 0.5]}
LAT = {"entry": 1_000_000, "response": 1_000_000}


def test_grids():
    g = expand_grid({"a": [1, 2], "b": [10, 20, 30]})
    assert len(g) == 6 and g[0] == {"a": 1.0, "b": 10.0} and g[-1] == {"a": 2.0, "b": 30.0}
    r1, r2 = random_grid({"a": [0, 1], "b": [5, 6, 7]}, 5, seed=3), random_grid({"a": [0, 1], "b": [5, 6, 7]}, 5, seed=3)
    assert r1 == r2 and all(0 <= p["a"] <= 1 and p["b"] in (5, 6, 7) for p in r1)
    assert param_id({"a": 1, "b": 2}) == param_id({"b": 2.0, "a": 1.0}) != param_id({"a": 1, "b": 3})
    with pytest.raises(ConfigError, match="grid.a"):
        expand_grid({"a": []})
    with pytest.raises(ConfigError, match="not a finite number"):
        expand_grid({"a": [1, "x"]})


def test_sweep_equals_separate_replays_and_resumes(tmp_path, bundled):
    out = tmp_path / "sw"
    first = sweep(BUNDLED, "mm", [p for p in expand_grid(GRID)][:3], out_dir=out, base_params=BASE, latency=LAT,
                  n_jobs=2, gate="market_maker")
    assert first.computed == 3
    full = sweep(BUNDLED, "mm", GRID, out_dir=out, base_params=BASE, latency=LAT, n_jobs=2, gate="market_maker")
    assert full.computed == 3  # the first three came from their rows
    table = pl.read_parquet(out / "results.parquet")
    assert table.height == 6 and table["param_id"].n_unique() == 6
    for row in table.iter_rows(named=True):
        params = {**BASE, "half_spread_bps": row["half_spread_bps"], "inventory_skew_bps": row["inventory_skew_bps"]}
        single = replay(bundled, mm(), params, latency=LAT)
        assert single.fills_hash == row["fills_hash"]
        assert single.pnl == pytest.approx(row["total_pnl"])
    # ranked: gate passes first, then by total_pnl
    passed = table["gate_passed"].to_list()
    assert passed == sorted(passed, reverse=True)
    same_gate = table.filter(pl.col("gate_passed") == passed[0])["total_pnl"].to_list()
    assert same_gate == sorted(same_gate, reverse=True)
    assert table["rank"].to_list() == list(range(1, 7))
    cands = json.loads((out / "candidates.json").read_text())
    meta = cands["metadata"]
    assert meta["recording"]["path"].endswith("binance_btc_3venues_20240808") and meta["created_at"]
    assert cands["candidates"][0]["param_id"] == table["param_id"][0] and cands["candidates"][0]["rationale"]
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["grid"]) == 6 and man["versions"]["numba"] and len(man["recording_parts_sha256"]) >= 1
    # a half-written row never appears: only whole .json rows are read
    assert not list((out / "rows").glob("*.tmp"))


def test_arb_sweep_ranks_by_edge(tmp_path):
    grid = {"entry_bps": [0.5, 1.0], "tp_bps": [1.0, 2.0]}
    base = {"asset_a": 1, "asset_b": 2, "stop_loss_bps": 3.0, "time_limit_s": 30.0, "order_size": 1.0,
            "net_of_fees": 0}
    res = sweep(BUNDLED, "arb", grid, out_dir=tmp_path / "arb", base_params=base, latency=LAT)
    t = res.table()
    assert t.height == 4 and {"edge_realistic", "edge_conservative", "is_recommended"} <= set(t.columns)
    er = t["edge_realistic"].to_list()
    assert er == sorted(er, reverse=True)
    cand = json.loads((tmp_path / "arb" / "candidates.json").read_text())["candidates"][0]
    assert {"edge_optimistic", "edge_realistic", "edge_conservative", "is_structurally_safe"} <= set(cand)
    assert cand["edge_realistic"] == pytest.approx(t["edge_realistic"][0])

"""The sweep-bound benchmark on a small recording: the parts add up, and the sampled sets' fills match the batch."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_sweep_bound as bb  # noqa: E402


def test_parts_and_ceilings_are_consistent():
    r = bb.run(40_000, rounds=2, k_small=2, k_large=6)
    t_small, t_large = (sorted(r["seconds"][f"batched_{k}"])[0] for k in (2, 6))  # two rounds: median = mean
    q = r["set_work_batched_s"]
    assert q == pytest.approx((sum(r["seconds"]["batched_6"]) - sum(r["seconds"]["batched_2"])) / 2 / 4)
    assert r["batched_shared_s"] == pytest.approx(sum(r["seconds"]["batched_2"]) / 2 - 2 * q)
    assert r["ratio_at_k_large"] == pytest.approx(6 * r["separate_replay_s"] / (sum(r["seconds"]["batched_6"]) / 2))
    assert r["fills_hash_equal_sampled_sets"] and r["sampled_sets"] == [0, 1]
    assert len(r["seconds"]["separate_replay"]) == 6 and t_small > 0 and t_large > 0
    assert "Ceiling of any batched kernel" in bb.markdown(r)

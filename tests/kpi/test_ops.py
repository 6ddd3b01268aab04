"""Operations KPIs from a paper run's records, worked by hand; the latency histogram's percentile bound."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.kpi.ops import BINS_PER_DECADE, LatencyHistogram, bin_upper_ms, paper_ops_kpis, rss_slope_mb_per_h


def _hist(values):
    h = LatencyHistogram()
    h.add(np.array(values, dtype=float))
    return h.to_json()


def test_paper_ops_kpis_by_hand():
    """Two segments: the first killed (no end record) after 10 s wall / 4 s CPU, the second finished after 30 s /
    11 s; loop latencies 1 ms x 98, 50 ms x 2; three WARNING and one ERROR and one CRITICAL log record."""
    recs = [{"kind": "start", "segment": 0},
            {"kind": "sample", "segment": 0, "uptime_s": 5.0, "cpu_s": 2.0, "rss_mb": 300.0,
             "loop_ms_hist": _hist([1.0] * 50)},
            {"kind": "sample", "segment": 0, "uptime_s": 10.0, "cpu_s": 4.0, "rss_mb": 320.0,
             "loop_ms_hist": _hist([1.0] * 48 + [50.0]), "quote_ms_hist": _hist([3.0, 3.0, 7.0])},
            {"kind": "start", "segment": 1},
            {"kind": "sample", "segment": 1, "uptime_s": 20.0, "cpu_s": 7.0, "rss_mb": 310.0,
             "loop_ms_hist": _hist([50.0])},
            {"kind": "end", "segment": 1, "status": "finished", "uptime_s": 30.0, "cpu_s": 11.0, "rss_mb": 305.0}]
    logs = [{"level": "WARNING"}] * 3 + [{"level": "ERROR"}, {"level": "critical"}]
    k = paper_ops_kpis(recs, logs)
    assert k["segments"] == 2 and k["restarts"] == 1 and k["abnormal_exits"] == 1
    assert k["wall_s_total"] == 40.0 and k["cpu_pct"] == pytest.approx(15 / 40 * 100)
    assert k["rss_mb_max"] == 320.0 and k["rss_mb_last"] == 305.0
    assert k["log_warnings"] == 3 and k["log_errors"] == 2 and k["log_counts"]["CRITICAL"] == 1
    assert k["loop_latency_samples"] == 100 and k["quote_latency_samples"] == 3
    # p50 in 1 ms's bin, p99 (the 99th of 100) in 50 ms's: each the upper edge of its bin, at most 12 % above
    assert 1.0 <= k["loop_latency_ms_p50"] <= 1.0 * 10 ** (1 / BINS_PER_DECADE)
    assert 50.0 <= k["loop_latency_ms_p99"] <= 50.0 * 10 ** (1 / BINS_PER_DECADE)
    assert 3.0 <= k["quote_latency_ms_p50"] < 7.0 <= k["quote_latency_ms_p99"]
    # a run that finished in one segment: nothing abnormal
    one = paper_ops_kpis([recs[3], recs[5]])
    assert one["abnormal_exits"] == 0 and one["restarts"] == 0 and one["loop_latency_ms_p99"] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1e-3, 1e5, allow_nan=False), min_size=1, max_size=200),
       st.floats(1, 100), st.integers(1, 4))
def test_histogram_percentile_is_never_below_the_true_one(values, q, parts):
    """Split into ``parts`` merged histograms: the percentile is the exact one's bin edge, never lower, < 12.3 %
    higher (one bin of 20 a decade)."""
    h = LatencyHistogram()
    for chunk in np.array_split(np.array(values), parts):
        part = LatencyHistogram()
        part.add(chunk)
        h.merge(part.to_json())
    assert h.n == len(values)
    exact = sorted(values)[max(1, math.ceil(q / 100 * len(values))) - 1]
    got = h.percentile(q)
    assert got >= exact * (1 - 1e-12) and got <= exact * 10 ** (1 / BINS_PER_DECADE) * (1 + 1e-9)
    assert got in {bin_upper_ms(b) for b in range(0, 200)}


def test_rss_slope_by_hand():
    """Samples at 0, 30 and 60 min of 100, 130 and 140 MB: x = 0, 0.5, 1 h (mean 0.5), y mean 370/3; sum dx·dy =
    (-0.5)(-70/3) + 0 + 0.5(50/3) = 20, sum dx² = 0.5: slope 40 MB/h (a line through the ends would say 40 too,
    through the first two 60)."""
    t0 = 1_700_000_000 * 10**9
    times = [t0, t0 + 1800 * 10**9, t0 + 3600 * 10**9]
    assert rss_slope_mb_per_h(times, [100.0, 130.0, 140.0]) == pytest.approx(40.0, rel=1e-12)
    assert rss_slope_mb_per_h(times, [140.0, 130.0, 100.0]) == pytest.approx(-40.0, rel=1e-12)
    assert rss_slope_mb_per_h(times[:1], [100.0]) is None and rss_slope_mb_per_h([], []) is None
    assert rss_slope_mb_per_h([t0, t0], [100.0, 120.0]) is None  # no time between them: no slope
    # from a paper run's records: the start record has no memory; samples and the end record do, across a restart
    recs = [{"kind": "start", "segment": 0, "ts_ns": t0},
            {"kind": "sample", "segment": 0, "ts_ns": times[0], "rss_mb": 100.0, "uptime_s": 5.0},
            {"kind": "start", "segment": 1, "ts_ns": times[1] - 10**9},
            {"kind": "sample", "segment": 1, "ts_ns": times[1], "rss_mb": 130.0, "uptime_s": 1.0},
            {"kind": "end", "segment": 1, "status": "finished", "ts_ns": times[2], "rss_mb": 140.0, "uptime_s": 1801.0}]
    k = paper_ops_kpis(recs)
    assert k["rss_samples"] == 3 and k["rss_slope_mb_per_h"] == pytest.approx(40.0, rel=1e-12)
    assert paper_ops_kpis(recs[:2])["rss_slope_mb_per_h"] is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 48 * 3600), min_size=2, max_size=50, unique=True),
       st.floats(-500, 500), st.floats(50, 5000))
def test_rss_slope_of_a_straight_line_is_its_slope(seconds, slope, level):
    """RSS = level + slope · hours at any sample times: the least-squares slope is that slope (MB/h)."""
    t = np.array(sorted(seconds), dtype=np.int64) * 10**9 + 1_700_000_000 * 10**9
    y = level + slope * (t - t[0]) / 3.6e12
    assert rss_slope_mb_per_h(t, y) == pytest.approx(slope, abs=1e-6 * (1 + abs(slope)))

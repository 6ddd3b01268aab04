"""What bounds the batched sweep's speed-up: each set's own work, measured in a single replay and in the batch.

``bench_sweep.py`` compares one batched pass of K maker sets with K separate replays. A
separate replay costs S = the shared part (reading, checks, the book) + p, the set's own
work (strategy calls, orders, fills). A batched pass costs B + K·q, where q is a set's work
inside the batch. So the ratio K·S / (B + K·q) never passes S / q; and as long as a set's work
costs the batch no less than it costs a single replay (q ≥ p), never S / p either. This script
measures the parts, in one process:

* S: a separate streamed replay of a maker set (``bench_sweep``'s sets and settings);
* p: that replay in memory minus the same in-memory replay with the books-only workload of
  ``bench_engine.py`` (the maker at a position limit of zero, called every second: books,
  schedule, checks, no orders) — in memory, because reading from disk varies by more than p;
* q: the slope of the batched pass's time over K (K = 16 and K = 256 sets), B its intercept;

and writes S / p (the ceiling of any batched kernel that does a set's work no cheaper than a
single replay does) and S / q. Each sampled set's ``fills_hash`` is compared with its result in the batch.

    python benchmarks/bench_sweep_bound.py [--events N] [--rounds R] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(n_events: int, rounds: int, k_small: int = 16, k_large: int = 256) -> dict:
    import arbkit
    from arbkit.apps.bench import _strategy, machine, make_bench_recording
    from arbkit.run.replay import replay
    from arbkit.strategies import get_strategy
    from bench_sweep import SETTINGS, _batched, parameter_sets

    sets = parameter_sets(k_large)
    mm = get_strategy("mm")
    idle, idle_params, idle_schedule = _strategy("books_only")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(make_bench_recording(Path(tmp) / "bench", n_events))
        rec = arbkit.load(path)
        events, cols, instruments = rec.n_events, rec.to_numpy(), rec.instruments
        _batched(path, sets[:2])  # compile / load caches before timing
        replay(cols, idle, idle_params, schedule=idle_schedule, instruments=instruments, **SETTINGS)
        single, single_mem, idle_mem, small, large = [], [], [], [], []
        hashes: dict[int, str] = {}  # a sampled set's own replay, to compare with its result in the batch
        batched: list[str] = []
        for i in range(rounds):  # the parts alternate, so a drift of the machine's speed hits them alike
            j = (37 * i) % k_large
            for _ in range(3):  # the single replays are short: three of each per round
                idle_mem.append(_timed(lambda: replay(cols, idle, idle_params, schedule=idle_schedule,
                                                      instruments=instruments, **SETTINGS)))
                single_mem.append(_timed(lambda: replay(cols, mm, sets[j], instruments=instruments, **SETTINGS)))
                single.append(_timed(lambda: hashes.__setitem__(j, replay(path, mm, sets[j], **SETTINGS).fills_hash)))
            small.append(_timed(lambda: _batched(path, sets[:k_small])))
            large.append(_timed(lambda: batched.__setitem__(slice(None), _batched(path, sets))))
    s = statistics.median(single)
    p = statistics.median(single_mem) - statistics.median(idle_mem)
    t_small, t_large = statistics.median(small), statistics.median(large)
    q = (t_large - t_small) / (k_large - k_small)
    b = t_small - k_small * q
    return {
        "machine": machine(), "events": events, "strategy": "mm (fixed half-spread)", "settings": SETTINGS,
        "rounds": rounds,
        "seconds": {"separate_replay": single, "separate_replay_in_memory": single_mem,
                    "books_only_replay_in_memory": idle_mem, f"batched_{k_small}": small, f"batched_{k_large}": large},
        "separate_replay_s": s, "set_work_single_s": p,
        "batched_shared_s": b, "set_work_batched_s": q,
        "ratio_at_k_large": k_large * s / t_large,
        "ceiling_without_batch_overhead": s / p if p > 0 else None,
        "ceiling_with_measured_batch_work": s / q if q > 0 else None,
        "k_small": k_small, "k_large": k_large,
        "fills_hash_equal_sampled_sets": all(batched[j] == h for j, h in hashes.items()),
        "sampled_sets": sorted(hashes),
    }


def _times(x: float | None) -> str:
    return f"{x:.1f}x" if x is not None else "n/a (not above the timing noise)"


def markdown(r: dict) -> str:
    m = r["machine"]
    k = r["k_large"]
    return "\n".join([
        f"Machine: {m['cpu']}, {m['cores']} cores. {r['events']:,} events streamed from disk; medians of "
        f"{r['rounds']} alternating rounds in one process (three of each single replay per round).", "",
        "| part | seconds |", "|---|---|",
        f"| S: one separate replay of a maker set, streamed | {r['separate_replay_s']:.3f} |",
        f"| p: a set's own work in a single replay (in memory, maker minus books-only) | {r['set_work_single_s']:.4f} |",
        f"| q: a set's work in the batched pass (slope over K) | {r['set_work_batched_s']:.4f} |",
        f"| B: the batched pass's shared part (intercept) | {r['batched_shared_s']:.3f} |", "",
        f"Batched vs separate at {k} sets: {r['ratio_at_k_large']:.1f}x. Ceiling of any batched kernel over this "
        f"work (S / p): {_times(r['ceiling_without_batch_overhead'])}; with the batch's measured per-set work "
        f"(S / q): {_times(r['ceiling_with_measured_batch_work'])}. fills_hash of sets {r['sampled_sets']} equal in "
        f"their own replays and in the batch: {r['fills_hash_equal_sampled_sets']}.", ""])


def _at_least(low: int):
    """An argparse type: an integer no smaller than ``low`` (anything else is one usage line, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


def main() -> None:
    from arbkit.apps.bench import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=_at_least(1), default=5_000_000)
    ap.add_argument("--rounds", type=_at_least(1), default=3)
    ap.add_argument("--json", default=str(ROOT / "results" / "sweep_bound.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "sweep_bound.md"))
    a = ap.parse_args()
    r = run(a.events, a.rounds)
    write_report(r, a.json, a.markdown, markdown(r))
    print(markdown(r))


if __name__ == "__main__":
    main()

"""Per-row cost of the replay loop, part by part: each stage adds one kind of work to the one before.

All stages run in one process on the same in-memory ≥5M-event benchmark recording (the one
``bench_engine.py`` makes), best CPU time of ``--repeat``; a stage's cost is its ns per row minus the
previous stage's. The engine stages call the kernel chunk by chunk exactly as a replay does,
but without the driver's input checks, which the last stages add back:

1. ``bare``: a bare numba loop touching the seven columns (the floor);
2. ``book``: the ladder update of every row (the engine's text, arrays hoisted) and nothing else;
3. ``book+messages``: plus finding each message's end and its top change;
4. ``kernel idle``: the engine's loop with nothing to do besides the book: no orders, no
   requests, no strategy calls, no equity samples (the request/response, resting-order and
   timer checks all find nothing);
5. ``+ timers``: equity samples every 1 s and an interval call every 1 s that sends nothing
   (the ``books_only`` workload);
6. ``+ top-change calls``: the arbitrage taker called at every top-of-book change;
7. ``+ resting orders``: the market maker (orders resting in the book, requests, responses);
8. ``replay()`` of each workload: plus the driver (input checks per chunk, buffers drained,
   result built): the figure ``bench_engine.py`` reports;
9. ``kernel idle, one chunk``: stage 4 fed as one chunk (its Δ against stage 4 is the cost of the
   chunk boundaries);
10. ``input checks alone``: the driver's per-chunk input checks (``row_checks.first_bad_rows_nb``)
   over the same chunks, nothing else (part of stage 8's Δ).

Also the fixed cost of one kernel call from Python (``run_events_nb`` on an empty range), and of
passing the strategy kernel alone (a jitted function whose one argument is the strategy's
first-class function type: numba looks its addresses up again on every call).

Counters (messages, calls, timer calls, equity samples, orders, fills) say how often each
kind of work happened.

    python benchmarks/bench_breakdown.py [--events N] [--repeat R] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numba import njit

from arbkit.book.ladder import (KIND_BBO, KIND_CLEAR, KIND_DEPTH, KIND_SNAPSHOT, NO_ASK, NO_BID, book_clear_nb,
                                book_recenter_nb)

ROOT = Path(__file__).resolve().parent
CHUNK = 1 << 16


@njit(cache=True)
def book_only_nb(b, ts, asset, kind, side, price, qty, seq, prev_top, ends):
    """Stage 2: every row's ladder update as the engine writes it (arrays hoisted); with ``ends``
    (stage 3) also each message's end (the next row differs) and its top change.

    Returns messages * 1e9 + top changes."""
    bid_qty = b.bid_qty
    ask_qty = b.ask_qty
    base = b.base
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    inv_tick = b.inv_tick
    centred = b.centred
    dropped = b.dropped
    bbo = b.bbo
    L = bid_qty.shape[1]
    pa = -1
    p_ts = 0
    p_seq = 0
    p_kind = 0
    changes = 0
    messages = 0
    for r in range(asset.shape[0]):
        a = asset[r]
        k = kind[r]
        if ends:
            mclass = 0 if (k == KIND_DEPTH or k == KIND_SNAPSHOT or k == KIND_CLEAR) else np.int64(k)
            if pa >= 0 and not (pa == a and p_ts == ts[r] and p_seq == seq[r] and p_kind == mclass):
                messages += 1
                if p_kind == 0:
                    bb = best_bid[pa]
                    ba = best_ask[pa]
                    if bb != prev_top[pa, 0] or ba != prev_top[pa, 1]:
                        prev_top[pa, 0] = bb
                        prev_top[pa, 1] = ba
                        changes += 1
            pa = a
            p_ts = ts[r]
            p_seq = seq[r]
            p_kind = mclass
        if k == KIND_DEPTH or k == KIND_SNAPSHOT:
            sd = side[r]
            q = qty[r]
            tick = np.int64(np.floor(price[r] * inv_tick[a] + 0.5))
            # --- copy: ladder-update (begin)
            if not centred[a]:
                base[a] = tick - L // 2
                centred[a] = True
            i = tick - base[a]
            if (i < 0 or i >= L) and n_bid[a] + n_ask[a] == 0 and q > 0.0:
                base[a] = tick - L // 2
                i = L // 2
            old = -1.0
            moved = False  # a best price moved: only then can the window need recentring
            if i < 0 or i >= L:
                dropped[a] += 1
            else:
                if sd > 0:
                    old = bid_qty[a, i]
                    bid_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_bid[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick > best_bid[a]):
                        best_bid[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_bid[a]):
                        nb = NO_BID
                        if n_bid[a] > 0:
                            j = i - 1
                            while j >= 0:
                                if bid_qty[a, j] > 0.0:
                                    nb = base[a] + j
                                    break
                                j -= 1
                        best_bid[a] = nb
                        moved = True
                else:
                    old = ask_qty[a, i]
                    ask_qty[a, i] = q
                    pos = q > 0.0  # the count and best use & (one branch, rarely taken): the row's values do not predict
                    n_ask[a] += np.int64(pos & (old == 0.0)) - np.int64((not pos) & (old > 0.0))
                    if pos & (tick < best_ask[a]):
                        best_ask[a] = tick
                        moved = True
                    elif (not pos) & (old > 0.0) & (tick == best_ask[a]):
                        na = NO_ASK
                        if n_ask[a] > 0:
                            j = i + 1
                            while j < L:
                                if ask_qty[a, j] > 0.0:
                                    na = base[a] + j
                                    break
                                j += 1
                        best_ask[a] = na
                        moved = True
                if moved and (best_bid[a] != NO_BID or best_ask[a] != NO_ASK):
                    if best_bid[a] != NO_BID and best_ask[a] != NO_ASK:
                        off = (best_bid[a] + best_ask[a]) // 2 - base[a]
                    elif best_bid[a] != NO_BID:
                        off = best_bid[a] - base[a]
                    else:
                        off = best_ask[a] - base[a]
                    if off < L // 4 or off > L - L // 4:
                        book_recenter_nb(b, a, off + base[a])
            # --- copy: ladder-update (end)

        elif k == KIND_BBO:
            col = 0 if side[r] > 0 else 2
            bbo[a, col] = price[r]
            bbo[a, col + 1] = qty[r]
        elif k == KIND_CLEAR:
            book_clear_nb(b, a)
    return messages * 1_000_000_000 + changes


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()  # CPU time: on a shared machine wall time mostly measures the others
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _kernel_only(cols, instruments, strat, params, schedule, equity_interval_ms, chunk=CHUNK):
    """The engine's loop over the columns chunk by chunk (as ``replay`` feeds it), without the driver's input checks."""
    from arbkit.apps.bench import _replay_kwargs
    from arbkit.engine.replayer import Replayer

    arrays = tuple(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price,
                                                     cols.qty, cols.seq))
    n = len(cols)

    def run():
        rp = Replayer(instruments, strat, params, schedule=schedule, equity_interval_ms=equity_interval_ms,
                      **_replay_kwargs())
        rp._first_ts = int(arrays[0][0])
        for i in range(0, n, chunk):
            rp._run(tuple(a[i:i + chunk] for a in arrays), 0, min(chunk, n - i))
        return rp.finish()

    return run


def _call_overhead_us(instruments, strat, params, calls: int = 2000) -> dict[str, float]:
    """CPU µs per call from Python: the kernel on an empty range, and a jitted function taking only the strategy."""
    from numba import njit, types

    from arbkit.apps.bench import _replay_kwargs
    from arbkit.engine.loop import run_events_nb
    from arbkit.engine.replayer import Replayer
    from arbkit.engine.state import STRATEGY_FN_TYPE

    @njit(types.int64(STRATEGY_FN_TYPE))
    def takes_strategy_nb(fn):
        return 1

    rp = Replayer(instruments, strat, params, **_replay_kwargs())
    cols = tuple(np.zeros(1, dt) for dt in (np.int64, np.int32, np.uint8, np.int8, np.float64, np.float64, np.int64))
    kernel = strat.kernel
    out = {}
    for name, call in (("kernel_call_us", lambda: run_events_nb(rp._struct, kernel, rp.params, rp.user, *cols, 1)),
                       ("strategy_argument_us", lambda: takes_strategy_nb(kernel))):
        call()
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(calls):
                call()
            best = min(best, (time.process_time() - t0) / calls * 1e6)
        out[name] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--recording", default=None, help="the generated benchmark recording (made in a temp dir when missing)")
    ap.add_argument("--json", default=str(ROOT / "results" / "breakdown.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "breakdown.md"))
    args = ap.parse_args()

    from arbkit.apps import bench
    from arbkit.book.ladder import new_books
    from arbkit.engine.config import Schedule
    from arbkit.io.recording import load
    from arbkit.run.replay import replay

    tmp = None
    path = Path(args.recording) if args.recording else None
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench"
    if not (path / "manifest.json").is_file():
        bench.make_bench_recording(path, args.events, source=ROOT.parent / "recordings" / "binance_btc_3venues_20240808")
    rec = load(path)
    cols = rec.to_numpy()
    inst = rec.instruments
    n = len(cols)
    ticks = np.array([i.tick_size for i in inst])
    arrays = (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price, cols.qty, cols.seq)
    bench.bare_loop_nb(*(a[:10] for a in arrays))
    top0 = np.zeros((len(inst), 2), np.int64)
    book_only_nb(new_books(ticks), *(a[:10] for a in arrays), top0, True)

    stages: list[dict[str, Any]] = []

    def add(name: str, seconds: float, what: str, **extra: Any) -> None:
        row = {"stage": name, "seconds": seconds, "ns_per_row": seconds / n * 1e9, "events_per_s": n / seconds,
               "what": what, **extra}
        stages.append(row)
        print(f"{name:28s} {row['ns_per_row']:7.2f} ns/row  {row['events_per_s'] / 1e6:7.1f} M ev/s", flush=True)

    s, _ = _best(lambda: bench.bare_loop_nb(*arrays), args.repeat)
    add("bare", s, "touch every column of every row")
    s, _ = _best(lambda: book_only_nb(new_books(ticks), *arrays, top0.copy(), False), args.repeat)
    add("book", s, "ladder update of every row")
    s, out = _best(lambda: book_only_nb(new_books(ticks), *arrays, top0.copy(), True), args.repeat)
    add("book+messages", s, "plus message ends and top changes", messages=int(out // 1_000_000_000),
        top_changes=int(out % 1_000_000_000))

    def counters(res) -> dict[str, int]:
        k = res.counters
        return {"messages": k["messages"], "strategy_calls": k["strategy_calls"], "timer_calls": k["timer_calls"],
                "equity_samples": k["equity_samples"], "orders": k["orders"], "fills": k["fills"],
                "fills_hash": res.fills_hash}

    books, books_p, books_sched = bench._strategy("books_only")
    arb, arb_p, _ = bench._strategy("arbitrage")
    mm, mm_p, _ = bench._strategy("market_maker")
    never = 1e12  # ms: no equity sample after the first
    kernel_stages = [
        ("kernel idle", books, books_p, Schedule(on_response=True), never,
         "engine loop, nothing but books: no orders, calls or samples"),
        ("+ timers (books_only)", books, books_p, books_sched, 1000.0,
         "equity sample and an interval call (no orders) every 1 s"),
        ("+ top-change calls (arbitrage)", arb, arb_p, None, 1000.0, "the taker called at every top change"),
        ("+ resting orders (market_maker)", mm, mm_p, None, 1000.0, "the maker's orders rest, requests and responses"),
    ]
    for name, strat, params, sched, eq_ms, what in kernel_stages:
        run = _kernel_only(cols.take(slice(0, 50_000)), inst, strat, params, sched, eq_ms)
        run()
        run = _kernel_only(cols, inst, strat, params, sched, eq_ms)
        s, res = _best(run, args.repeat)
        add(name, s, what, **counters(res))
    for name in bench.STRATEGIES:
        strat, params, sched = bench._strategy(name)
        kw = bench._replay_kwargs()
        replay(cols.take(slice(0, 50_000)), strat, params, instruments=inst, schedule=sched, **kw)
        s, res = _best(lambda: replay(cols, strat, params, instruments=inst, schedule=sched, chunk_rows=CHUNK, **kw),
                       args.repeat)
        add(f"replay() {name}", s, "the kernel plus the driver: input checks, draining, result", **counters(res))
    name, strat, params, sched, eq_ms, _ = kernel_stages[0]
    run = _kernel_only(cols, inst, strat, params, sched, eq_ms, chunk=n)
    s, res = _best(run, args.repeat)
    add("kernel idle, one chunk", s, "stage 4 fed as one chunk: its difference is the chunk boundaries' cost",
        **counters(res))
    from arbkit.engine import row_checks as rc

    known, funding = rc.kind_tables()
    check_cols = tuple(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind, cols.price, cols.qty))
    bad = np.empty(rc.N_SLOTS, np.int64)

    def checks():
        for i in range(0, n, CHUNK):
            rc.first_bad_rows_nb(*(a[i:i + CHUNK] for a in check_cols), len(inst), known, funding, bad)

    checks()
    s, _ = _best(checks, args.repeat)
    add("input checks alone", s, "the driver's input checks over the same chunks, nothing else")
    overhead = _call_overhead_us(inst, books, books_p)
    print(f"one kernel call {overhead['kernel_call_us']:.1f} µs, of which passing the strategy "
          f"{overhead['strategy_argument_us']:.1f} µs", flush=True)

    report = {"machine": bench.machine(), "events": n, "repeat": args.repeat, "chunk_rows": CHUNK, "stages": stages,
              "call_overhead_us": overhead, "command": "python benchmarks/bench_breakdown.py"}
    lines = [f"{n:,} events; best CPU time of {args.repeat}; ns per row (Δ = minus the stage above; replay() rows: minus the same workload's kernel stage).", "",
             "| stage | ns/row | Δ ns/row | M events/s | messages | calls | orders | fills |", "|---|---|---|---|---|---|---|---|"]
    for st in stages:
        ref = {"replay() books_only": "+ timers (books_only)", "replay() arbitrage": "+ top-change calls (arbitrage)",
               "replay() market_maker": "+ resting orders (market_maker)",
               "kernel idle, one chunk": "kernel idle"}.get(st["stage"])
        base = next((x for x in stages if x["stage"] == ref), None) if ref else (
            stages[stages.index(st) - 1] if stages.index(st) > 0 else None)
        if st["stage"] == "input checks alone":
            base = None  # a part of the driver's cost, not a stage on top of another
        delta = f"{st['ns_per_row'] - base['ns_per_row']:+.2f}" if base else ""
        lines.append(f"| {st['stage']} | {st['ns_per_row']:.2f} | {delta} | {st['events_per_s'] / 1e6:.1f} | "
                     f"{st.get('messages', '')} | {st.get('strategy_calls', '')} | {st.get('orders', '')} | "
                     f"{st.get('fills', '')} |")
    lines += ["", f"One kernel call from Python (empty range): {overhead['kernel_call_us']:.1f} µs CPU; a jitted function "
              f"taking only the strategy kernel: {overhead['strategy_argument_us']:.1f} µs. Chunks of {CHUNK:,} rows: "
              f"{-(-n // CHUNK)} calls per replay."]
    md = "\n".join(lines) + "\n"
    bench.write_report(report, args.json, args.markdown, md)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()

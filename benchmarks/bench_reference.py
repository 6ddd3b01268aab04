"""arbkit against its plain-Python reference engine (tests/helpers/reference_engine.py) on the same real events.

The first ``--rows`` rows of the bundled recording's USD-M BTCUSDT book (asset 1), and one
order script for both engines: every 0.5 s a post-only bid and ask at the recorded touch, a
cancel of the previous pair, 1 ms entry and response latency, the power queue model. The
reference engine is the oracle of the differential tests (dicts and objects, no numba), so
the run also checks that both produce the same fills. One run, wall time of each.

    python benchmarks/bench_reference.py [--rows N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))


def run(n_rows: int) -> dict:
    import arbkit
    from arbkit.apps.bench import machine
    from arbkit.engine import LatencyModel
    from arbkit.run.replay import replay
    from arbkit.book.scanner import scan_books
    from helpers.reference_engine import Latency, RefInstrument, ReferenceEngine, scripted
    from helpers.script_strategy import script_strategy

    rec = arbkit.load(ROOT.parent / "recordings" / "binance_btc_3venues_20240808")
    cols = rec.to_numpy()
    cols = cols.take(cols.asset == 1).take(slice(0, n_rows))
    cols = cols.replace(asset=np.zeros(len(cols), np.int32))
    inst = rec.instruments[1]
    _, tops = scan_books(cols, [inst.tick_size], record_tops=True)
    actions: list[tuple] = []
    t0, t1 = int(cols.ts_local[0]) + 2 * 10**9, int(cols.ts_local[-1])
    for k, t in enumerate(range(t0, t1, 500_000_000)):
        r = int(np.searchsorted(cols.ts_local, t))
        bid, ask = tops[r, 0], tops[r, 2]
        if not (bid > 0 and ask > bid):
            continue
        n = len(actions)
        if n >= 2:
            actions += [(t, 1, 0, 1, 0.0, 0.0, 0, n - 2), (t, 1, 0, -1, 0.0, 0.0, 0, n - 1)]
            n += 2
        actions += [(t, 0, 0, 1, float(bid), 0.01, 1, 0), (t, 0, 0, -1, float(ask), 0.01, 1, 0)]
    strat, params = script_strategy(actions)
    rows = list(zip(cols.ts_local.tolist(), cols.asset.tolist(), cols.kind.tolist(), cols.side.tolist(),
                    cols.price.tolist(), cols.qty.tolist(), cols.seq.tolist()))
    lat = LatencyModel(entry=1_000_000, response=1_000_000)
    fill = {"queue": "power", "queue_power": 2.0}
    one = [inst]
    # the cut after --rows rows may end inside a book message (then crossed when closed): allowed and counted
    kw = {"latency": lat, "fill": fill, "allow_crossed": True}
    replay(cols.take(slice(0, 1000)), strat, params, instruments=one, **kw)  # load compiled code
    t = time.perf_counter()
    res = replay(cols, strat, params, instruments=one, **kw)
    t_arbkit = time.perf_counter() - t
    ref = ReferenceEngine([RefInstrument(inst.tick_size, inst.maker_fee_bps, inst.taker_fee_bps, inst.contract_size,
                                         lot=inst.lot_size)],
                          Latency(1_000_000), Latency(1_000_000), queue="power", queue_power=2.0)
    t = time.perf_counter()
    ref.run(rows, scripted(actions))
    t_ref = time.perf_counter() - t
    got = [(int(f["ts"]), int(f["order_id"]), float(f["price"]), float(f["qty"])) for f in res.fills]
    want = [(f.ts, f.order_id, f.price, f.qty) for f in ref.fills]
    return {"machine": machine(), "events": len(cols), "orders_scripted": sum(1 for a in actions if a[1] == 0),
            "fills": len(got), "fills_equal": got == want,
            "arbkit": {"seconds": t_arbkit, "events_per_s": len(cols) / t_arbkit},
            "reference": {"seconds": t_ref, "events_per_s": len(cols) / t_ref},
            "ratio_arbkit_vs_reference": t_ref / t_arbkit}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--json", default=str(ROOT / "results" / "reference.json"))
    args = ap.parse_args()
    r = run(args.rows)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    print(f"{r['events']:,} events, {r['fills']} fills (equal: {r['fills_equal']}): arbkit {r['arbkit']['seconds']:.3f} s, "
          f"reference {r['reference']['seconds']:.2f} s, ratio {r['ratio_arbkit_vs_reference']:.0f}x")


if __name__ == "__main__":
    main()

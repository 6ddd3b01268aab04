"""arbkit against hftbacktest on the same events: a fixed-spread market maker on the USD-M perpetual.

The bundled real recording repeated to ≥5M events (``arbkit.apps.bench.make_bench_recording``);
the USD-M BTCUSDT rows (asset 1) are exported to hftbacktest's event format with
``arbkit.convert.hftbacktest.export_hftbacktest`` and both engines replay those same
events from memory: quotes ``half_spread_bps`` around the mid every 100 ms, post-only, size
0.01, position limit 0.05, 1 ms entry and response latency, a power-2 probabilistic queue
model, no partial fills at a level beyond what trades and depth allow. Wall time of each,
one run (hftbacktest is an optional extra: ``pip install arbkit[peer]``).

    python benchmarks/bench_peer.py [--events N] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

try:
    from hftbacktest import GTX, LIMIT
except ImportError:  # the optional peer: run() says what to install
    GTX = LIMIT = 0

ROOT = Path(__file__).resolve().parent
HALF_SPREAD_BPS = 0.5
SIZE = 0.01
MAX_POS = 0.05
LATENCY_NS = 1_000_000
INTERVAL_NS = 100_000_000


@njit
def hbt_market_maker_nb(hbt, half_spread, size, max_pos, interval):
    """The same quoting rule as arbkit's touch_mm, written against hftbacktest's API."""
    a = 0
    tick = hbt.depth(a).tick_size
    while hbt.elapse(interval) == 0:
        hbt.clear_inactive_orders(a)
        depth = hbt.depth(a)
        if not (depth.best_bid > 0 and depth.best_ask > 0):
            continue
        mid = 0.5 * (depth.best_bid + depth.best_ask)
        bid = np.floor(mid * (1.0 - half_spread) / tick + 1e-9) * tick
        ask = np.ceil(mid * (1.0 + half_spread) / tick - 1e-9) * tick
        bid_id = np.uint64(round(bid / tick))
        ask_id = np.uint64(round(ask / tick))
        pos = hbt.position(a)
        have_bid = False
        have_ask = False
        orders = hbt.orders(a)
        values = orders.values()
        while values.has_next():
            o = values.get()
            if o.side == 1:
                if o.order_id != bid_id or pos >= max_pos:
                    if o.cancellable:
                        hbt.cancel(a, o.order_id, False)
                else:
                    have_bid = True
            else:
                if o.order_id != ask_id or pos <= -max_pos:
                    if o.cancellable:
                        hbt.cancel(a, o.order_id, False)
                else:
                    have_ask = True
        if not have_bid and pos < max_pos and not orders.__contains__(bid_id):
            hbt.submit_buy_order(a, bid_id, bid, size, GTX, LIMIT, False)
        if not have_ask and pos > -max_pos and not orders.__contains__(ask_id):
            hbt.submit_sell_order(a, ask_id, ask, size, GTX, LIMIT, False)
    return True


def run(n_events: int) -> dict:
    import arbkit
    from arbkit.apps.bench import machine, make_bench_recording
    from arbkit.run.replay import replay
    from arbkit.engine.config import Schedule
    from arbkit.convert.hftbacktest import export_hftbacktest
    from arbkit.strategies.touch_mm import touch_mm
    try:
        from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    except ImportError:
        raise SystemExit("hftbacktest is not installed: pip install -e '.[peer]'") from None

    with tempfile.TemporaryDirectory() as tmp:
        rec = arbkit.load(make_bench_recording(Path(tmp) / "bench", n_events))
        cols = rec.to_numpy()
        usdm = cols.take(cols.asset == 1)
        npz = Path(tmp) / "usdm.npz"
        export_hftbacktest(cols, 1, npz)
        raw = np.load(npz)["data"]
    # hftbacktest's own preparation: rows whose exchange time runs backwards are split so the
    # exchange side sees exchange-time order and the local side local-time order
    from hftbacktest.data.validation import correct_event_order
    from hftbacktest.types import event_dtype
    raw = raw.astype(event_dtype)
    data = correct_event_order(raw, np.argsort(raw["exch_ts"], kind="stable"), np.argsort(raw["local_ts"], kind="stable"))
    inst = rec.instruments[1]
    one = [inst.__class__(**{**inst.__dict__})]
    usdm = usdm.replace(asset=np.zeros(len(usdm), np.int32))

    def arbkit_run():
        return replay(usdm, touch_mm(INTERVAL_NS / 1e6), {"asset": 0, "half_spread_bps": HALF_SPREAD_BPS,
                                                         "order_size": SIZE, "max_position": MAX_POS},
                      instruments=one, latency={"entry": LATENCY_NS, "response": LATENCY_NS},
                      fill={"queue": "power", "queue_power": 2.0}, schedule=Schedule(interval_ms=INTERVAL_NS / 1e6))

    def hbt_run():
        asset = (BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(LATENCY_NS, LATENCY_NS)
                 .power_prob_queue_model(2.0).no_partial_fill_exchange()
                 .trading_value_fee_model(inst.maker_fee_bps * 1e-4, inst.taker_fee_bps * 1e-4)
                 .tick_size(inst.tick_size).lot_size(inst.lot_size).last_trades_capacity(0))
        hbt = HashMapMarketDepthBacktest([asset])
        hbt_market_maker_nb(hbt, HALF_SPREAD_BPS * 1e-4, SIZE, MAX_POS, INTERVAL_NS)
        stats = (hbt.position(0), hbt.state_values(0).num_trades)
        hbt.close()
        return stats

    arbkit_run()  # load the compiled engine
    t0 = time.perf_counter()
    res = arbkit_run()
    t_arbkit = time.perf_counter() - t0
    hbt_run()  # compile the strategy / warm caches
    t0 = time.perf_counter()
    pos, trades = hbt_run()
    t_hbt = time.perf_counter() - t0
    n = len(usdm)
    return {"machine": machine(), "events": n, "hftbacktest_rows": int(len(data)), "hftbacktest_rows_before_order_fix": int(len(raw)),
            "arbkit": {"seconds": t_arbkit, "events_per_s": n / t_arbkit, "fills": int(len(res.fills)),
                       "position": float(res.accounts[0, 0])},
            "hftbacktest": {"seconds": t_hbt, "events_per_s": n / t_hbt, "fills": int(trades), "position": float(pos)},
            "ratio_arbkit_vs_hftbacktest": t_hbt / t_arbkit,
            "settings": {"half_spread_bps": HALF_SPREAD_BPS, "size": SIZE, "max_position": MAX_POS,
                         "latency_ns": LATENCY_NS, "interval_ns": INTERVAL_NS, "queue": "power 2"}}


def markdown(r: dict) -> str:
    m = r["machine"]
    a, h = r["arbkit"], r["hftbacktest"]
    return (f"Machine: {m['cpu']}, {m['cores']} cores. Fixed-spread market maker on {r['events']:,} USD-M events "
            f"(in memory, one run):\n\n| engine | wall time s | events/s | fills |\n|---|---|---|---|\n"
            f"| arbkit | {a['seconds']:.2f} | {a['events_per_s'] / 1e6:.1f} M | {a['fills']} |\n"
            f"| hftbacktest | {h['seconds']:.2f} | {h['events_per_s'] / 1e6:.1f} M | {h['fills']} |\n\n"
            f"arbkit / hftbacktest speed ratio: {r['ratio_arbkit_vs_hftbacktest']:.2f}x.\n")


def main() -> None:
    from arbkit.apps.bench import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--json", default=str(ROOT / "results" / "peer.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "peer.md"))
    args = ap.parse_args()
    report = run(args.events)
    write_report(report, args.json, args.markdown, markdown(report))


if __name__ == "__main__":
    main()

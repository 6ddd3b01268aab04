"""arbkit against hftbacktest, fill by fill and for speed, on the same real events.

The events are the real Binance USD-M BTCUSDT rows as arbkit converts them (the bundled
recording's ``binance-usdm:BTCUSDT`` rows, or ``--source`` raw capture files), handed to
hftbacktest by ``export_hftbacktest``'s array on one clock (exchange time = local time,
side-less clears). Both engines run arbkit's ``touch_mm`` rule — a bid and an ask at the
touch, re-quoted on a 100 ms timer with modify, pulled (cancel) at the position limit —
at the same call times (the times arbkit called it), with 1 ms entry and response
latency in both, and each configuration is compared fill by fill:

* ``risk_averse``: arbkit ``fill.queue=risk_averse`` / hftbacktest ``RiskAdverseQueueModel``;
* ``power2``: arbkit ``fill.queue=power, queue_power=2`` / hftbacktest ``PowerProbQueueModel(2)``;

both with hftbacktest's partial-fill exchange and arbkit filling trade-throughs and
crossings in full (as hftbacktest does). Every unmatched fill gets a reason
(``peer_match.REASONS``); the order streams of both strategies are compared too. Speed:
alternating timed runs of each engine in this process (min and median). Needs the
optional peer: ``pip install -e '.[peer]'``.

    python benchmarks/bench_peer.py [--json OUT] [--markdown OUT] [--source FILE ...] [--runs N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import arbkit
from arbkit import Kind
from arbkit.apps.bench import BUNDLED, machine, write_report
from arbkit.engine import codes as c
from arbkit.convert import run_converter
from arbkit.convert.hftbacktest import hftbacktest_events

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import peer_match as pm  # noqa: E402
import peer_runs as pr  # noqa: E402

SYMBOL = "binance-usdm:BTCUSDT"
SIZE = 0.01
#: the position limit is 0.05 applied to lot-grid positions; set half a lot inside it so float noise in
#: summed fill quantities (0.04999999999999999 vs 0.05) cannot flip touch_mm's ``pos < max_position`` test
MAX_POSITION = 0.0495
HALF_SPREAD_BPS = 0.0  # quotes at the touch
LATENCY_NS = 1_000_000
INTERVAL_MS = 100.0
#: each hftbacktest order goes out this far below its size (see peer_runs.hbt_touch_mm: its issue #312)
NUDGE = 1e-12
CONFIGS = (
    {"name": "risk_averse", "title": "risk-averse queue, partial fills", "queue": "risk_averse", "queue_power": 2.0},
    {"name": "power2", "title": "power-2 queue, partial fills", "queue": "power", "queue_power": 2.0},
)
SAMPLE_ROWS = 12
UNMATCHED_CAP = 60


def load_events(sources: list[str] | None):
    """(events of one instrument with asset 0, its Instrument, a description of where they came from)."""
    if sources:
        conv = run_converter("binance", sources)
        keys = [i.key for i in conv.instruments]
        if SYMBOL not in keys:
            raise SystemExit(f"--source: no {SYMBOL} rows in {sources} (found {keys})")
        cols, insts = conv.events, conv.instruments
        where = "converted by arbkit from " + ", ".join(Path(s).name for s in sources)
    else:
        rec = arbkit.load(BUNDLED)
        cols, insts = rec.to_numpy(), rec.instruments
        where = (f"the bundled recording {BUNDLED.name}'s {SYMBOL} rows (arbkit's conversion of "
                 "binance_usdm_btcusdt_20240808.gz, recordings/PROVENANCE.md)")
    a = [i.key for i in insts].index(SYMBOL)
    one = cols.take(cols.asset == a)
    return one.replace(asset=np.zeros(len(one), np.int32)), insts[a], where


def fill_pnl(fills: np.ndarray, tick: float, maker_bps: float, mid: float) -> tuple[float, float]:
    """(position, PnL at ``mid`` after maker fees) from fill rows: one formula for both engines."""
    px = fills["tick"] * tick
    q = fills["qty"]
    pos = float(np.sum(fills["side"] * q))
    cash = float(np.sum(-fills["side"] * px * q) - np.sum(px * q) * maker_bps * 1e-4)
    return pos, cash + pos * mid


def compare_config(cfg: dict[str, Any], cols, inst, data: np.ndarray, params: dict[str, float]) -> dict[str, Any]:
    """Both engines' logged runs of one configuration, compared fill by fill."""
    fill = pr.arbkit_fill_model(cfg["queue"], cfg["queue_power"])
    # at most one call per interval, and at most two requests per call
    calls_max = int((cols.ts_local[-1] - cols.ts_local[0]) // int(INTERVAL_MS * 1e6)) + 2
    a = pr.run_arbkit(cols, inst, params, fill, LATENCY_NS, INTERVAL_MS, log_capacity=3 * calls_max + 16)
    res = a["result"]
    h = pr.run_hftbacktest(data, inst, a["calls"], params, cfg["queue"], cfg["queue_power"], LATENCY_NS,
                           step=True, nudge=NUDGE)
    bare = pr.run_hftbacktest(data, inst, a["calls"], params, cfg["queue"], cfg["queue_power"], LATENCY_NS,
                              step=True, nudge=0.0)
    af = pm.fills_from_arrays(res.fills["ts"], res.fills["order_id"], res.fills["side"], res.fills["price"],
                              res.fills["qty"], inst.tick_size)
    log = res.orders
    cross_a = {int(o): int(t) for o, t, e, r in zip(log["order_id"], log["ts"], log["event"], log["reason"])
               if e == c.EV_REQ_REJECT and r == c.R_MODIFY_WOULD_CROSS}
    trade = cols.kind == Kind.TRADE
    cmp_ = pm.compare(a["requests"], h["requests"], af, h["fills"], lot=inst.lot_size, entry_latency_ns=LATENCY_NS,
                      event_ts=cols.ts_local, trade_ts=cols.ts_local[trade], trade_side=cols.side[trade].astype(np.int64),
                      trade_tick=np.floor(cols.price[trade] / inst.tick_size + 0.5).astype(np.int64),
                      modify_cross=(cross_a, h["expired_after_modify"]))
    mid = float(res.accounts[0, c.A_MID])
    a_pos, a_pnl = fill_pnl(af, inst.tick_size, inst.maker_fee_bps, mid)
    h_pos, h_pnl = fill_pnl(h["fills"], inst.tick_size, inst.maker_fee_bps, h["final_mid"])
    own = h["own_state"]
    arrivals = np.concatenate([a["requests"]["ts"], h["requests"]["ts"]]) + LATENCY_NS
    pair = cmp_.pop("pairs")
    return {
        **{k: cfg[k] for k in ("name", "title", "queue", "queue_power")},
        "arbkit_fill": fill, "calls": int(len(a["calls"])), "hftbacktest_calls": h["calls"],
        "hftbacktest_status": h["status"], **cmp_,
        "arbkit": {"fills": int(len(af)), "position": float(res.accounts[0, c.A_POS]), "pnl": float(res.pnl),
                   "position_from_fills": a_pos, "pnl_from_fills": a_pnl, "final_mid": mid,
                   "fills_hash": res.fills_hash, "counters": res.counters},
        "hftbacktest": {"fills": int(len(h["fills"])), "position_from_fills": h_pos, "pnl_from_fills": h_pnl,
                        "final_mid": h["final_mid"], "own_position": own["position"],
                        "own_pnl": own["balance"] - own["fee"] + own["position"] * h["final_mid"],
                        "own_num_trades": own["num_trades"], "updates_folding_several_fills": h["folded_updates"]},
        "modify_would_cross": {"arbkit_refused": len(cross_a), "hftbacktest_expired": len(h["expired_after_modify"])},
        "requests_arriving_on_an_event_ns": int(np.isin(arrivals, cols.ts_local).sum()),
        "without_nudge": {"status": bare["status"], "stopped_at_ns": bare["last_ts"], "fills": int(len(bare["fills"])),
                          "calls": bare["calls"]},
        "sample": side_by_side(af, h["fills"], pair, cmp_["unmatched"], inst),
        "_runs": (a, h),
    }


def side_by_side(af: np.ndarray, hf: np.ndarray, pair: np.ndarray, unmatched: list, inst) -> dict[str, Any]:
    """The first fills of both engines side by side (a matched pair on one row), and unmatched rows up to a cap."""
    def row(f):
        return {"side": "buy" if f["side"] > 0 else "sell", "price": round(float(f["tick"]) * inst.tick_size, 8),
                "qty": float(f["qty"]), "order_id": int(f["order_id"])}
    rows = [{"ts": int(af["ts"][i]), "arbkit": row(af[i]), "hftbacktest": row(hf[pair[i]]) if pair[i] >= 0 else None}
            for i in range(min(len(af), SAMPLE_ROWS))]
    paired = set(int(j) for j in pair[pair >= 0])
    rows += [{"ts": int(hf["ts"][j]), "arbkit": None, "hftbacktest": row(hf[j])}
             for j in range(min(len(hf), SAMPLE_ROWS)) if j not in paired]
    rows.sort(key=lambda e: e["ts"])
    return {"first": rows[:SAMPLE_ROWS], "unmatched": unmatched[:UNMATCHED_CAP], "unmatched_total": len(unmatched)}


def time_runs(cfg, cols, inst, data, params, call_ts, runs: int, logged: dict) -> dict[str, Any]:
    """Alternating timed runs of each engine in this process (wall and CPU time); checks they did what the
    logged runs did. CPU time is the steadier figure on a shared machine: both engines run on one thread."""
    fill = pr.arbkit_fill_model(cfg["queue"], cfg["queue_power"])
    pr.run_arbkit_plain(cols, inst, params, fill, LATENCY_NS, INTERVAL_MS)  # warm: compiled code, caches
    pr.run_hftbacktest(data, inst, call_ts, params, cfg["queue"], cfg["queue_power"], LATENCY_NS, step=False, nudge=NUDGE)
    times: dict[str, dict[str, list[float]]] = {"arbkit": {"wall": [], "cpu": []}, "hftbacktest": {"wall": [], "cpu": []}}
    same_a = same_h = True
    load_before = os.getloadavg()[0]
    for k in range(runs):
        for who in (("arbkit", "hftbacktest") if k % 2 == 0 else ("hftbacktest", "arbkit")):
            w0, c0 = time.perf_counter(), time.process_time()
            if who == "arbkit":
                res = pr.run_arbkit_plain(cols, inst, params, fill, LATENCY_NS, INTERVAL_MS)
            else:
                h = pr.run_hftbacktest(data, inst, call_ts, params, cfg["queue"], cfg["queue_power"], LATENCY_NS,
                                       step=False, nudge=NUDGE)
            times[who]["wall"].append(time.perf_counter() - w0)
            times[who]["cpu"].append(time.process_time() - c0)
            if who == "arbkit":
                same_a &= res.fills_hash == logged["arbkit"]["fills_hash"]
            else:
                same_h &= bool(np.array_equal(h["requests"], logged["_runs"][1]["requests"]))
    out: dict[str, Any] = {"runs": runs, "load_average_1min": [load_before, os.getloadavg()[0]], "seconds": times,
                           "arbkit_timed_runs_same_fills": bool(same_a),
                           "hftbacktest_timed_runs_same_requests": bool(same_h)}
    for clock in ("wall", "cpu"):
        for who in ("arbkit", "hftbacktest"):
            out[f"{who}_{clock}_min_s"] = min(times[who][clock])
            out[f"{who}_{clock}_median_s"] = statistics.median(times[who][clock])
        for stat in ("min", "median"):
            out[f"ratio_{clock}_{stat}"] = out[f"hftbacktest_{clock}_{stat}_s"] / out[f"arbkit_{clock}_{stat}_s"]
    out["arbkit_events_per_s_cpu_median"] = len(cols) / out["arbkit_cpu_median_s"]
    out["hftbacktest_events_per_s_cpu_median"] = len(cols) / out["hftbacktest_cpu_median_s"]
    return out


def run(sources: list[str] | None, runs: int) -> dict[str, Any]:
    try:
        import hftbacktest
    except ImportError:
        raise SystemExit("hftbacktest is not installed: pip install -e '.[peer]'") from None

    cols, inst, where = load_events(sources)
    data = hftbacktest_events(cols, 0).astype(hftbacktest.types.event_dtype)
    params = {"asset": 0, "half_spread_bps": HALF_SPREAD_BPS, "order_size": SIZE, "max_position": MAX_POSITION}
    configs = []
    for cfg in CONFIGS:
        r = compare_config(cfg, cols, inst, data, params)
        a_run, _ = r["_runs"]
        r["speed"] = time_runs(cfg, cols, inst, data, params, a_run["calls"], runs, r)
        del r["_runs"]
        configs.append(r)
    return {"machine": machine(), "hftbacktest_version": importlib.metadata.version("hftbacktest"), "events": int(len(cols)),
            "hftbacktest_rows": int(len(data)), "source": where,
            "span_s": float((cols.ts_local[-1] - cols.ts_local[0]) / 1e9),
            "instrument": {"key": inst.key, "tick_size": inst.tick_size, "lot_size": inst.lot_size,
                           "maker_fee_bps": inst.maker_fee_bps, "taker_fee_bps": inst.taker_fee_bps},
            "settings": {"strategy": "touch_mm", **params, "latency_entry_ns": LATENCY_NS,
                         "latency_response_ns": LATENCY_NS, "interval_ms": INTERVAL_MS,
                         "hftbacktest_order_nudge": NUDGE, "hftbacktest_exchange": "partial_fill_exchange"},
            "reasons": pm.REASONS, "configs": configs}


# -- markdown -----------------------------------------------------------------------------------

def _t(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns // 10**9, dt.timezone.utc).strftime("%H:%M:%S") + f".{ns % 10**9:09d}"


def _reasons(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    return "; ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _fill_cell(f) -> str:
    return "" if f is None else f"{f['side']} {f['qty']:.6g} @ {f['price']:.1f} (#{f['order_id']})"


def markdown(r: dict[str, Any], command: str) -> str:
    m = r["machine"]
    cs = r["configs"]
    head = "| | " + " | ".join(c["title"] for c in cs) + " |\n|---|" + "---|" * len(cs) + "\n"

    def line(label, fn):
        return f"| {label} | " + " | ".join(fn(c) for c in cs) + " |\n"

    s = r["settings"]
    out = [f"# arbkit against hftbacktest {r['hftbacktest_version']}, fill by fill\n\n",
           f"`{command}` — machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numba {m['numba']}.\n\n",
           f"Events: {r['events']:,} rows over {r['span_s']:.0f} s, {r['source']}; hftbacktest replays the same rows "
           f"from `hftbacktest_events` (exchange time = local time, side-less clears). Strategy: arbkit's `touch_mm` "
           f"at the touch (half spread {s['half_spread_bps']} bps), {s['order_size']} per side, position limit "
           f"{s['max_position']} (a 0.05 limit set half a lot inside), every {s['interval_ms']:.0f} ms; entry and "
           f"response latency {s['latency_entry_ns'] / 1e6:g} ms in both; the hftbacktest side is called at arbkit's "
           f"call times. arbkit fills trade-throughs and crossings in full (`fill.trade_through="
           f"{cs[0]['arbkit_fill']['trade_through']!r}`, `cross_fill=True`), as hftbacktest does.\n\n", head]
    out.append(line("strategy calls arbkit / hftbacktest", lambda c: f"{c['calls']:,} / {c['hftbacktest_calls']:,}" + (
        "" if c["hftbacktest_status"] == 0 else f" — hftbacktest STOPPED with status {c['hftbacktest_status']}")))
    out.append(line("fills arbkit / hftbacktest", lambda c: f"{c['fills']['arbkit']} / {c['fills']['hftbacktest']}"))
    out.append(line("exact matches (ns time, side, price, qty)", lambda c: str(c["fills"]["matched"])))
    out.append(line("only in arbkit", lambda c: f"{c['fills']['only_arbkit']}: {_reasons(c['only_by_reason']['arbkit'])}"))
    out.append(line("only in hftbacktest",
                    lambda c: f"{c['fills']['only_hftbacktest']}: {_reasons(c['only_by_reason']['hftbacktest'])}"))
    out.append(line("order streams (requests)", lambda c: (
        f"identical: {c['requests']['arbkit']:,}" if c["requests"]["identical"] else
        f"first {c['requests']['identical_prefix']:,} of {c['requests']['arbkit']:,} / {c['requests']['hftbacktest']:,} "
        f"identical; part at {_t(c['requests']['first_difference']['ts'])} after "
        f"{c['requests'].get('parted_after') or 'dust only'}; {c['requests']['in_both']:,} in both")))
    out.append(line("final position arbkit / hftbacktest",
                    lambda c: f"{c['arbkit']['position']:.3f} / {c['hftbacktest']['position_from_fills']:.3f}"))
    out.append(line("PnL after fees, USDT, arbkit / hftbacktest",
                    lambda c: f"{c['arbkit']['pnl']:.2f} / {c['hftbacktest']['pnl_from_fills']:.2f}"))
    out.append(line("hftbacktest's own position / PnL / fill count (its #299)",
                    lambda c: f"{c['hftbacktest']['own_position']:.3f} / {c['hftbacktest']['own_pnl']:.2f} / "
                              f"{c['hftbacktest']['own_num_trades']}"))
    for clock, label in (("cpu", "CPU"), ("wall", "wall")):
        for who in ("arbkit", "hftbacktest"):
            out.append(line(f"{label} time s, {who} min / median", lambda c, w=who, k=clock: (
                f"{c['speed'][f'{w}_{k}_min_s']:.3f} / {c['speed'][f'{w}_{k}_median_s']:.3f}")))
        out.append(line(f"speed ratio hftbacktest ÷ arbkit, {label} time, min / median", lambda c, k=clock: (
            f"{c['speed'][f'ratio_{k}_min']:.2f}× / {c['speed'][f'ratio_{k}_median']:.2f}×")))
    loads = [x for c in cs for x in c["speed"]["load_average_1min"]]
    out.append(f"\nSpeed: {cs[0]['speed']['runs']} alternating runs of each engine per configuration in one process "
               "after a warm-up, each from the in-memory events to the final fills (arbkit: `replay` of the plain "
               "`touch_mm`; hftbacktest: building the backtest and running the rule from call to call), timed by the "
               "wall clock and by this process's CPU time. Both engines run on one thread, so CPU time is the steadier "
               f"figure on a shared machine (1-minute load average here {min(loads):.1f}–{max(loads):.1f} on "
               f"{m['cores']} cores). The timed runs did what the compared runs did: " + ", ".join(
                   f"{c['name']}: arbkit fills hash {'same' if c['speed']['arbkit_timed_runs_same_fills'] else 'DIFFERENT'}, "
                   f"hftbacktest requests {'same' if c['speed']['hftbacktest_timed_runs_same_requests'] else 'DIFFERENT'}"
                   for c in cs) + ".\n\n")
    out.append("## Where the rules differ\n\n| rule | arbkit | hftbacktest | figure |\n|---|---|---|---|\n")
    ra, pw = cs[0], cs[-1]

    def cnt(c, reason):
        return c["only_by_reason"]["arbkit"].get(reason, 0) + c["only_by_reason"]["hftbacktest"].get(reason, 0)

    rules = [
        ("queue position, risk-averse", "queue ahead falls by each trade at the price; a fill takes the excess "
         "floored to whole lots (the remainder is lost)", "the excess is rounded to whole lots; a remainder under half a lot stays as negative queue for "
         "the next trade", f"{ra['name']}: {cnt(ra, 'queue_rule')} queue_rule, {cnt(ra, 'dust')} dust"),
        ("power queue: who cancelled", "share ahead f(a)/(f(a)+f(b)), f=x²; behind b = level − volume traded at the "
         "level since its last update − a", "the same share, but behind = previous level − a, which still counts "
         "that traded volume behind you; cancellations beyond b come out of a",
         f"{pw['name']}: {cnt(pw, 'queue_rule')} queue_rule, {cnt(pw, 'off_lot')} off_lot"),
        ("fill quantities", "whole lots (queue shares and trade-through volume floored to the lot)", "whole lots",
         "; ".join(f"{c['name']}: {cnt(c, 'dust')} dust, {cnt(c, 'off_lot')} off_lot" for c in cs)),
        ("price modify after a partial fill", "leaves = new total − filled (the order is whole again)",
         "leaves stay what the strategy knew; the quantity is ignored",
         "; ".join(f"{c['name']}: {cnt(c, 'leaves_after_modify')} fills" for c in cs)),
        ("modify that would cross", "refused; the order rests at its old price", "the order expires",
         "; ".join(f"{c['name']}: {c['modify_would_cross']['arbkit_refused']} / {c['modify_would_cross']['hftbacktest_expired']}"
                   f" (fills: {cnt(c, 'modify_cross')})" for c in cs)),
        ("crossing", "checked at the end of each book message", "checked after each row",
         "; ".join(f"{c['name']}: {cnt(c, 'cross_timing')} fills" for c in cs)),
        ("request at the exact ns of an event", "matched before the event", "matched after it",
         "; ".join(f"{c['name']}: {c['requests_arriving_on_an_event_ns']} requests, {cnt(c, 'tie')} fills" for c in cs)),
        ("second request while one is in flight", "sent", "refused (OrderRequestInProcess)",
         "; ".join(f"{c['name']}: {c['requests']['refused_by_hftbacktest']}" for c in cs)),
        ("position seen by the strategy", "every fill response", "`position()` moves only on a full fill "
         "(hftbacktest #299); the driver keeps its own from order updates",
         "; ".join(f"{c['name']}: own {c['hftbacktest']['own_position']:.3f} vs {c['hftbacktest']['position_from_fills']:.3f}"
                   for c in cs)),
        ("a queue fill that exhausts an order exactly", "order done", "order stays in the book; its next fill "
         f"stops the backtest with InvalidOrderStatus (hftbacktest #312); orders go out {NUDGE:g} below size",
         "; ".join(f"{c['name']}: without it, status {c['without_nudge']['status']} at "
                   f"{_t(c['without_nudge']['stopped_at_ns'])} after {c['without_nudge']['fills']} fills" for c in cs)),
    ]
    for rule in rules:
        out.append("| " + " | ".join(rule) + " |\n")
    out.append("\nReasons: " + "; ".join(f"`{k}` — {v}" for k, v in r["reasons"].items()) + ".\n")
    for c in cs:
        out.append(f"\n## {c['title']}: fills side by side\n\n")
        first = c["requests"]["first_difference"]
        if first is not None:
            def req(x):
                if x is None:
                    return "nothing"
                what = f"{x['kind']} #{x['order_id']} {'bid' if x['side'] > 0 else 'ask'}"
                if x["kind"] != "cancel":
                    what += f" {x['tick'] * r['instrument']['tick_size']:.1f} qty {x['qty']:.6g}"
                return f"{what} at {_t(x['ts'])}"
            out.append(f"The order streams agree for {c['requests']['identical_prefix']:,} requests; then arbkit sends "
                       f"{req(first['arbkit'])}, hftbacktest {req(first['hftbacktest'])} (the last unmatched fill "
                       f"before: {c['requests'].get('parted_after') or 'none'}).\n\n")
        out.append("First rows:\n\n| time (UTC) | arbkit | hftbacktest |\n|---|---|---|\n")
        for e in c["sample"]["first"]:
            out.append(f"| {_t(e['ts'])} | {_fill_cell(e['arbkit'])} | {_fill_cell(e['hftbacktest'])} |\n")
        u = c["sample"]["unmatched"]
        out.append(f"\nUnmatched rows ({len(u)} of {c['sample']['unmatched_total']}):\n\n"
                   "| time (UTC) | engine | fill | reason |\n|---|---|---|---|\n")
        for e in u:
            f = {"side": "buy" if e["side"] > 0 else "sell", "qty": e["lots"], "price": e["tick"] * r["instrument"]["tick_size"],
                 "order_id": e["order_id"]}
            out.append(f"| {_t(e['ts'])} | {e['engine']} | {f['side']} {e['qty']:.6g} @ {f['price']:.1f} "
                       f"(#{f['order_id']}) | {e['reason']}{' (follows)' if e['inherited'] else ''} |\n")
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", nargs="*", help="raw Binance capture file(s) to convert instead of the bundled recording")
    ap.add_argument("--runs", type=int, default=9, help="timed runs of each engine per configuration")
    ap.add_argument("--json", default=str(ROOT / "results" / "peer.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "peer.md"))
    args = ap.parse_args()
    if args.runs < 1:
        raise SystemExit(f"--runs must be at least 1, got {args.runs}")
    report = run(args.source, args.runs)
    command = "python benchmarks/bench_peer.py " + " ".join(sys.argv[1:])
    write_report(report, args.json, args.markdown, markdown(report, command.strip()))


if __name__ == "__main__":
    main()

"""Fill-by-fill comparison of two engines' runs: exact matches, and a reason for every unmatched fill.

Plain numpy/Python (no engine, no hftbacktest), so it is tested on hand-built rows.
A fill is (ts ns, order id, side +1/-1, price tick, qty); a request is (ts, kind, order id,
side, tick, qty, refused) with kinds NEW / CANCEL / MODIFY. Two fills match when time,
side, price tick and quantity agree (quantity to 1e-6 lot). Orders are paired across the
engines by their submit (time, side, price), since ids drift apart once one engine sends
an order the other does not.

An unmatched fill gets the first reason that applies (:data:`REASONS`):

1. ``dust`` — an arbkit fill below one lot.
2. ``streams_diverged`` — its order has no counterpart, or the two orders' requests
   before the fill differ: the engines' order streams had parted already.
3. inherited — an earlier non-dust unmatched fill of the same order pair: this one is its
   consequence and takes its reason.
4. ``modify_cross`` — before the fill, a modify of the order would have crossed (arbkit
   refused the modify, hftbacktest expired the order).
5. ``leaves_after_modify`` — the order had filled in part before a price-changing modify.
6. ``tie`` — one of the order's requests reached the exchange at the exact ns of an event.
7. ``off_lot`` — the other engine filled the same order at the same time and price, less
   than a lot apart, and one of the two quantities is a fractional number of lots.
8. by what happened at the fill's time: a trade at the order's price → ``queue_rule``;
   a trade beyond it → ``trade_through``; a book update → ``cross_timing``; else ``other``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

NEW, CANCEL, MODIFY = 0, 1, 2
KIND_NAMES = {NEW: "new", CANCEL: "cancel", MODIFY: "modify"}
REQUEST_DTYPE = np.dtype([("ts", "i8"), ("kind", "i8"), ("order_id", "i8"), ("side", "i8"), ("tick", "i8"),
                          ("qty", "f8"), ("refused", "i8")])
FILL_DTYPE = np.dtype([("ts", "i8"), ("order_id", "i8"), ("side", "i8"), ("tick", "i8"), ("qty", "f8")])
QTY_DIGITS = 6  # quantities compare in lots to this many decimals

REASONS: dict[str, str] = {
    "dust": "arbkit fill below one lot (none since fills are floored to the lot grid; kept to show it)",
    "off_lot": "the same fill, less than a lot apart: arbkit floors its queue share to whole lots, "
               "hftbacktest rounds it",
    "queue_rule": "the queue-position rules differ (see the rule table)",
    "leaves_after_modify": "price modify after a partial fill: arbkit re-opens the order to its new total "
                           "(leaves = size), hftbacktest keeps the leaves it had",
    "modify_cross": "a modify that would cross: arbkit refuses it and the order rests at its old price, "
                    "hftbacktest expires the order",
    "cross_timing": "crossing checked after each row (hftbacktest) or at the end of the book message (arbkit)",
    "trade_through": "a trade beyond the order's price filled it differently",
    "tie": "a request reached the exchange at the exact ns of an event (arbkit matches it before the event, "
           "hftbacktest after)",
    "streams_diverged": "the order streams had parted by then (a consequence of an earlier difference)",
    "other": "not explained by the rules above",
}


def fills_from_arrays(ts, order_id, side, price, qty, tick_size: float) -> np.ndarray:
    """Fills as :data:`FILL_DTYPE` from columns (price in quote units)."""
    out = np.zeros(len(ts), FILL_DTYPE)
    out["ts"] = ts
    out["order_id"] = order_id
    out["side"] = side
    out["tick"] = np.floor(np.asarray(price, np.float64) / tick_size + 0.5).astype(np.int64)
    out["qty"] = qty
    return out


def _lots(qty: Any, lot: float) -> Any:
    return np.round(np.asarray(qty, np.float64) / lot, QTY_DIGITS)


def match_fills(a: np.ndarray, h: np.ndarray, lot: float) -> np.ndarray:
    """For each row of ``a``, the row of ``h`` that is its exact counterpart, or -1 (one-to-one)."""
    pool: dict[tuple, list[int]] = defaultdict(list)
    la, lh = _lots(a["qty"], lot), _lots(h["qty"], lot)
    for j in range(len(h)):
        pool[(int(h["ts"][j]), int(h["side"][j]), int(h["tick"][j]), float(lh[j]))].append(j)
    pair = np.full(len(a), -1, np.int64)
    for i in range(len(a)):
        js = pool.get((int(a["ts"][i]), int(a["side"][i]), int(a["tick"][i]), float(la[i])))
        if js:
            pair[i] = js.pop(0)
    return pair


def _req_key(r: np.void, lot: float) -> tuple:
    # ids drift between engines, and a modify's total carries arbkit's dust: compare to half a lot
    return (int(r["ts"]), int(r["kind"]), int(r["side"]), int(r["tick"]), int(np.floor(r["qty"] / lot + 0.5)))


def compare_requests(a: np.ndarray, h: np.ndarray, lot: float) -> dict[str, Any]:
    """How far two request streams agree: common prefix, first difference, requests in both."""
    ka = [_req_key(r, lot) for r in a]
    kh = [_req_key(r, lot) for r in h]
    n = 0
    while n < min(len(ka), len(kh)) and ka[n] == kh[n]:
        n += 1
    common = defaultdict(int)
    for k in ka:
        common[k] += 1
    both = 0
    for k in kh:
        if common[k] > 0:
            common[k] -= 1
            both += 1
    first = None
    if n < max(len(ka), len(kh)):
        first = {"index": n, "ts": int(min(x[0] for x in (ka[n:n + 1] + kh[n:n + 1]))),
                 "arbkit": _describe(a[n]) if n < len(a) else None,
                 "hftbacktest": _describe(h[n]) if n < len(h) else None}
    return {"arbkit": len(a), "hftbacktest": len(h), "identical_prefix": n, "identical": first is None,
            "in_both": both, "first_difference": first,
            "refused_by_hftbacktest": int(np.sum(h["refused"])) if len(h) else 0}


def _describe(r: np.void) -> dict[str, Any]:
    return {"ts": int(r["ts"]), "kind": KIND_NAMES.get(int(r["kind"]), str(int(r["kind"]))),
            "order_id": int(r["order_id"]), "side": int(r["side"]), "tick": int(r["tick"]), "qty": float(r["qty"])}


def pair_orders(a: np.ndarray, h: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
    """Order ids paired across engines by their submit (time, side, tick): (arbkit -> hft, hft -> arbkit)."""
    sub_h = {(int(r["ts"]), int(r["side"]), int(r["tick"])): int(r["order_id"]) for r in h if r["kind"] == NEW}
    a2h: dict[int, int] = {}
    for r in a:
        if r["kind"] == NEW:
            j = sub_h.get((int(r["ts"]), int(r["side"]), int(r["tick"])))
            if j is not None:
                a2h[int(r["order_id"])] = j
    return a2h, {v: k for k, v in a2h.items()}


class Classifier:
    """Reasons for the unmatched fills of one comparison (see the module docstring)."""

    def __init__(self, a_req: np.ndarray, h_req: np.ndarray, a_fills: np.ndarray, h_fills: np.ndarray,
                 a_matched: np.ndarray, h_matched: np.ndarray, *, lot: float, entry_latency_ns: int,
                 event_ts: np.ndarray, trade_ts: np.ndarray, trade_side: np.ndarray, trade_tick: np.ndarray,
                 modify_cross: tuple[dict[int, int], dict[int, int]] = ({}, {})) -> None:
        self.lot = lot
        self.req = (a_req, h_req)
        self.fills = (a_fills, h_fills)
        self.matched = (a_matched, h_matched)
        self.pair = pair_orders(a_req, h_req)
        self.by_order_req = tuple(_group(r) for r in self.req)
        self.by_order_fill = tuple(_group(f) for f in self.fills)
        self.event_ts = np.unique(event_ts)
        order = np.argsort(trade_ts, kind="stable")
        self.trade_ts = trade_ts[order]
        self.trade_side = trade_side[order]
        self.trade_tick = trade_tick[order]
        self.latency = entry_latency_ns
        self.modify_cross = modify_cross
        self._memo: dict[tuple[int, int], tuple[str, bool]] = {}

    def reason(self, e: int, i: int) -> tuple[str, bool]:
        """(reason, inherited) of unmatched fill ``i`` of engine ``e`` (0 arbkit, 1 hftbacktest)."""
        key = (e, i)
        if key not in self._memo:
            self._memo[key] = self._reason(e, i)
        return self._memo[key]

    def _reason(self, e: int, i: int) -> tuple[str, bool]:
        f = self.fills[e][i]
        t, oid = int(f["ts"]), int(f["order_id"])
        lots = float(_lots(f["qty"], self.lot))
        if e == 0 and lots < 1.0:
            return "dust", False
        other = self.pair[e].get(oid)
        if other is None:
            return "streams_diverged", False
        mine_req = [_req_key(r, self.lot) for r in self.by_order_req[e].get(oid, ()) if r["ts"] < t]
        their_req = [_req_key(r, self.lot) for r in self.by_order_req[1 - e].get(other, ()) if r["ts"] < t]
        if mine_req != their_req:
            return "streams_diverged", False
        earlier = self._earliest_unmatched(e, oid, other, t)
        if earlier is not None:
            return self.reason(*earlier)[0], True
        if self.modify_cross[e].get(oid, t) < t or self.modify_cross[1 - e].get(other, t) < t:
            return "modify_cross", False
        reqs = [r for r in self.by_order_req[e].get(oid, ()) if r["ts"] < t]
        fills_before = [g for g in self.by_order_fill[e].get(oid, ()) if g["ts"] < t and _lots(g["qty"], self.lot) >= 1.0]
        for r in reqs:
            if r["kind"] == MODIFY and any(g["ts"] < r["ts"] for g in fills_before):
                return "leaves_after_modify", False
        arrivals = np.array([int(r["ts"]) + self.latency for r in reqs], np.int64)
        if arrivals.size and np.isin(arrivals, self.event_ts).any():
            return "tie", False
        twin = self._same_event(e, i, other)
        if twin is not None and abs(float(_lots(twin["qty"], self.lot)) - lots) < 1.0 and \
                (_fractional(lots) or _fractional(float(_lots(twin["qty"], self.lot)))):
            return "off_lot", False
        return self._mechanism(t, int(f["side"]), int(f["tick"])), False

    def _same_event(self, e: int, i: int, other: int) -> np.void | None:
        """The other engine's unmatched fill of the paired order at the same time and price, if any."""
        f = self.fills[e][i]
        g, m = self.fills[1 - e], self.matched[1 - e]
        hit = np.flatnonzero(~m & (g["order_id"] == other) & (g["ts"] == f["ts"]) & (g["tick"] == f["tick"]))
        return g[hit[0]] if hit.size else None

    def _earliest_unmatched(self, e: int, oid: int, other: int, t: int) -> tuple[int, int] | None:
        """The earliest non-dust unmatched fill of this order pair strictly before ``t`` (either engine)."""
        best: tuple[int, int, int] | None = None
        for eng, o in ((e, oid), (1 - e, other)):
            fills, matched = self.fills[eng], self.matched[eng]
            for j in np.flatnonzero((fills["order_id"] == o) & ~matched & (fills["ts"] < t)):
                if eng == 0 and float(_lots(fills["qty"][j], self.lot)) < 1.0:
                    continue
                tj = int(fills["ts"][j])
                if best is None or tj < best[0]:
                    best = (tj, eng, int(j))
        return (best[1], best[2]) if best else None

    def _mechanism(self, t: int, side: int, tick: int) -> str:
        lo = np.searchsorted(self.trade_ts, t, "left")
        hi = np.searchsorted(self.trade_ts, t, "right")
        for k in range(lo, hi):
            if self.trade_side[k] == side:
                continue  # a buyer does not fill our bid
            through = self.trade_tick[k] < tick if side > 0 else self.trade_tick[k] > tick
            if through:
                return "trade_through"
            if self.trade_tick[k] == tick:
                return "queue_rule"
        if np.isin(t, self.event_ts):
            return "cross_timing"
        return "other"


def _fractional(lots: float) -> bool:
    return abs(lots - round(lots)) > 10.0 ** -QTY_DIGITS


def _group(rows: np.ndarray) -> dict[int, np.ndarray]:
    out: dict[int, list] = defaultdict(list)
    for r in rows:
        out[int(r["order_id"])].append(r)
    return {k: np.array(v, dtype=rows.dtype) for k, v in out.items()}


def compare(a_req: np.ndarray, h_req: np.ndarray, a_fills: np.ndarray, h_fills: np.ndarray, *, lot: float,
            entry_latency_ns: int, event_ts: np.ndarray, trade_ts: np.ndarray, trade_side: np.ndarray,
            trade_tick: np.ndarray, modify_cross: tuple[dict[int, int], dict[int, int]] = ({}, {})) -> dict[str, Any]:
    """The whole comparison: matches, unmatched fills with reasons, request streams."""
    pair = match_fills(a_fills, h_fills, lot)
    ma = pair >= 0
    mh = np.zeros(len(h_fills), bool)
    mh[pair[ma]] = True
    cl = Classifier(a_req, h_req, a_fills, h_fills, ma, mh, lot=lot, entry_latency_ns=entry_latency_ns,
                    event_ts=event_ts, trade_ts=trade_ts, trade_side=trade_side, trade_tick=trade_tick,
                    modify_cross=modify_cross)
    rows = []
    for e, (fills, matched) in enumerate(((a_fills, ma), (h_fills, mh))):
        for i in np.flatnonzero(~matched):
            reason, inherited = cl.reason(e, int(i))
            rows.append({"engine": ("arbkit", "hftbacktest")[e], "ts": int(fills["ts"][i]),
                         "order_id": int(fills["order_id"][i]), "side": int(fills["side"][i]),
                         "tick": int(fills["tick"][i]), "qty": float(fills["qty"][i]),
                         "lots": float(_lots(fills["qty"][i], lot)),
                         "reason": reason, "inherited": inherited})
    rows.sort(key=lambda r: (r["ts"], r["engine"]))
    counts: dict[str, dict[str, int]] = {"arbkit": defaultdict(int), "hftbacktest": defaultdict(int)}
    for r in rows:
        counts[r["engine"]][r["reason"]] += 1
    streams = compare_requests(a_req, h_req, lot)
    first = streams["first_difference"]
    if first is not None:
        before = [r for r in rows if r["ts"] <= first["ts"] and r["reason"] not in ("dust", "streams_diverged")]
        streams["parted_after"] = before[-1]["reason"] if before else None
    return {"fills": {"arbkit": int(len(a_fills)), "hftbacktest": int(len(h_fills)), "matched": int(ma.sum()),
                      "only_arbkit": int((~ma).sum()), "only_hftbacktest": int((~mh).sum())},
            "only_by_reason": {k: dict(sorted(v.items())) for k, v in counts.items()},
            "unmatched": rows, "requests": streams, "pairs": pair}

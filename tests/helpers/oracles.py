"""Independent, slow, obvious references used by the tests (no arbkit code inside)."""
from __future__ import annotations

import gzip
import json
from decimal import Decimal


def binance_decimal_replay(paths: list[str]) -> dict:
    """Replay Binance capture files with Decimal arithmetic, straight from the documented rules.

    Returns the final best bid/ask with quantities, the applied-diff count and the
    number of levels per side. Spot: drop u <= L, bridge U <= L+1 <= u, chain U == prev_u+1.
    Futures: drop u < L, bridge U <= L <= u, chain pu == prev_u.
    """
    lines = []
    for p in paths:
        with gzip.open(p, "rt") as fh:
            for line in fh:
                ts, _, payload = line.partition(" ")
                lines.append((int(ts), json.loads(payload)))
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    last = None
    futures = None
    pending = []
    applied = 0
    bridged = False
    for _, msg in lines:
        data = msg.get("data", msg)
        if "lastUpdateId" in data:
            last = data["lastUpdateId"]
            bids = {Decimal(p): Decimal(q) for p, q in data["bids"] if Decimal(q) != 0}
            asks = {Decimal(p): Decimal(q) for p, q in data["asks"] if Decimal(q) != 0}
            todo, pending = pending, []
            for d in todo:
                applied += _apply(d, bids, asks, futures, last, bridged_ref := [bridged, last])
                bridged, last = bridged_ref
            continue
        if data.get("e") != "depthUpdate":
            continue
        futures = "pu" in data
        if last is None:
            pending.append(data)
            continue
        ref = [bridged, last]
        applied += _apply(data, bids, asks, futures, last, ref)
        bridged, last = ref
    bb, ba = max(bids), min(asks)
    return {"bid": bb, "bid_qty": bids[bb], "ask": ba, "ask_qty": asks[ba], "applied": applied,
            "levels": (len(bids), len(asks))}


def _apply(d, bids, asks, futures, last, ref) -> int:
    bridged, last = ref
    U, u = d["U"], d["u"]
    if not bridged:
        if (u < last) if futures else (u <= last):
            return 0
        ok = (U <= last <= u) if futures else (U <= last + 1 <= u)
        assert ok, "no bridging diff"
        bridged = True
    else:
        ok = (d["pu"] == last) if futures else (U == last + 1)
        assert ok, f"sequence gap at U={U}"
    for side, book in (("b", bids), ("a", asks)):
        for p, q in d[side]:
            p, q = Decimal(p), Decimal(q)
            if q == 0:
                book.pop(p, None)
            else:
                book[p] = q
    ref[0], ref[1] = bridged, u
    return 1


def paper_round_trips(bid_a, ask_a, bid_b, ask_b, ts, entry_bps, tp_bps, stop_bps, limit_ns) -> list[float]:
    """The arbitrage edge model's paper trader over a series of the two legs' tops, in plain Python.

    At each point with a round trip open: mark it at the closing touches (sell the long leg
    at its bid, buy the short leg back at its ask); close it when it gains ``tp_bps``, loses
    ``stop_bps`` or has lasted ``limit_ns``. With none open, or one just closed at this
    point: enter when a direction's spread (bps of A's mid) reaches ``entry_bps``, buying at
    the ask and selling at the bid. A round trip still open at the end closes at its last
    mark (0 when it was entered at the last point). Returns the gross bps of each.
    """
    out = []
    open_trip = None  # (direction, long price, short price, reference, t0)
    last = 0.0
    for i in range(len(ts)):
        if open_trip is not None:
            d, p_long, p_short, ref, t0 = open_trip
            close_long = bid_a[i] if d > 0 else bid_b[i]
            close_short = ask_b[i] if d > 0 else ask_a[i]
            last = ((close_long - p_long) + (p_short - close_short)) / ref * 1e4
            if not (last >= tp_bps or last <= -stop_bps or ts[i] - t0 >= limit_ns):
                continue
            out.append(last)
            open_trip = None
        mid = 0.5 * (bid_a[i] + ask_a[i])
        up = (bid_b[i] - ask_a[i]) / mid * 1e4
        down = (bid_a[i] - ask_b[i]) / mid * 1e4
        if up >= entry_bps and up >= down:
            open_trip, last = (1, ask_a[i], bid_b[i], ask_a[i], ts[i]), 0.0
        elif down >= entry_bps:
            open_trip, last = (-1, ask_b[i], bid_a[i], bid_a[i], ts[i]), 0.0
    if open_trip is not None:
        out.append(last)
    return out

"""A plain-Python replay engine with arbkit's semantics, written for clarity, not speed.

Books are dicts of tick -> qty, orders are objects, the two latency queues are deques.
It drives the same *scripted* strategy as ``script_strategy.py`` (a list of timed
submit / cancel / modify actions) so the numba engine can be checked against it
fill by fill. Only what the differential tests compare is modelled (fills, order
states, positions, cash, counters); equity sampling is left out.

Semantics (the contract both engines follow):
* rows are grouped into messages (same asset, ts_local, seq; book kinds together);
  at a message end: re-queue after a CLEAR, crossing fills, usable flag, then the
  strategy is called (every message);
* before a row at time t: requests that reached the exchange by t are matched in
  FIFO order at their arrival time; then responses due by t reach the strategy;
* arrival times are non-decreasing (FIFO per direction): max(now + latency, last);
* random draws (splitmix64) happen at: each request sent (entry latency), each
  response pushed (response latency), each maker fill tried (fill probability).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

MASK = (1 << 64) - 1

SNAPSHOT, DEPTH, TRADE, BBO, CLEAR, GAP, FUNDING, MARK = 1, 2, 3, 4, 5, 6, 7, 8
LIMIT, POST_ONLY, IOC, MARKET = 0, 1, 2, 3
NEW, OPEN, PARTIAL, FILLED, CANCELLED, REJECTED = 0, 1, 2, 3, 4, 5
TERMINAL = (FILLED, CANCELLED, REJECTED)


class SplitMix:
    def __init__(self, seed: int) -> None:
        self.s = seed % (1 << 64)

    def uniform(self) -> float:
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z = z ^ (z >> 31)
        return float(z >> 11) * (1.0 / 9007199254740992.0)


@dataclass
class Order:
    oid: int
    asset: int
    side: int
    otype: int
    tick: int
    qty: float
    leaves: float
    filled: float = 0.0
    status: int = NEW
    queue: float = 0.0
    traded: float = 0.0
    # strategy's view
    lstatus: int = NEW
    lleaves: float = 0.0
    cxl_sent: bool = False
    inflight: int = 0
    released: bool = False


@dataclass
class Latency:
    """Constant ns, or a list of samples drawn uniformly with the run's generator."""

    constant: int = 0
    samples: list[float] | None = None

    def draw(self, rng: SplitMix) -> int:
        if self.samples is None:
            return self.constant
        n = len(self.samples)
        i = int(rng.uniform() * n)
        return int(self.samples[min(i, n - 1)])


@dataclass
class RefInstrument:
    tick: float
    maker_bps: float = 0.0
    taker_bps: float = 0.0
    contract_size: float = 1.0
    inverse: bool = False


@dataclass
class RefFill:
    ts: int
    ts_seen: int
    asset: int
    order_id: int
    side: int
    maker: int
    level: int
    price: float
    qty: float
    fee: float


@dataclass
class ReferenceEngine:
    instruments: list[RefInstrument]
    entry: Latency
    response: Latency
    seed: int = 0
    queue: str = "risk_averse"
    queue_power: float = 2.0
    fill_probability: float = 1.0
    trade_through: bool = True
    cross_fill: bool = True
    consume: bool = False
    max_levels: int = 0
    fills: list[RefFill] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {k: 0 for k in (
        "orders", "cancels", "modifies", "rejects", "request_rejects", "maker_fills", "taker_fills",
        "trade_through_fills", "cross_fills", "prob_skipped_fills")})

    def __post_init__(self) -> None:
        n = len(self.instruments)
        self.rng = SplitMix(self.seed)
        self.bids: list[dict[int, float]] = [dict() for _ in range(n)]
        self.asks: list[dict[int, float]] = [dict() for _ in range(n)]
        self.usable = [False] * n
        self.gapped = [False] * n
        self.requeue = [False] * n
        self.pos = [0.0] * n
        self.cash = [0.0] * n
        self.lpos = [0.0] * n
        self.orders: list[Order] = []  # in id order
        self.requests: deque = deque()
        self.responses: deque = deque()
        self.last_rq = -(1 << 63)
        self.last_rs = -(1 << 63)
        self.consumed: dict[tuple[int, int, int], float] = {}
        self.now = 0

    # -- book ------------------------------------------------------------------------------

    def to_tick(self, a: int, price: float) -> int:
        return math.floor(price * (1.0 / self.instruments[a].tick) + 0.5)

    def best_bid(self, a: int) -> int | None:
        live = [t for t, q in self.bids[a].items() if q > 0]
        return max(live) if live else None

    def best_ask(self, a: int) -> int | None:
        live = [t for t, q in self.asks[a].items() if q > 0]
        return min(live) if live else None

    def level(self, a: int, side: int, tick: int) -> float:
        return (self.bids if side > 0 else self.asks)[a].get(tick, 0.0)

    def mid(self, a: int) -> float:
        bb, ba = self.best_bid(a), self.best_ask(a)
        if bb is None or ba is None:
            return float("nan")
        return 0.5 * (bb + ba) * self.instruments[a].tick

    # -- the strategy's API ------------------------------------------------------------------

    def find(self, oid: int) -> Order | None:
        for o in self.orders:
            if o.oid == oid and not o.released:
                return o
        return None

    def submit(self, a: int, side: int, price: float, qty: float, otype: int) -> int:
        if not (qty > 0) or not math.isfinite(qty):
            self.counters["rejects"] += 1
            return -2
        tick = 0
        if otype != MARKET:
            if not (price > 0) or not math.isfinite(price):
                self.counters["rejects"] += 1
                return -3
            tick = self.to_tick(a, price)
            if abs(tick * self.instruments[a].tick - price) > 1e-9 * price:
                self.counters["rejects"] += 1
                return -3
        oid = len(self.orders) + 1
        o = Order(oid, a, 1 if side > 0 else -1, otype, tick, qty, qty, lleaves=qty)
        self.orders.append(o)
        self._send(o, ("new", tick, qty))
        self.counters["orders"] += 1
        return oid

    def cancel(self, oid: int) -> bool:
        o = self.find(oid)
        if o is None or o.cxl_sent or o.lstatus in TERMINAL:
            return False
        self._send(o, ("cancel", 0, 0.0))
        o.cxl_sent = True
        self.counters["cancels"] += 1
        return True

    def modify(self, oid: int, price: float, qty: float) -> bool:
        o = self.find(oid)
        if o is None or o.lstatus in TERMINAL:
            return False
        if not (price > 0 and qty > 0):
            return False
        tick = self.to_tick(o.asset, price)
        if abs(tick * self.instruments[o.asset].tick - price) > 1e-9 * price:
            return False
        self._send(o, ("modify", tick, qty))
        self.counters["modifies"] += 1
        return True

    def _send(self, o: Order, what: tuple) -> None:
        t = max(self.now + self.entry.draw(self.rng), self.last_rq)
        self.last_rq = t
        self.requests.append((t, o, what))
        o.inflight += 1

    def _respond(self, t_exch: int, o: Order, kind: str, qty: float = 0.0) -> int:
        t = max(t_exch + self.response.draw(self.rng), self.last_rs)
        self.last_rs = t
        self.responses.append((t, o, kind, o.status, o.leaves, qty))
        o.inflight += 1
        return t

    def _maybe_release(self, o: Order) -> None:
        if o.inflight == 0 and o.lstatus in TERMINAL:
            o.released = True

    # -- exchange ----------------------------------------------------------------------------

    def _fill(self, t: int, o: Order, price: float, qty: float, maker: bool, level: int) -> None:
        inst = self.instruments[o.asset]
        bps = inst.maker_bps if maker else inst.taker_bps
        notional = qty * inst.contract_size / price if inst.inverse else qty * price * inst.contract_size
        fee = notional * bps * 1e-4
        if inst.inverse:
            self.cash[o.asset] += o.side * notional
        else:
            self.cash[o.asset] -= o.side * notional
        self.cash[o.asset] -= fee
        self.pos[o.asset] += o.side * qty
        leaves = o.leaves - qty
        if leaves <= 1e-12 * o.qty:
            leaves = 0.0
        o.leaves = leaves
        o.filled += qty
        o.status = FILLED if leaves == 0.0 else PARTIAL
        seen = self._respond(t, o, "fill", qty)
        self.fills.append(RefFill(t, seen, o.asset, o.oid, o.side, int(maker), level, price, qty, fee))
        self.counters["maker_fills" if maker else "taker_fills"] += 1

    def _maker_fill(self, t: int, o: Order, qty: float) -> bool:
        if self.fill_probability < 1.0 and self.rng.uniform() >= self.fill_probability:
            self.counters["prob_skipped_fills"] += 1
            return False
        self._fill(t, o, o.tick * self.instruments[o.asset].tick, qty, True, 0)
        return True

    def _crosses(self, a: int, side: int, tick: int, market: bool) -> bool:
        if side > 0:
            ba = self.best_ask(a)
            return ba is not None and (market or tick >= ba)
        bb = self.best_bid(a)
        return bb is not None and (market or tick <= bb)

    def _take(self, t: int, o: Order) -> None:
        a = o.asset
        book = self.asks[a] if o.side > 0 else self.bids[a]
        ticks = sorted((k for k, q in book.items() if q > 0), reverse=o.side < 0)
        level = 0
        for tk in ticks:
            if o.leaves <= 0.0:
                break
            if o.otype != MARKET and ((o.side > 0 and tk > o.tick) or (o.side < 0 and tk < o.tick)):
                break
            q = book[tk]
            if self.consume:
                q -= self.consumed.get((a, -o.side, tk), 0.0)
            if q > 0.0:
                fq = min(q, o.leaves)
                self._fill(t, o, tk * self.instruments[a].tick, fq, False, level)
                if self.consume:
                    key = (a, -o.side, tk)
                    self.consumed[key] = self.consumed.get(key, 0.0) + fq
            level += 1
            if self.max_levels and level >= self.max_levels:
                break

    def _reject(self, t: int, o: Order, reason: int) -> None:
        o.status = REJECTED
        o.leaves = 0.0
        self.counters["rejects"] += 1
        self._respond(t, o, "rejected")

    def _arrive(self, t: int, o: Order, what: tuple) -> None:
        kind, tick, qty = what
        a = o.asset
        resting = o.status in (OPEN, PARTIAL)
        if kind == "new":
            if not self.usable[a]:
                return self._reject(t, o, 7)
            crosses = self._crosses(a, o.side, o.tick, o.otype == MARKET)
            if o.otype == POST_ONLY and crosses:
                return self._reject(t, o, 1)
            if o.otype == MARKET and not crosses:
                return self._reject(t, o, 4)
            o.status = OPEN
            if crosses:
                self._take(t, o)
            if o.leaves == 0.0:
                return
            if o.otype in (IOC, MARKET):
                o.status = CANCELLED
                self._respond(t, o, "cancelled")
                return
            o.queue = self.level(a, o.side, o.tick)
            o.traded = 0.0
            self._respond(t, o, "ack")
        elif kind == "cancel":
            if not resting:
                self.counters["request_rejects"] += 1
                self._respond(t, o, "request_rejected")
                return
            o.status = CANCELLED
            self._respond(t, o, "cancelled")
        else:
            new_leaves = qty - o.filled
            if not resting or not new_leaves > 1e-12 * qty or (tick != o.tick and self._crosses(a, o.side, tick, False)):
                self.counters["request_rejects"] += 1
                self._respond(t, o, "request_rejected")
                return
            lose = tick != o.tick or new_leaves > o.leaves
            o.tick, o.qty, o.leaves = tick, qty, new_leaves
            if lose:
                o.queue = self.level(a, o.side, tick)
                o.traded = 0.0
            self._respond(t, o, "modified", qty)

    def _share_ahead(self, ahead: float, behind: float) -> float:
        if self.queue == "power":
            fa, fb = ahead ** self.queue_power, behind ** self.queue_power
        else:
            fa, fb = math.log1p(ahead), math.log1p(behind)
        return 1.0 if fa + fb <= 0.0 else fa / (fa + fb)

    def _resting(self, a: int):
        return [o for o in self.orders if o.asset == a and not o.released and o.status in (OPEN, PARTIAL)]

    def _on_depth(self, a: int, side: int, tick: int, old: float, new: float) -> None:
        for o in self._resting(a):
            if o.side != side or o.tick != tick:
                continue
            q = o.queue
            if new < old:
                if self.queue == "risk_averse":
                    q = min(q, new)
                else:
                    cancelled = old - new - o.traded
                    if cancelled > 0.0:
                        behind = max(old - o.traded - q, 0.0)
                        q = max(q - cancelled * self._share_ahead(q, behind), 0.0)
                    q = min(q, new)
            o.queue = q
            o.traded = 0.0

    def _on_trade(self, t: int, a: int, aggressor: int, tick: int, qty: float) -> None:
        given = 0.0
        for o in self._resting(a):
            if o.status not in (OPEN, PARTIAL) or o.side == aggressor:
                continue
            through = tick > o.tick if o.side < 0 else tick < o.tick
            if through:
                if self.trade_through and self._maker_fill(t, o, o.leaves):
                    self.counters["trade_through_fills"] += 1
                continue
            if tick != o.tick:
                continue
            left = o.queue - qty
            o.traded += qty
            if left < 0.0:
                fq = min(-left, o.leaves, qty - given)
                o.queue = 0.0
                if fq > 0.0 and self._maker_fill(t, o, fq):
                    given += fq
            else:
                o.queue = left

    def _message_end(self, a: int, book_kind: bool) -> None:
        if not book_kind:
            return
        if self.requeue[a] and (self.best_bid(a) is not None or self.best_ask(a) is not None):
            for o in self._resting(a):
                o.queue = min(o.queue, self.level(a, o.side, o.tick))
                o.traded = 0.0
            self.requeue[a] = False
        if self.cross_fill:
            bb, ba = self.best_bid(a), self.best_ask(a)
            for o in self._resting(a):
                if o.status not in (OPEN, PARTIAL):
                    continue
                hit = (bb is not None and bb >= o.tick) if o.side < 0 else (ba is not None and ba <= o.tick)
                if hit and self._maker_fill(self.now, o, o.leaves):
                    self.counters["cross_fills"] += 1
        self.usable[a] = self.best_bid(a) is not None and self.best_ask(a) is not None and not self.gapped[a]

    def _deliver(self, t: int) -> None:
        while self.responses and self.responses[0][0] <= t:
            _, o, kind, status, leaves, qty = self.responses.popleft()
            o.lstatus = status
            o.lleaves = leaves
            if kind == "fill":
                self.lpos[o.asset] += o.side * qty
            elif kind in ("cancelled", "request_rejected"):
                o.cxl_sent = False
            o.inflight -= 1
            self._maybe_release(o)

    # -- driving -------------------------------------------------------------------------------

    def run(self, rows: list[tuple], strategy) -> None:
        """``rows``: (ts, asset, kind, side, price, qty, seq); ``strategy(engine)`` runs at every message end."""
        pending = None  # (asset, ts, seq, class)
        for ts, a, kind, side, price, qty, seq in rows:
            if kind in (FUNDING, MARK):  # not used by the engine yet: no message, no clock step
                continue
            cls = 0 if kind in (SNAPSHOT, DEPTH, CLEAR) else kind
            if pending is not None and pending != (a, ts, seq, cls):
                self.now = pending[1]
                self._message_end(pending[0], pending[3] == 0)
                strategy(self)
            self.now = ts
            while self.requests and self.requests[0][0] <= ts:
                t, o, what = self.requests.popleft()
                o.inflight -= 1
                self._arrive(t, o, what)
                self._maybe_release(o)
            self._deliver(ts)
            if kind in (SNAPSHOT, DEPTH):
                tick = self.to_tick(a, price)
                book = self.bids[a] if side > 0 else self.asks[a]
                old = book.get(tick, 0.0)
                if qty > 0:
                    book[tick] = qty
                else:
                    book.pop(tick, None)
                self._on_depth(a, side, tick, old, qty)
                self.consumed.pop((a, side, tick), None)
            elif kind == TRADE:
                self._on_trade(ts, a, side, self.to_tick(a, price), qty)
            elif kind == CLEAR:
                self.bids[a].clear()
                self.asks[a].clear()
                self.gapped[a] = False
                self.usable[a] = False
                if self._resting(a):
                    self.requeue[a] = True
                for key in [k for k in self.consumed if k[0] == a]:
                    del self.consumed[key]
            elif kind == GAP:
                self.gapped[a] = True
                self.usable[a] = False
            pending = (a, ts, seq, cls)
        if pending is not None:
            self.now = pending[1]
            self._message_end(pending[0], pending[3] == 0)
            strategy(self)


def scripted(actions: list[tuple]):
    """A reference strategy running timed actions: (t, op, asset, side, price, qty, otype, ref)."""
    ids: list[float] = [0.0] * len(actions)
    state = {"next": 0}

    def strategy(eng: ReferenceEngine) -> None:
        i = state["next"]
        while i < len(actions):
            t, op, a, side, price, qty, otype, ref = actions[i]
            if t > eng.now:
                break
            if op == 0:
                ids[i] = eng.submit(int(a), int(side), price, qty, int(otype))
            else:
                oid = int(ids[int(ref)])
                if oid > 0:
                    if op == 1:
                        eng.cancel(oid)
                    else:
                        eng.modify(oid, price, qty)
            i += 1
        state["next"] = i

    return strategy

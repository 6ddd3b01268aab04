"""A plain-Python replay engine with arbkit's semantics, written for clarity, not speed.

Books are dicts of tick -> qty, orders are objects, the two latency queues are deques, and
every due time is recomputed from scratch (no cached bounds). It drives the same *scripted*
strategy as ``script_strategy.py`` (a list of timed submit / cancel / modify actions, and
optionally a wake-up for the next action) so the numba engine can be checked against it
fill by fill, call by call, equity sample by equity sample.

Semantics (the kernel contract of ``arbkit/engine/loop.py``, written out again):
* rows are grouped into messages (same asset, ts_local, seq; book kinds together); at a
  message end at tp: re-queue after a CLEAR, crossing fills, the crossed-book count, usable
  flag, mid (and the drawdown mark when the mid of a held instrument moved), top change;
  then timer work due by tp (equity sample, kill-switch deadlines); then one strategy call
  (every_event / top change / response as scheduled, plus interval and wake-up when due);
* before a row at t (once the first message has ended): everything due before t at its own
  time d, in time order: requests reaching the exchange by d, responses due by d, then for
  d < t the timer work due by d and one call (interval / wake-up / response only; no call
  for responses at the instant of the last call: they wait for the next one);
  requests and responses due exactly at t go before the row, timers at t wait for the
  message end at t;
* arrival times are non-decreasing (FIFO per direction): max(now + latency, last);
* quantities are whole lots (``lot`` > 0): off-grid sizes are rejected ``invalid_lot``,
  queue and trade-through fills are floored to the grid, a taker gets nothing from a
  level showing less than a lot; lot 0 keeps float quantities;
* ``trade_through``: none | all (every leaf) | volume (the row's quantity, best price first,
  then oldest; bids before asks; floored to lots);
* random draws (splitmix64) happen at: each request sent (entry latency), each response
  pushed (response latency), each maker fill tried (fill probability);
* at the end: orders still resting are cancelled by the exchange (end_of_data);
* FUNDING / MARK rows are no message and move no clock (no call, no event, no due work): one
  announces a rate for a funding time (ignored when that time is not after the row; per asset
  the earliest time to come and one later one are kept) or sets the last mark (a funding time
  passed and not yet paid keeps the mark before it). A funding time T is due work: at T, before
  requests, responses and timers at T, each asset held pays ``-pos·cs·mark·rate`` (linear,
  quote) or ``-pos·cs/mark·rate`` (inverse, coin) into cash, at the last mark (the mid when
  no MARK row came yet); ``mark='mark_price'``: equity marks at the last MARK price once one came.
* outcome tokens: a sell of an instrument that may not go short beyond the position as known
  less every live sell's leaves as known is refused at submit (insufficient_position), and a
  modify may not make such a sell larger; a market with a known payoff settles at its
  resolution time (a timer never paused, before the kill-switch checks, the equity sample and
  the call): its resting orders are cancelled (market_resolved), its position is paid out at
  the payoff (a settlement row), later orders are refused; at the end of the run the markets
  not settled yet settle at max(resolution, end). ``merge`` turns equal YES and NO into cash
  (1 per pair, split between the legs by their mids) at once.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

MASK = (1 << 64) - 1
INF = 1 << 63
NO_BID = -(1 << 63)
NO_ASK = (1 << 63) - 1

SNAPSHOT, DEPTH, TRADE, BBO, CLEAR, GAP, FUNDING, MARK = 1, 2, 3, 4, 5, 6, 7, 8
LIMIT, POST_ONLY, IOC, MARKET = 0, 1, 2, 3
NEW, OPEN, PARTIAL, FILLED, CANCELLED, REJECTED = 0, 1, 2, 3, 4, 5
TERMINAL = (FILLED, CANCELLED, REJECTED)
EVERY, INTERVAL, TOP, RESPONSE, WAKE = 1, 2, 4, 8, 16
COUNTERS = ("orders", "cancels_sent", "modifies", "rejects", "request_rejects", "maker_fills", "taker_fills",
            "trade_through_fills", "cross_fills", "prob_skipped_fills", "exchange_cancels", "kill_switch_cancels",
            "invalid_lot_rejects", "crossed_books", "strategy_calls", "timer_calls", "kill_switch_trips",
            "equity_samples", "insufficient_position_rejects", "settlements", "merges", "guard_volume_capped",
            "guard_volume_blocks", "entry_attempts", "entries", "reward_rows")
VOL_BUCKETS = 64  # the volume guard's window in buckets (arbkit.engine.state.VOL_BUCKETS)


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
    qty: float  # in units (whole lots when the instrument has a lot)
    leaves: float
    filled: float = 0.0
    status: int = NEW
    queue: float = 0.0  # contracts (book quantities)
    traded: float = 0.0
    # strategy's view
    lstatus: int = NEW
    lleaves: float = 0.0
    lqty: float = 0.0  # the size as last acknowledged
    cxl_sent: int = 0  # 1 strategy, 2 kill switch
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
    lot: float = 0.0
    no_short: bool = False
    binary: bool = False
    complement: int = -1
    payoff: float | None = None
    resolution: int | None = None
    reward: tuple | None = None  # (rate per day, max_spread, min_size, scale) of a rewarded outcome instrument

    @property
    def unit(self) -> float:
        return self.lot if self.lot > 0 else 1.0


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
    how: str = ""  # taker | queue | through | cross
    kind: int = 0  # 0 trade, 1 settlement, 2 merge, 3 reward (price = the cash credited)


@dataclass
class ReferenceEngine:
    instruments: list[RefInstrument]
    entry: Latency
    response: Latency
    seed: int = 0
    queue: str = "risk_averse"
    queue_power: float = 2.0
    fill_probability: float = 1.0
    trade_through: str = "volume"
    cross_fill: bool = True
    consume: bool = False
    max_levels: int = 0
    schedule: int = EVERY  # call-reason bits the strategy asks for
    interval_ns: int = 1
    equity_interval_ns: int = 1_000_000_000
    max_gap_ms: float = 0.0
    stale_book_ms: float = 0.0
    max_silence_ns: int = 3_600_000_000_000  # scheduled timers pause after this long with no event (0: never)
    max_volume_share: float = 0.0  # the volume guard (0: off)
    volume_window_ms: float = 60_000.0
    volume_basis: str = "traded"  # traded | depth
    mark_mode: str = "mid"
    reward_interval_ns: int = 60_000_000_000
    fills: list[RefFill] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {k: 0 for k in COUNTERS})

    def __post_init__(self) -> None:
        n = len(self.instruments)
        self.rng = SplitMix(self.seed)
        self.bids: list[dict[int, float]] = [dict() for _ in range(n)]
        self.asks: list[dict[int, float]] = [dict() for _ in range(n)]
        self.usable = [False] * n
        self.gapped = [False] * n
        self.requeue = [False] * n
        self.pos_u = [0.0] * n
        self.cash = [0.0] * n
        self.lpos_u = [0.0] * n
        self.settled = [False] * n
        self.settle_adj = [0.0] * n
        self.rewards = [0.0] * n
        self.next_reward = -INF if any(i.reward is not None and i.reward[0] > 0 for i in self.instruments) else INF
        self.mid = [float("nan")] * n
        self.prev_top = [(0, 0)] * n
        self.bbo = [[float("nan")] * 4 for _ in range(n)]
        self.orders: list[Order] = []  # in id order
        self.requests: deque = deque()
        self.responses: deque = deque()
        self.last_rq = -(1 << 63)
        self.last_rs = -(1 << 63)
        self.consumed: dict[tuple[int, int, int], float] = {}
        self.now = 0
        self.last_t = -INF
        self.started = False
        self.next_call = -INF
        self.next_eq = -INF
        self.wake = INF
        self.top_changed = False
        self.responded = False
        self.last_call_t = -INF
        self.last_event = [0] * n
        self.last_book = [0] * n
        self.gap_start = [0] * n
        self.killed = False
        self.kill = (None, None)  # (reason, ts)
        self.calls: list[tuple[int, int]] = []  # (time, reason bits)
        self.equity: list[tuple] = []  # (ts, per-asset equity..., total, positions..., marks...)
        self.peak = [0.0] * (n + 1)
        self.maxdd = [0.0] * (n + 1)
        self.tim = [0] * (n + 1)
        self.since = [-1] * (n + 1)
        self.crossed_first = None
        self.observer = None  # called as observer(engine, t) after every fill and every message end (tests)
        self.traded: list[dict[int, float]] = [dict() for _ in range(n)]  # per asset: bucket number -> quantity
        self.announced: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # (funding time, rate), earliest first
        self.mark_px = [float("nan")] * n
        self.kept_mark: dict[int, float] = {}  # the mark of a funding time passed but not paid yet (rows came after)
        self.equity_mark = [float("nan")] * n  # mark_price mode: the price equity uses (NaN: the mid)
        self.funding = [0.0] * n
        self.ledger: list[tuple] = []  # (ts, asset, position, mark, mark_source, rate, amount)

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

    # -- quantities ---------------------------------------------------------------------------

    def pos(self, a: int) -> float:
        return self.pos_u[a] * self.instruments[a].unit

    def lpos(self, a: int) -> float:
        return self.lpos_u[a] * self.instruments[a].unit

    def _lots(self, a: int, qty: float) -> float:
        inst = self.instruments[a]
        if inst.lot > 0:
            x = qty / inst.unit
            k = math.floor(x + 0.5)
            if k < 1.0 or abs(x - k) > 1e-9 * max(1.0, k):
                return -1.0
            return float(k)
        return qty

    def _floor_units(self, a: int, qty: float) -> float:
        inst = self.instruments[a]
        if inst.lot > 0:
            x = qty / inst.unit
            return float(math.floor(x + 1e-9 + abs(x) * 1e-12))
        return qty

    # -- equity, drawdown, time in market ---------------------------------------------------------

    def asset_equity(self, a: int) -> float:
        inst = self.instruments[a]
        mid = self.equity_mark[a] if self.equity_mark[a] > 0 else self.mid[a]
        pos, cash, cs = self.pos(a), self.cash[a], inst.contract_size
        if inst.inverse:
            if pos == 0.0:
                return cash * mid if cash != 0.0 else 0.0
            return (cash - pos * cs / mid) * mid
        if pos == 0.0:
            return cash
        return cash + pos * cs * mid

    def total_equity(self) -> float:
        tot = 0.0
        for a in range(len(self.instruments)):
            e = self.asset_equity(a)
            if not math.isnan(e):
                tot += e
        return tot

    def _mark_row(self, r: int, e: float) -> None:
        if e > self.peak[r]:
            self.peak[r] = e
        dd = self.peak[r] - e
        if dd > self.maxdd[r]:
            self.maxdd[r] = dd

    def _mark(self, a: int) -> None:
        e = self.asset_equity(a)
        if not math.isnan(e):
            self._mark_row(a, e)
        self._mark_row(len(self.instruments), self.total_equity())

    def _hold_row(self, r: int, held: bool, t: int) -> None:
        if held and self.since[r] < 0:
            self.since[r] = t
        elif not held and self.since[r] >= 0:
            self.tim[r] += t - self.since[r]
            self.since[r] = -1

    def time_in_market(self, r: int, t: int) -> int:
        return self.tim[r] + (t - self.since[r] if self.since[r] >= 0 else 0)

    def _sample(self, t: int) -> None:
        n = len(self.instruments)
        eqs = [self.asset_equity(a) for a in range(n)]
        tot = 0.0
        for e in eqs:
            if not math.isnan(e):
                tot += e
        marks = [self.maxdd[r] for r in range(n + 1)] + [float(self.time_in_market(r, t)) for r in range(n + 1)]
        self.equity.append((t, eqs + [tot], [self.pos(a) for a in range(n)], marks))
        self.counters["equity_samples"] += 1

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
            if abs(tick * self.instruments[a].tick - price) > 1e-9 * price or (self.instruments[a].binary and price >= 1.0):
                self.counters["rejects"] += 1
                return -3
        units = self._lots(a, qty)
        if units < 0:
            self.counters["rejects"] += 1
            self.counters["invalid_lot_rejects"] += 1
            return -10
        if self.settled[a]:
            self.counters["rejects"] += 1
            return -15
        if side < 0 and self.instruments[a].no_short and units > self.sell_room(a) + 1e-9 * units:
            self.counters["rejects"] += 1
            self.counters["insufficient_position_rejects"] += 1
            return -14
        lpos = self.lpos(a)
        entry = not (lpos != 0.0 and (side > 0) != (lpos > 0.0) and qty <= abs(lpos) + 1e-12)  # opens or adds
        if entry:
            self.counters["entry_attempts"] += 1
        if self.killed and entry:  # after the kill switch only orders that reduce the position (as known) go out
            self.counters["guard_kill_blocks"] = self.counters.get("guard_kill_blocks", 0) + 1
            return -9
        if self.max_volume_share > 0 and entry:
            room = self.max_volume_share * self._volume_basis(a, side)
            lot = self.instruments[a].lot
            capped = math.floor(room / lot + 1e-9) * lot if lot > 0 else room
            if capped <= 0.0:
                self.counters["guard_volume_blocks"] += 1
                return -9
            if capped < qty:
                self.counters["guard_volume_capped"] += 1
                qty = capped
                units = self._lots(a, qty)
        oid = len(self.orders) + 1
        o = Order(oid, a, 1 if side > 0 else -1, otype, tick, units, units, lleaves=units, lqty=units)
        self.orders.append(o)
        self._send(o, ("new", tick, units))
        self.counters["orders"] += 1
        if entry:
            self.counters["entries"] += 1
        return oid

    def cancel(self, oid: int, by: int = 1) -> bool:
        o = self.find(oid)
        if o is None or o.cxl_sent or o.lstatus in TERMINAL:
            return False
        self._send(o, ("cancel", 0, 0.0))
        o.cxl_sent = by
        self.counters["cancels_sent"] += 1
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
        units = self._lots(o.asset, qty)
        if units < 0:
            self.counters["invalid_lot_rejects"] += 1
            return False
        if o.side < 0 and self.instruments[o.asset].no_short and units > o.lqty:
            self.counters["insufficient_position_rejects"] += 1
            return False
        if self.killed:
            return False
        self._send(o, ("modify", tick, units))
        self.counters["modifies"] += 1
        return True

    def sell_room(self, a: int) -> float:
        room = self.lpos_u[a]
        for o in self.orders:
            if o.asset == a and o.side < 0 and not o.released and o.lstatus in (NEW, OPEN, PARTIAL):
                room -= o.lleaves
        return room

    def merge(self, a: int, qty: float) -> float:
        units = self._lots(a, qty)
        if not qty > 0 or units < 0:
            return -10.0
        inst = self.instruments[a]
        b = inst.complement
        if b < 0 or not inst.binary:
            return -2.0
        if self.settled[a] or self.settled[b]:
            return -15.0
        if units > self.sell_room(a) or units * inst.unit > self.sell_room(b) * self.instruments[b].unit + 1e-9:
            self.counters["insufficient_position_rejects"] += 1
            return -14.0
        ma, mb = self.mid[a], self.mid[b]
        pa = ma / (ma + mb) if not math.isnan(ma) and not math.isnan(mb) and ma + mb > 0 else 0.5
        self._payout(self.now, a, -1, pa, units, 2)
        self._payout(self.now, b, -1, 1.0 - pa, units * inst.unit / self.instruments[b].unit, 2)
        self.counters["merges"] += 1
        return units * inst.unit

    def _payout(self, t: int, a: int, side: int, price: float, units: float, kind: int) -> None:
        inst = self.instruments[a]
        qty = units * inst.unit
        self.cash[a] -= side * qty * price * inst.contract_size
        self.pos_u[a] += side * units
        self.lpos_u[a] += side * units
        self._mark(a)
        self._hold_row(a, self.pos_u[a] != 0.0, t)
        self._hold_row(len(self.instruments), any(p != 0.0 for p in self.pos_u), t)
        self.fills.append(RefFill(t, t, a, 0, side, 0, -1, price, qty, 0.0, "payout", kind))
        if self.observer is not None:
            self.observer(self, t)

    def _settle(self, a: int, t: int) -> None:
        for o in self.orders:
            if o.asset == a and not o.released and o.status in (OPEN, PARTIAL):
                o.status = CANCELLED
                self.counters["exchange_cancels"] += 1
                self._respond(t, o, "cancelled")
        self.settled[a] = True
        if self.pos_u[a] == 0.0:
            return
        inst = self.instruments[a]
        self.settle_adj[a] += self.pos(a) * inst.contract_size * (inst.payoff - self.mid[a])
        self._payout(t, a, -1 if self.pos_u[a] > 0 else 1, inst.payoff, abs(self.pos_u[a]), 1)
        self.counters["settlements"] += 1

    def _settle_pending(self) -> list[int]:
        return [a for a, i in enumerate(self.instruments) if not self.settled[a] and i.payoff is not None]

    def _next_settle(self) -> int:
        times = [self.instruments[a].resolution for a in self._settle_pending()]
        return min((r for r in times if r is not None), default=INF)

    # -- liquidity rewards: the rule written out plainly (see arbkit.engine.rewards) ----------------------

    def _book_mid(self, a: int) -> float:
        bb, ba = self.best_bid(a), self.best_ask(a)
        if not self.usable[a] or bb is None or ba is None:
            return float("nan")
        return (bb + ba) * 0.5 * self.instruments[a].tick

    def _side_scores(self, a: int) -> tuple[float, float]:
        """(bids, asks) scores of asset ``a``'s resting orders: ((v - s) / v)^2 * size within v of the mid."""
        inst = self.instruments[a]
        mid = self._book_mid(a)
        bids = asks = 0.0
        if math.isnan(mid):
            return 0.0, 0.0
        _, v, min_size, _ = inst.reward
        for o in self.orders:
            if o.asset != a or o.released or o.status not in (OPEN, PARTIAL):
                continue
            size = o.leaves * inst.unit
            dist = abs(o.tick * inst.tick - mid)
            if size < min_size or dist >= v:
                continue
            r = (v - dist) / v
            score = r * r * size
            if o.side > 0:
                bids += score
            else:
                asks += score
        return bids, asks

    def _reward_sample(self, t: int) -> None:
        for a, inst in enumerate(self.instruments):
            if inst.reward is None or inst.reward[0] <= 0 or not inst.binary:
                continue
            b = inst.complement
            if 0 <= b < a:
                continue
            if (inst.resolution is not None and inst.resolution <= t) or (
                    b >= 0 and self.instruments[b].resolution is not None and self.instruments[b].resolution <= t):
                continue
            q_one, q_two = self._side_scores(a)
            mid = self._book_mid(a)
            if b >= 0:
                b_bids, b_asks = self._side_scores(b)
                q_one += b_asks
                q_two += b_bids
                if math.isnan(mid):
                    mid = 1.0 - self._book_mid(b)
            if math.isnan(mid):
                continue
            rate, _, _, scale = inst.reward
            score = min(q_one, q_two)
            if 0.10 <= mid <= 0.90:
                score = max(score, max(q_one, q_two) / scale)
            if score > 0:
                amount = rate * score * (self.reward_interval_ns / 86_400_000_000_000)
                self.cash[a] += amount
                self.rewards[a] += amount
                self._mark(a)
                self.fills.append(RefFill(t, t, a, 0, 0, 1, -1, amount, 0.0, 0.0, "reward", 3))
                self.counters["reward_rows"] += 1
                if self.observer is not None:
                    self.observer(self, t)
        self.next_reward = (t // self.reward_interval_ns + 1) * self.reward_interval_ns

    def wake_at(self, t: int) -> bool:
        if not t > self.now:
            return False
        self.wake = min(self.wake, t)
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

    def _fill(self, t: int, o: Order, price: float, units: float, maker: bool, level: int, how: str) -> None:
        a = o.asset
        inst = self.instruments[a]
        qty = units * inst.unit
        bps = inst.maker_bps if maker else inst.taker_bps
        notional = qty * inst.contract_size / price if inst.inverse else qty * price * inst.contract_size
        fee = notional * bps * 1e-4
        if inst.inverse:
            self.cash[a] += o.side * notional
        else:
            self.cash[a] -= o.side * notional
        self.cash[a] -= fee
        self.pos_u[a] += o.side * units
        self._mark(a)
        self._hold_row(a, self.pos_u[a] != 0.0, t)
        self._hold_row(len(self.instruments), any(p != 0.0 for p in self.pos_u), t)
        leaves = o.leaves - units
        if leaves <= 1e-12 * o.qty:
            leaves = 0.0
        o.leaves = leaves
        o.filled += units
        o.status = FILLED if leaves == 0.0 else PARTIAL
        seen = self._respond(t, o, "fill", units)
        self.fills.append(RefFill(t, seen, a, o.oid, o.side, int(maker), level, price, qty, fee, how))
        self.counters["maker_fills" if maker else "taker_fills"] += 1
        if self.observer is not None:
            self.observer(self, t)

    def _maker_fill(self, t: int, o: Order, units: float, how: str) -> bool:
        if self.fill_probability < 1.0 and self.rng.uniform() >= self.fill_probability:
            self.counters["prob_skipped_fills"] += 1
            return False
        self._fill(t, o, o.tick * self.instruments[o.asset].tick, units, True, 0, how)
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
                fu = min(self._floor_units(a, q), o.leaves)
                if fu > 0.0:
                    self._fill(t, o, tk * self.instruments[a].tick, fu, False, level, "taker")
                    if self.consume:
                        key = (a, -o.side, tk)
                        self.consumed[key] = self.consumed.get(key, 0.0) + fu * self.instruments[a].unit
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
            if self.settled[a]:
                return self._reject(t, o, 15)
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
                self.counters["exchange_cancels"] += 1
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
            if o.cxl_sent == 2:
                self.counters["exchange_cancels"] += 1
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
        unit = self.instruments[a].unit
        given = 0.0
        passed = False
        for o in self._resting(a):
            if o.status not in (OPEN, PARTIAL) or o.side == aggressor:
                continue
            through = tick > o.tick if o.side < 0 else tick < o.tick
            if through:
                passed = True
                if self.trade_through == "all" and self._maker_fill(t, o, o.leaves, "through"):
                    self.counters["trade_through_fills"] += 1
                continue
            if tick != o.tick:
                continue
            left = o.queue - qty
            o.traded += qty
            if left < 0.0:
                fu = min(self._floor_units(a, min(-left, qty - given)), o.leaves)
                o.queue = 0.0
                if fu > 0.0 and self._maker_fill(t, o, fu, "queue"):
                    given += fu * unit
            else:
                o.queue = left
        if self.trade_through == "volume" and passed:
            self._through_volume(t, a, aggressor, tick, qty)

    def _through_volume(self, t: int, a: int, aggressor: int, tick: int, qty: float) -> None:
        """The row's quantity to the orders it went through: our bids (highest first), then our asks (lowest first)."""
        unit = self.instruments[a].unit
        remaining = qty
        for side in (1, -1):
            if aggressor == side:
                continue
            passed = [o for o in self._resting(a) if o.side == side and (o.tick > tick if side > 0 else o.tick < tick)]
            passed.sort(key=lambda o: (-o.tick * side, o.oid))
            for o in passed:
                if o.status not in (OPEN, PARTIAL):
                    continue
                fu = min(self._floor_units(a, remaining), o.leaves)
                if not fu > 0.0:
                    return
                if self._maker_fill(t, o, fu, "through"):
                    self.counters["trade_through_fills"] += 1
                    remaining -= fu * unit

    def _deliver(self, t: int) -> None:
        delivered = 0
        while self.responses and self.responses[0][0] <= t:
            _, o, kind, status, leaves, qty = self.responses.popleft()
            o.lstatus = status
            o.lleaves = leaves
            if kind == "fill":
                self.lpos_u[o.asset] += o.side * qty
            elif kind == "modified":
                o.lqty = qty
            elif kind in ("cancelled", "request_rejected"):
                o.cxl_sent = 0
            o.inflight -= 1
            self._maybe_release(o)
            delivered += 1
        if delivered:
            self.responded = True

    def _process_requests(self, t: int) -> None:
        while self.requests and self.requests[0][0] <= t:
            ta, o, what = self.requests.popleft()
            o.inflight -= 1
            self._arrive(ta, o, what)
            self._maybe_release(o)

    # -- the volume guard ------------------------------------------------------------------------------

    def _vol_width(self) -> int:
        return max(1, math.ceil(self.volume_window_ms * 1e6 / VOL_BUCKETS))

    def _volume_basis(self, a: int, side: int) -> float:
        """Traded quantity in the bucket of ``now`` and the 63 before it (summed bucket slot by slot, as the
        engine's ring does), or the quantity at the best level an order of ``side`` would take."""
        if self.volume_basis == "depth":
            book = self.asks[a] if side > 0 else self.bids[a]
            if not book:
                return 0.0
            return book[min(book) if side > 0 else max(book)]
        now_bk = self.now // self._vol_width()
        tot = 0.0
        for s in range(VOL_BUCKETS):
            bk = now_bk - ((now_bk - s) % VOL_BUCKETS)  # the bucket of the window that lives in slot s
            tot += self.traded[a].get(bk, 0.0)
        return tot

    # -- the kill switch's time deadlines -------------------------------------------------------------

    def _gap_ns(self) -> tuple[int, int]:
        return int(self.max_gap_ms * 1e6 + 0.5), int(self.stale_book_ms * 1e6 + 0.5)

    def _guard_deadline(self) -> int:
        gap, stale = self._gap_ns()
        d = INF
        if self.killed or (gap <= 0 and stale <= 0):
            return d
        for a in range(len(self.instruments)):
            if self.last_event[a] == 0:
                continue
            if gap > 0:
                d = min(d, self.last_event[a] + gap)
                if self.gap_start[a] > 0:
                    d = min(d, self.gap_start[a] + gap)
            if stale > 0 and self.last_book[a] > 0:
                d = min(d, self.last_book[a] + stale)
        return d

    def _time_checks(self, t: int) -> None:
        if self.killed:
            return
        gap, stale = self._gap_ns()
        for a in range(len(self.instruments)):
            last = self.last_event[a]
            if last == 0:
                continue
            if gap > 0 and ((self.gap_start[a] > 0 and t - self.gap_start[a] >= gap) or t - last >= gap):
                return self._trip(t, "data_gap")
            if stale > 0 and self.last_book[a] > 0 and t - self.last_book[a] >= stale:
                return self._trip(t, "stale_book")

    def _trip(self, t: int, reason: str) -> None:
        self.killed = True
        self.kill = (reason, t)
        self.counters["kill_switch_trips"] += 1
        for o in list(self.orders):
            if o.released or o.lstatus not in (NEW, OPEN, PARTIAL) or o.cxl_sent:
                continue
            self._send(o, ("cancel", 0, 0.0))
            o.cxl_sent = 2
            self.counters["cancels_sent"] += 1
            self.counters["kill_switch_cancels"] += 1

    @property
    def _guards_on(self) -> bool:
        return self.max_gap_ms > 0 or self.stale_book_ms > 0

    # -- funding -------------------------------------------------------------------------------------------

    def _announce(self, a: int, t: int, rate: float, when: int) -> None:
        if when <= t:
            return
        slots = self.announced[a]
        if not slots or slots[0][0] == when:
            slots[:1] = [(when, rate)]
        elif when > slots[0][0]:
            slots[1:] = [(when, rate)]
        else:
            slots[:] = [(when, rate), slots[0]]

    def _funding_due(self) -> int:
        return min((s[0][0] for s in self.announced if s), default=INF)

    def _pay_funding(self, t: int) -> None:
        for a in range(len(self.instruments)):
            while self.announced[a] and self.announced[a][0][0] <= t:
                when, rate = self.announced[a].pop(0)
                mark = self.kept_mark.pop(a, self.mark_px[a])
                pos = self.pos(a)
                if pos == 0.0:
                    continue
                mark, src = (mark, 1) if mark > 0 else (self.mid[a], 0)
                inst = self.instruments[a]
                amount = -pos * inst.contract_size / mark * rate if inst.inverse else \
                    -pos * inst.contract_size * mark * rate
                self.cash[a] += amount
                self.funding[a] += amount
                self.ledger.append((when, a, pos, mark, src, rate, amount))
                self._mark(a)

    def _on_mark(self, a: int, t: int, price: float) -> None:
        slots = self.announced[a]
        if slots and slots[0][0] <= t and a not in self.kept_mark:  # passed, not paid yet: it keeps this mark
            self.kept_mark[a] = self.mark_px[a]
        self.mark_px[a] = price
        if self.mark_mode == "mark_price" and self.equity_mark[a] != price:
            self.equity_mark[a] = price
            inst = self.instruments[a]
            if self.pos_u[a] != 0.0 or (inst.inverse and self.cash[a] != 0.0):
                self._mark(a)

    # -- timers and calls -------------------------------------------------------------------------------

    def _timers_at(self, t: int, scheduled: bool = True) -> int:
        self._pay_funding(t)
        for a in self._settle_pending():
            r = self.instruments[a].resolution
            if r is not None and r <= t:
                self._settle(a, t)
        if t >= self.next_reward:
            self._reward_sample(t)
        if self._guards_on:
            self._time_checks(t)
        if not scheduled:
            return 0
        if t >= self.next_eq:
            self._sample(t)
            iv = self.equity_interval_ns
            self.next_eq = (t // iv + 1) * iv
        bits = 0
        if self.schedule & INTERVAL and t >= self.next_call:
            bits |= INTERVAL
            self.next_call = (t // self.interval_ns + 1) * self.interval_ns
        if t >= self.wake:
            bits |= WAKE
            self.wake = INF
        return bits

    def _call(self, strategy, t: int, reason: int) -> None:
        self.now = t
        self.last_call_t = t
        if self._guards_on:
            self._time_checks(t)
        self.reason = reason
        self.calls.append((t, reason))
        self.counters["strategy_calls"] += 1
        strategy(self)

    def _advance(self, t: int, strategy, row: bool = True) -> None:
        while True:
            sched = self.wake
            if self.schedule & INTERVAL:
                sched = min(sched, self.next_call)
            sched = min(sched, self.next_eq)
            g = self._guard_deadline() if self._guards_on else INF
            g = min(g, self._next_settle(), self.next_reward)
            awake = self.max_silence_ns <= 0 or sched <= self.last_t + self.max_silence_ns
            tm = min(sched, g) if awake else g
            d = tm if tm < t else INF
            if self.requests:
                d = min(d, self.requests[0][0])
            if self.responses:
                d = min(d, self.responses[0][0])
            d = min(d, self._funding_due())
            if d > t or (d == t and not row):
                return
            self.now = d
            self._pay_funding(d)
            self._process_requests(d)
            self._deliver(d)
            if d < t:
                reason = self._timers_at(d, awake)
                if self.schedule & RESPONSE and self.responded and d > self.last_call_t:
                    reason |= RESPONSE
                    self.responded = False
                if reason:
                    self._call(strategy, d, reason)
                    self.counters["timer_calls"] += 1

    def _message_end(self, pending: tuple, strategy) -> None:
        a, tp, _, cls = pending
        self.now = tp
        self.last_t = tp
        if cls == 0:
            self.last_book[a] = tp
            if self.requeue[a] and (self.best_bid(a) is not None or self.best_ask(a) is not None):
                for o in self._resting(a):
                    o.queue = min(o.queue, self.level(a, o.side, o.tick))
                    o.traded = 0.0
                self.requeue[a] = False
            bb, ba = self.best_bid(a), self.best_ask(a)
            if self.cross_fill:
                for o in self._resting(a):
                    if o.status not in (OPEN, PARTIAL):
                        continue
                    hit = (bb is not None and bb >= o.tick) if o.side < 0 else (ba is not None and ba <= o.tick)
                    if hit and self._maker_fill(tp, o, o.leaves, "cross"):
                        self.counters["cross_fills"] += 1
            if bb is not None and ba is not None and bb >= ba:
                self.counters["crossed_books"] += 1
                if self.crossed_first is None:
                    self.crossed_first = (a, tp)
            both = bb is not None and ba is not None
            self.usable[a] = both and not self.gapped[a]
            if both:
                m = 0.5 * (bb + ba) * self.instruments[a].tick
                if m != self.mid[a]:
                    self.mid[a] = m
                    inst = self.instruments[a]
                    if self.pos_u[a] != 0.0 or (inst.inverse and self.cash[a] != 0.0):
                        self._mark(a)
            top = (bb if bb is not None else NO_BID, ba if ba is not None else NO_ASK)
            if top != self.prev_top[a]:
                self.prev_top[a] = top
                self.top_changed = True
        if self.observer is not None:
            self.observer(self, tp)
        reason = 0
        if self.schedule & EVERY:
            reason |= EVERY
        if self.schedule & TOP and self.top_changed:
            reason |= TOP
        if self.schedule & RESPONSE and self.responded:
            reason |= RESPONSE
        self.top_changed = False
        self.responded = False
        reason |= self._timers_at(tp)
        if reason:
            self._call(strategy, tp, reason)

    # -- driving -------------------------------------------------------------------------------

    def run(self, rows: list[tuple], strategy, clock_end: int | None = None) -> None:
        """``rows``: (ts, asset, kind, side, price, qty, seq); ``strategy(engine)`` is called as scheduled."""
        pending = None  # (asset, ts, seq, class)
        for ts, a, kind, side, price, qty, seq in rows:
            if kind in (FUNDING, MARK):  # no message, no clock step
                if kind == FUNDING:
                    self._announce(a, ts, price, seq)
                else:
                    self._on_mark(a, ts, price)
                continue
            cls = 0 if kind in (SNAPSHOT, DEPTH, CLEAR) else kind
            if pending is not None and pending != (a, ts, seq, cls):
                self._message_end(pending, strategy)
                self.started = True
                pending = None
            if self.started:
                self._advance(ts, strategy)
            self.last_event[a] = ts
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
                tick = self.to_tick(a, price)
                if self.max_volume_share > 0 and self.volume_basis == "traded":
                    bk = ts // self._vol_width()
                    self.traded[a][bk] = self.traded[a].get(bk, 0.0) + qty
                if self._resting(a):
                    self._on_trade(ts, a, side, tick, qty)
            elif kind == BBO:
                col = 0 if side > 0 else 2
                if self.bbo[a][col] != price or self.bbo[a][col + 1] != qty:
                    self.bbo[a][col], self.bbo[a][col + 1] = price, qty
                    self.top_changed = True
            elif kind == CLEAR:
                self.gap_start[a] = 0
                self.bids[a].clear()
                self.asks[a].clear()
                self.gapped[a] = False
                self.usable[a] = False
                if self._resting(a):
                    self.requeue[a] = True
                for key in [k for k in self.consumed if k[0] == a]:
                    del self.consumed[key]
            elif kind == GAP:
                if self.gap_start[a] == 0:
                    self.gap_start[a] = ts
                self.gapped[a] = True
                self.usable[a] = False
            pending = (a, ts, seq, cls)
        if pending is not None:
            self._message_end(pending, strategy)
            self.started = True
        if clock_end is not None and self.started:
            self._advance(clock_end, strategy, row=False)
        end = max(self.last_t, clock_end if clock_end is not None else -INF)
        self.end = end
        if end != -INF:
            self.now = end
            for o in self.orders:
                if not o.released and o.status in (OPEN, PARTIAL):
                    o.status = CANCELLED
                    self.counters["exchange_cancels"] += 1
                    self._respond(end, o, "cancelled")
            for a in self._settle_pending():
                r = self.instruments[a].resolution
                self._settle(a, r if r is not None and r > end else end)


def scripted(actions: list[tuple], wake: bool = False):
    """A reference strategy running timed actions: (t, op, asset, side, price, qty, otype, ref).

    ``wake``: after each call, ask to be woken at the next action's time (so actions happen
    on time between events too).
    """
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
            elif op == 3:
                ids[i] = eng.merge(int(a), qty)
            else:
                oid = int(ids[int(ref)])
                if oid > 0:
                    if op == 1:
                        eng.cancel(oid)
                    else:
                        eng.modify(oid, price, qty)
            i += 1
        state["next"] = i
        if wake and i < len(actions):
            eng.wake_at(int(actions[i][0]))

    return strategy


def reference_run(rows: list[tuple], instruments: list, actions: list[tuple], fill: dict, lat: tuple, seed: int, *,
                  schedule=None, wake: bool = False, gap_ms: float = 0.0, equity_ns: int = 1_000_000_000,
                  clock_end: int | None = None, mark: str = "mid", allow_short: bool | None = None,
                  volume: dict | None = None, rewards: dict | None = None) -> ReferenceEngine:
    """The reference engine run of a scripted strategy, configured like an arbkit replay.

    ``instruments``: arbkit Instruments; ``lat``: ("const", entry, response) or ("emp", samples, samples);
    ``schedule``: an arbkit Schedule (every event when None); ``volume``: the volume guard's
    ``max_volume_share`` / ``volume_window_ms`` / ``volume_basis``; ``rewards``: the run's rewards block
    (rate / max_spread / min_size / scale / interval_ms / markets, defaults as arbkit's).
    """
    rw = {"rate": 0.0, "max_spread": 0.03, "min_size": 0.0, "scale": 3.0, "interval_ms": 60_000.0, "markets": {},
          **(rewards or {})}

    def reward_terms(i) -> tuple | None:
        if i.contract_type != "binary_outcome":
            return None
        market = i.market_id or "/".join(sorted((i.symbol, i.complement)))
        if rw["markets"] and market not in rw["markets"]:
            return None
        t = {k: rw[k] for k in ("rate", "max_spread", "min_size", "scale")} | dict(rw["markets"].get(market, {}))
        return (t["rate"], t["max_spread"], t["min_size"], t["scale"]) if t["rate"] > 0 else None

    if lat[0] == "const":
        entry, response = Latency(lat[1]), Latency(lat[2])
    else:
        entry, response = Latency(samples=[float(x) for x in lat[1]]), Latency(samples=[float(x) for x in lat[2]])
    bits = schedule.bits if schedule is not None else EVERY
    interval = max(schedule.interval_ns, 1) if schedule is not None else 1
    keys = {i.key: a for a, i in enumerate(instruments)} | {(i.venue, i.symbol): a for a, i in enumerate(instruments)}
    shortable = ("linear_perp", "inverse_perp", "linear_future", "inverse_future", "option")
    ref = ReferenceEngine([RefInstrument(i.tick_size, i.maker_fee_bps, i.taker_fee_bps, i.contract_size,
                                         i.contract_type.startswith("inverse"), i.lot_size,
                                         no_short=not (i.contract_type in shortable if allow_short is None else allow_short),
                                         binary=i.contract_type == "binary_outcome",
                                         complement=keys.get(i.complement, keys.get((i.venue, i.complement), -1))
                                         if i.complement else -1,
                                         payoff=(None if i.winner is None or i.contract_type != "binary_outcome" else
                                                 1.0 if i.winner.lower() == i.outcome.lower() else 0.0),
                                         resolution=i.resolution_ts, reward=reward_terms(i)) for i in instruments],
                          entry, response, seed=seed, queue=fill["queue"], queue_power=fill["queue_power"],
                          fill_probability=fill["fill_probability"], trade_through=fill["trade_through"],
                          cross_fill=fill["cross_fill"], consume=fill["taker_consumes_book"],
                          max_levels=fill["max_taker_levels"], schedule=bits, interval_ns=interval,
                          equity_interval_ns=equity_ns, max_gap_ms=gap_ms,
                          max_silence_ns=int(round(schedule.max_silence_s * 1e9)) if schedule is not None else
                          3_600_000_000_000, mark_mode=mark, reward_interval_ns=int(round(rw["interval_ms"] * 1e6)),
                          **(volume or {}))
    ref.run(rows, scripted(actions, wake=wake), clock_end=clock_end)
    return ref

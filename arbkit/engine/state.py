"""The engine's whole state: numpy arrays carried between chunks, seen by numba as one struct.

Python code holds the arrays as an :class:`EngineState` NamedTuple; numba code gets an
:class:`EngineStateType` structref built over the *same* arrays (:func:`as_struct`). The
struct is passed by one pointer — a NamedTuple of 30 arrays is passed member by member with
reference counting, which made every strategy API call cost more than the work it did.
Its numba type is fixed (array ranks, dtypes and C layout never vary), so the engine loop
and every strategy kernel compile once and cache.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, typeof, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.experimental import structref

from arbkit.engine import codes as c
from arbkit.book.ladder import BookState, new_books
from arbkit.engine.funding import new_funding
from arbkit.engine.latency import LatencyTable, constant_table
from arbkit.engine.outcomes import first_resolution_ns
from arbkit.engine.rewards import first_reward_ns
from arbkit.engine.rng import new_rng

DEFAULT_ORDER_SLOTS = 4096
DEFAULT_RING = 1 << 13  # requests (and responses) in flight at once; more is a reject / an engine error
DEFAULT_FILL_BUFFER = 1 << 16
DEFAULT_EQ_BUFFER = 1 << 14
CONSUMED_SLOTS = 256
TRADE_BUCKETS = 64
VOL_BUCKETS = 64  # traded-volume ring per asset (the volume guard's window in 64 buckets)
FUNDING_BUFFER = 1024  # funding ledger rows before a drain (plus room for one funding time of every asset)


class EngineState(NamedTuple):
    """The engine's arrays (Python side); numba sees them as one struct (:func:`as_struct`)."""
    books: BookState
    clock: np.ndarray  # int64[N_CLOCK]: now, id counter, schedule times, ring heads, buffer counts
    counters: np.ndarray  # int64[N_COUNTERS]
    cfg_i: np.ndarray  # int64[NG]
    cfg_f: np.ndarray  # float64[NH]
    inst: np.ndarray  # float64[n, NI]
    acct: np.ndarray  # float64[n, NA]
    oi: np.ndarray  # int64[slots, NOI]; O_ID == -1 marks a free slot
    of: np.ndarray  # float64[slots, NOF]
    active: np.ndarray  # int64[slots]: live slots in order-id order (count in clock[CLK_N_ACTIVE])
    free: np.ndarray  # int64[slots]: free-slot stack (count in clock[CLK_N_FREE])
    done: np.ndarray  # int64[slots]: finished orders' slots, oldest first (ring; reused when no slot is free)
    n_resting: np.ndarray  # int64[n]: orders resting at the exchange per asset
    rq_i: np.ndarray  # int64[R, NQI]: request ring (strategy -> exchange)
    rq_f: np.ndarray  # float64[R, NQF]
    rs_i: np.ndarray  # int64[R, NPI]: response ring (exchange -> strategy)
    rs_f: np.ndarray  # float64[R, NPF]
    entry_lat: LatencyTable
    resp_lat: LatencyTable
    rng: np.ndarray  # uint64[1]
    fills: np.ndarray  # FILL_DTYPE buffer (count in clock[CLK_NFILL])
    log: np.ndarray  # ORDER_LOG_DTYPE buffer (count in clock[CLK_NLOG])
    eq_ts: np.ndarray  # int64[S]
    eq_val: np.ndarray  # float64[S, n + 1]: per-asset equity in quote currency, then the total
    eq_pos: np.ndarray  # float64[S, n]
    eq_marks: np.ndarray  # float64[S, 2 * (n + 1)]: running max drawdown, then time in market (ns), per asset and total
    cons: np.ndarray  # float64[CONSUMED_SLOTS, 4]: (asset, side, tick, qty) taken by own taker fills
    prev_top: np.ndarray  # int64[n, 2]: best bid/ask ticks at the last message end
    requeue: np.ndarray  # bool[n]: clip queue positions to the book after a CLEAR
    usable: np.ndarray  # bool[n]: both sides present and no GAP since the last image
    gapped: np.ndarray  # bool[n]: a GAP arrived and no CLEAR since
    rest: np.ndarray  # int64[n, 4]: lowest/highest tick of our resting bids, then asks (empty: max/min int)
    notes: np.ndarray  # float64[N, 2 + NOTE_VALUES]: strategy annotations (count in clock[CLK_NNOTE])
    guard_cfg: np.ndarray  # float64[NRG]: risk guard settings (RG_ON = 0: no guards)
    guard_st: np.ndarray  # float64[NGS]: kill switch, cooldown clocks, equity marks, block streaks
    asset_ts: np.ndarray  # int64[n, 3]: last event, last book message, start of an open GAP (0 = none)
    trade_hist: np.ndarray  # float64[n, TRADE_BUCKETS]: public trades by distance from the mid, in ticks
    vol_ring: np.ndarray  # float64[n, 2 * VOL_BUCKETS]: traded quantity per time bucket, then each slot's bucket number
    marks: np.ndarray  # float64[n + 1, NMK]: exact running equity peak and max drawdown, per asset and total
    hold: np.ndarray  # int64[n + 1, NHD]: exact time in market and the open holding period, per asset and total
    fund_i: np.ndarray  # int64[n, 4]: announced funding times, the pending one, a later one (max int: none), the last
    fund_f: np.ndarray  # float64[n, 4]: their rates, and a kept mark (engine.funding)
    mark_px: np.ndarray  # float64[n]: the last MARK row's price (NaN: none yet); market data, shared in a batch
    fund_log: np.ndarray  # FUNDING_DTYPE buffer: the funding ledger (count in clock[CLK_NFUND])
    # the book arrays the strategy API and the matcher read, also as direct fields (the same
    # arrays as in ``books``): reading ``st.books.x`` unpacks the whole BookState tuple each time
    tick: np.ndarray
    inv_tick: np.ndarray
    best_bid: np.ndarray
    best_ask: np.ndarray
    bid_qty: np.ndarray
    ask_qty: np.ndarray
    base: np.ndarray
    bbo: np.ndarray


def new_state(
    inst: np.ndarray,
    tick_sizes: np.ndarray,
    cfg_i: np.ndarray,
    cfg_f: np.ndarray,
    entry_lat: LatencyTable,
    resp_lat: LatencyTable,
    seed: int,
    *,
    guard_cfg: np.ndarray | None = None,
    ladder: int = 1 << 18,
    order_slots: int = DEFAULT_ORDER_SLOTS,
    ring: int = DEFAULT_RING,
    fill_buffer: int = DEFAULT_FILL_BUFFER,
    eq_buffer: int = DEFAULT_EQ_BUFFER,
    share_market_with: EngineState | None = None,
) -> EngineState:
    """A fresh engine state for ``len(tick_sizes)`` assets.

    ``share_market_with``: take the arrays that only the recorded data writes (books, top,
    usable/gap flags, per-asset times, trade histogram, traded-volume ring) from that state instead of new
    ones, so a batched run keeps one copy of the market for all its parameter sets.
    """
    n = len(tick_sizes)
    clock = np.zeros(c.N_CLOCK, np.int64)
    clock[c.CLK_NEXT_ID] = 1
    clock[c.CLK_PEND_ASSET] = -1
    clock[c.CLK_N_FREE] = order_slots
    clock[c.CLK_NEXT_CALL] = np.iinfo(np.int64).min
    clock[c.CLK_NEXT_EQ] = np.iinfo(np.int64).min
    clock[c.CLK_LAST_RQ_T] = np.iinfo(np.int64).min
    clock[c.CLK_LAST_RS_T] = np.iinfo(np.int64).min
    clock[c.CLK_NEXT_DUE] = np.iinfo(np.int64).max  # nothing happens between messages before the first one ends
    clock[c.CLK_NEXT_TIMER] = np.iinfo(np.int64).min  # the first message end looks at every timer
    clock[c.CLK_WAKE] = np.iinfo(np.int64).max
    clock[c.CLK_LAST_CALL_T] = np.iinfo(np.int64).min
    clock[c.CLK_CROSS_ASSET] = -1
    clock[c.CLK_CROSS_ROW] = -1
    clock[c.CLK_LAST_T] = np.iinfo(np.int64).min
    clock[c.CLK_FUND_DUE] = np.iinfo(np.int64).max
    clock[c.CLK_NEXT_SETTLE] = first_resolution_ns(np.asarray(inst, np.float64))
    clock[c.CLK_NEXT_REWARD] = first_reward_ns(np.asarray(inst, np.float64))
    oi = np.zeros((order_slots, c.NOI), np.int64)
    oi[:, c.O_ID] = -1
    acct = np.zeros((n, c.NA))
    acct[:, c.A_MID] = np.nan
    fund_i, fund_f = new_funding(n)
    market = share_market_with
    books = new_books(np.asarray(tick_sizes, np.float64), ladder) if market is None else market.books
    return EngineState(
        books=books,
        clock=clock,
        counters=np.zeros(c.N_COUNTERS, np.int64),
        cfg_i=np.ascontiguousarray(cfg_i, np.int64),
        cfg_f=np.ascontiguousarray(cfg_f, np.float64),
        inst=np.ascontiguousarray(inst, np.float64),
        acct=acct,
        oi=oi,
        of=np.zeros((order_slots, c.NOF)),
        active=np.zeros(order_slots, np.int64),
        free=np.arange(order_slots - 1, -1, -1, dtype=np.int64),
        done=np.zeros(order_slots, np.int64),
        n_resting=np.zeros(n, np.int64),
        rq_i=np.zeros((ring, c.NQI), np.int64),
        rq_f=np.zeros((ring, c.NQF)),
        rs_i=np.zeros((ring, c.NPI), np.int64),
        rs_f=np.zeros((ring, c.NPF)),
        entry_lat=entry_lat,
        resp_lat=resp_lat,
        rng=new_rng(seed),
        fills=np.zeros(fill_buffer, c.FILL_DTYPE),
        log=np.zeros(fill_buffer, c.ORDER_LOG_DTYPE),
        eq_ts=np.zeros(eq_buffer, np.int64),
        eq_val=np.zeros((eq_buffer, n + 1)),
        eq_pos=np.zeros((eq_buffer, n)),
        eq_marks=np.zeros((eq_buffer, 2 * (n + 1))),
        cons=np.zeros((CONSUMED_SLOTS, 4)),
        prev_top=np.zeros((n, 2), np.int64) if market is None else market.prev_top,
        requeue=np.zeros(n, np.bool_),
        usable=np.zeros(n, np.bool_) if market is None else market.usable,
        gapped=np.zeros(n, np.bool_) if market is None else market.gapped,
        rest=empty_rest(n),
        notes=np.zeros((fill_buffer, 2 + c.NOTE_VALUES)),
        guard_cfg=np.zeros(c.NRG) if guard_cfg is None else np.ascontiguousarray(guard_cfg, np.float64),
        guard_st=np.zeros(c.NGS),
        asset_ts=np.zeros((n, 3), np.int64) if market is None else market.asset_ts,
        trade_hist=np.zeros((n, TRADE_BUCKETS)) if market is None else market.trade_hist,
        vol_ring=np.zeros((n, 2 * VOL_BUCKETS)) if market is None else market.vol_ring,
        marks=np.zeros((n + 1, c.NMK)),
        hold=flat_hold(n),
        fund_i=fund_i, fund_f=fund_f,
        mark_px=np.full(n, np.nan) if market is None else market.mark_px,
        fund_log=np.zeros(FUNDING_BUFFER + 2 * n, c.FUNDING_DTYPE),
        tick=books.tick, inv_tick=books.inv_tick, best_bid=books.best_bid, best_ask=books.best_ask,
        bid_qty=books.bid_qty, ask_qty=books.ask_qty, base=books.base, bbo=books.bbo,
    )


def flat_hold(n: int) -> np.ndarray:
    """Holding-time table of a run that has held nothing yet (no open period)."""
    h = np.zeros((n + 1, c.NHD), np.int64)
    h[:, c.HD_SINCE] = -1
    return h


def empty_rest(n: int) -> np.ndarray:
    """Resting-range table with no orders (max/min sentinels)."""
    r = np.empty((n, 4), np.int64)
    r[:, 0::2] = np.iinfo(np.int64).max
    r[:, 1::2] = np.iinfo(np.int64).min
    return r


def _type_probe() -> EngineState:
    one = np.ones(1)
    return new_state(np.zeros((1, c.NI)), one, np.zeros(c.NG, np.int64), np.zeros(c.NH), constant_table(np.zeros(1)),
                     constant_table(np.zeros(1)), 0, ladder=4, order_slots=2, ring=2, fill_buffer=2, eq_buffer=2)


@structref.register
class EngineStateType(types.StructRef):
    """numba type of the engine state struct (fields = EngineState's, same types)."""

    def preprocess_fields(self, fields):
        """Literal types widened (fields hold any value of their type)."""
        return tuple((name, types.unliteral(t)) for name, t in fields)


class EngineStateRef(structref.StructRefProxy):
    """Python handle on the struct; read the arrays through the EngineState NamedTuple instead."""


structref.define_boxing(EngineStateType, EngineStateRef)

_ARRAYS_TYPE = typeof(_type_probe())
#: the EngineState's fields (unmanaged views), then ``keep``: the NamedTuple that owns their memory
ENGINE_STATE_TYPE = EngineStateType(list(zip(EngineState._fields, _ARRAYS_TYPE.types)) + [("keep", _ARRAYS_TYPE)])


@intrinsic
def _unmanaged(typingctx, arr):
    """A view of ``arr`` with no meminfo: reading it out of the struct takes no reference count.

    Only for arrays whose owner outlives every use (the struct's ``keep`` field). ``parent``
    is kept, so handing the whole array back to Python returns the owning ndarray itself.
    """
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, sig, args):
        src = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        for name in ("parent", "nitems", "itemsize", "data", "shape", "strides"):
            setattr(view, name, getattr(src, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        return view._getvalue()

    return arr(arr), codegen


@njit(cache=True)
def _unmanaged_books_nb(b):
    """The book NamedTuple with every array an unmanaged view (owned by the struct's ``keep``)."""
    return BookState(_unmanaged(b.bid_qty), _unmanaged(b.ask_qty), _unmanaged(b.base), _unmanaged(b.best_bid),
                     _unmanaged(b.best_ask), _unmanaged(b.n_bid), _unmanaged(b.n_ask), _unmanaged(b.inv_tick),
                     _unmanaged(b.tick), _unmanaged(b.dropped), _unmanaged(b.centred), _unmanaged(b.bbo))


@njit(cache=True)
def _unmanaged_latency_nb(t):
    """A latency table with every array an unmanaged view (owned by the struct's ``keep``)."""
    return LatencyTable(_unmanaged(t.mode), _unmanaged(t.const), _unmanaged(t.off), _unmanaged(t.values),
                        _unmanaged(t.times))


@njit(cache=True)
def _build_struct_nb(arrays):
    st = structref.new(ENGINE_STATE_TYPE)
    st.books = _unmanaged_books_nb(arrays.books)
    st.clock = _unmanaged(arrays.clock)
    st.counters = _unmanaged(arrays.counters)
    st.cfg_i = _unmanaged(arrays.cfg_i)
    st.cfg_f = _unmanaged(arrays.cfg_f)
    st.inst = _unmanaged(arrays.inst)
    st.acct = _unmanaged(arrays.acct)
    st.oi = _unmanaged(arrays.oi)
    st.of = _unmanaged(arrays.of)
    st.active = _unmanaged(arrays.active)
    st.free = _unmanaged(arrays.free)
    st.done = _unmanaged(arrays.done)
    st.n_resting = _unmanaged(arrays.n_resting)
    st.rq_i = _unmanaged(arrays.rq_i)
    st.rq_f = _unmanaged(arrays.rq_f)
    st.rs_i = _unmanaged(arrays.rs_i)
    st.rs_f = _unmanaged(arrays.rs_f)
    st.entry_lat = _unmanaged_latency_nb(arrays.entry_lat)
    st.resp_lat = _unmanaged_latency_nb(arrays.resp_lat)
    st.rng = _unmanaged(arrays.rng)
    st.fills = _unmanaged(arrays.fills)
    st.log = _unmanaged(arrays.log)
    st.eq_ts = _unmanaged(arrays.eq_ts)
    st.eq_val = _unmanaged(arrays.eq_val)
    st.eq_pos = _unmanaged(arrays.eq_pos)
    st.eq_marks = _unmanaged(arrays.eq_marks)
    st.cons = _unmanaged(arrays.cons)
    st.prev_top = _unmanaged(arrays.prev_top)
    st.requeue = _unmanaged(arrays.requeue)
    st.usable = _unmanaged(arrays.usable)
    st.gapped = _unmanaged(arrays.gapped)
    st.rest = _unmanaged(arrays.rest)
    st.notes = _unmanaged(arrays.notes)
    st.guard_cfg = _unmanaged(arrays.guard_cfg)
    st.guard_st = _unmanaged(arrays.guard_st)
    st.asset_ts = _unmanaged(arrays.asset_ts)
    st.trade_hist = _unmanaged(arrays.trade_hist)
    st.vol_ring = _unmanaged(arrays.vol_ring)
    st.marks = _unmanaged(arrays.marks)
    st.hold = _unmanaged(arrays.hold)
    st.fund_i = _unmanaged(arrays.fund_i)
    st.fund_f = _unmanaged(arrays.fund_f)
    st.mark_px = _unmanaged(arrays.mark_px)
    st.fund_log = _unmanaged(arrays.fund_log)
    st.tick = _unmanaged(arrays.tick)
    st.inv_tick = _unmanaged(arrays.inv_tick)
    st.best_bid = _unmanaged(arrays.best_bid)
    st.best_ask = _unmanaged(arrays.best_ask)
    st.bid_qty = _unmanaged(arrays.bid_qty)
    st.ask_qty = _unmanaged(arrays.ask_qty)
    st.base = _unmanaged(arrays.base)
    st.bbo = _unmanaged(arrays.bbo)
    st.keep = arrays  # owns every array above for as long as the struct lives
    return st


def as_struct(arrays: EngineState) -> EngineStateRef:
    """The numba struct over ``arrays`` (no copy: numba's writes show in the NamedTuple's arrays; the struct keeps
    ``arrays`` alive)."""
    return _build_struct_nb(arrays)
#: The one signature every strategy kernel has: ``kernel(state, params, user_state) -> None``.
STRATEGY_SIG = types.void(ENGINE_STATE_TYPE, types.float64[::1], types.float64[::1])
STRATEGY_FN_TYPE = types.FunctionType(STRATEGY_SIG)

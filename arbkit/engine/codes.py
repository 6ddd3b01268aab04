"""Integer codes and table layouts shared by the numba engine, its Python driver and strategies.

Numba kernels see plain module-level integers; Python code gets the same values as enums
and the names used in results (``ORDER_TYPE_NAMES`` …). A prefix names one group and only
one: ``ST_`` statuses, ``R_`` reject reasons, ``RQ_`` request kinds, ``RS_`` response kinds,
``Q_``/``P_`` request/response ring columns, ``O_``/``F_`` order table columns, ``A_``
accounts, ``I_`` instruments, ``G_``/``H_`` engine config, ``C_`` counters, ``RG_`` guard
config, ``GS_`` guard state, ``CLK_`` clock slots, ``E_`` engine errors, ``EV_`` order-log
events. Event kinds are ``KIND_*`` in :mod:`arbkit.book.ladder`.
"""
from __future__ import annotations

import numpy as np

# -- order types, statuses, reject reasons --------------------------------------------------
LIMIT = 0  #: good-till-cancelled limit order; the crossing part takes, the rest rests
POST_ONLY = 1  #: limit order rejected if it would cross on arrival
IOC = 2  #: immediate-or-cancel limit order; leftovers are cancelled
MARKET = 3  #: walks the book without a price limit; leftovers are cancelled
ORDER_TYPE_NAMES = ("limit", "post_only", "ioc", "market")

ST_NEW = 0  #: sent, not yet accepted by the exchange (or not yet acknowledged to the strategy)
ST_OPEN = 1  #: resting, nothing filled
ST_PARTIAL = 2  #: resting or done with part filled
ST_FILLED = 3
ST_CANCELLED = 4
ST_REJECTED = 5
STATUS_NAMES = ("new", "open", "partially_filled", "filled", "cancelled", "rejected")

R_NONE = 0
R_POST_ONLY_WOULD_CROSS = 1
R_INVALID_QTY = 2
R_INVALID_PRICE = 3
R_NO_LIQUIDITY = 4
R_UNKNOWN_ORDER = 5  #: cancel/modify of an order already done at the exchange ("too late")
R_TOO_MANY_ORDERS = 6
R_BOOK_UNUSABLE = 7  #: no book for the instrument (never snapshotted, or after a GAP)
R_MODIFY_WOULD_CROSS = 8
R_GUARD_BLOCKED = 9  #: a risk guard refused the order before it was sent (see the guard counters)
R_INVALID_LOT = 10  #: the size is not a whole number of the instrument's lots (an exchange's LOT_SIZE filter)
# reasons of exchange-side cancels in the order log (EV_CANCEL); a requested cancel has reason 0
R_IOC_LEFTOVER = 11  #: what an IOC or market order could not fill at once
R_END_OF_DATA = 12  #: still resting when the data (or the window) ended
R_KILL_SWITCH = 13  #: the cancel the kill switch sent when it tripped (in EV_CANCEL_SENT and EV_CANCEL)
#: a sell of a spot / outcome token beyond what is held (the position as known, less every live sell's leaves)
R_INSUFFICIENT_POSITION = 14
R_MARKET_RESOLVED = 15  #: the instrument's market has resolved: new orders are refused, resting ones cancelled
REASON_NAMES = ("", "post_only_would_cross", "invalid_qty", "invalid_price", "no_liquidity",
                "unknown_order", "too_many_orders", "book_unusable", "modify_would_cross", "guard_blocked",
                "invalid_lot", "ioc_leftover", "end_of_data", "kill_switch", "insufficient_position",
                "market_resolved")

# -- requests (strategy -> exchange) and responses (exchange -> strategy) ---------------------
RQ_NEW = 0
RQ_CANCEL = 1
RQ_MODIFY = 2

RS_ACK = 0  #: order accepted and resting
RS_FILL = 1
RS_CANCELLED = 2  #: cancel done, or IOC/market leftovers dropped
RS_REJECTED = 3  #: order rejected
RS_MODIFIED = 4
RS_REQUEST_REJECTED = 5  #: a cancel/modify was refused; the order is unchanged

# request ring columns (int64 / float64)
Q_T, Q_SLOT, Q_KIND, Q_TICK = 0, 1, 2, 3
NQI = 4
QF_QTY = 0
NQF = 1
# response ring columns
P_T, P_SLOT, P_KIND, P_REASON, P_STATUS, P_TICK = 0, 1, 2, 3, 4, 5
NPI = 6
PF_QTY, PF_PRICE, PF_LEAVES = 0, 1, 2
NPF = 3

# -- order table columns -------------------------------------------------------------------
O_ID, O_ASSET, O_SIDE, O_TYPE, O_STATUS, O_TICK, O_LSTATUS, O_LTICK, O_REASON, O_INFLIGHT, O_T_SUBMIT, \
    O_CXL_SENT = range(12)
NOI = 12
F_QTY, F_LEAVES, F_FILLED, F_QUEUE, F_TRADED, F_LQTY, F_LLEAVES, F_LFILLED, F_LPRICE, F_LVALUE = range(10)
NOF = 10  # F_LVALUE: sum of price x qty of the fills the strategy has heard of

# -- per-asset accounting columns (float64 [n, NA]) and instrument columns (float64 [n, NI]) ----
# A_POS_U / A_LPOS_U: the positions in quantity units (whole lots; see I_UNIT); A_POS = A_POS_U * unit, exactly
A_POS, A_CASH, A_AVG, A_REAL, A_FEES, A_VOL, A_LPOS, A_MID, A_NOTIONAL, A_POS_U, A_LPOS_U = range(11)
# A_FUNDING: perpetual funding received (+) or paid (-) in the settlement currency, already in A_CASH
# (arbkit.engine.funding); A_MARK: the price equity and unrealised PnL use in ``mark: mark_price`` mode
# (the last MARK row; 0 before one: the mid)
A_FUNDING, A_MARK = 11, 12
# outcome instruments: A_SETTLED 1 once the market resolved and the position was paid out; A_SETTLE_ADJ the sum of
# position x (payoff - last mid) paid at settlement (mark-to-mid PnL = settled PnL - A_SETTLE_ADJ)
A_SETTLED, A_SETTLE_ADJ = range(13, 15)
# A_REWARD: liquidity rewards credited (arbkit.engine.rewards), already in A_CASH; kept on the market's first asset
A_REWARD = 15
NA = 16
# I_UNIT: the engine's quantity unit, the lot size (or 1.0 when the lot is unknown: float quantities then)
I_MAKER_BPS, I_TAKER_BPS, I_CSIZE, I_INVERSE, I_LOT, I_BINARY, I_UNIT = range(7)
# I_NO_SHORT 1: the position may not go below zero (spot, outcome tokens unless allow_short); I_COMPLEMENT the asset
# index of the other outcome of a binary market (-1 none); I_PAYOFF the payoff per token at resolution (NaN: not
# known); I_RES_S / I_RES_NS the resolution time as whole seconds and the ns beyond them (exact; -1 s: not known)
I_NO_SHORT, I_COMPLEMENT, I_PAYOFF, I_RES_S, I_RES_NS = range(7, 12)
# liquidity rewards of an outcome instrument (arbkit.engine.rewards; rate 0: none): I_RW_RATE cash per unit of score
# per day; I_RW_SPREAD the max spread from the mid (price units); I_RW_MIN the min order size (quantity); I_RW_SCALE c,
# the divisor of a one-sided market's score
I_RW_RATE, I_RW_SPREAD, I_RW_MIN, I_RW_SCALE = range(12, 16)
NI = 16
# -- engine configuration vectors ---------------------------------------------------------------
# G_MAX_SILENCE: ns of feed silence after which interval calls, wake-ups and equity samples pause (0: never)
G_SCHEDULE, G_INTERVAL, G_QUEUE, G_THROUGH, G_CROSS, G_CONSUME, G_EQ_INTERVAL, G_MAX_LEVELS, G_ALLOW_CROSSED, \
    G_MAX_SILENCE = range(10)
G_MARK = 10  #: what equity marks positions at: MARK_MID or MARK_PRICE (the last MARK row, the mid before one)
G_RW_INTERVAL = 11  #: ns between two liquidity-reward samples (used only when an instrument has a reward rate)
NG = 12  # int64 config
H_QUEUE_POWER, H_FILL_PROB = range(2)
NH = 2  # float64 config

# -- schedule bits -------------------------------------------------------------------------
CALL_EVERY_EVENT = 1
CALL_INTERVAL = 2
CALL_TOP_CHANGE = 4
CALL_RESPONSE = 8
CALL_WAKE = 16  #: a wake-up the strategy asked for (``api.wake_at``) is due
CALL_REASON_NAMES = {CALL_EVERY_EVENT: "every_event", CALL_INTERVAL: "interval", CALL_TOP_CHANGE: "top_change",
                     CALL_RESPONSE: "response", CALL_WAKE: "wake"}

# -- what equity and unrealised PnL mark positions at (G_MARK) ----------------------------------------
MARK_MID = 0
MARK_PRICE = 1
MARK_CODES = {"mid": MARK_MID, "mark_price": MARK_PRICE}

# -- trade-through fills ----------------------------------------------------------------------
THROUGH_NONE = 0  #: a trade beyond our price does not fill us (only trades at our price, via the queue)
THROUGH_ALL = 1  #: it fills everything we have left at our price
THROUGH_VOLUME = 2  #: it fills at most the quantity that traded beyond our price (price-then-time priority)
THROUGH_CODES = {"none": THROUGH_NONE, "all": THROUGH_ALL, "volume": THROUGH_VOLUME}

# -- queue models --------------------------------------------------------------------------
QUEUE_RISK_AVERSE = 0
QUEUE_POWER = 1
QUEUE_LOG = 2
QUEUE_MODEL_CODES = {"risk_averse": QUEUE_RISK_AVERSE, "power": QUEUE_POWER, "log": QUEUE_LOG}

# -- counters --------------------------------------------------------------------------------
COUNTER_NAMES = (
    "events", "strategy_calls", "orders", "cancels_sent", "modifies", "rejects", "request_rejects",
    "fills", "maker_fills", "taker_fills", "trade_through_fills", "cross_fills",
    "prob_skipped_fills", "gaps", "messages", "equity_samples", "responses",
    "guard_budget_capped", "guard_budget_blocks", "guard_exposure_blocks", "guard_cooldown_blocks",
    "guard_kill_blocks", "kill_switch_trips", "exchange_cancels", "kill_switch_cancels", "invalid_lot_rejects",
    "crossed_books", "timer_calls", "insufficient_position_rejects", "settlements", "merges",
    "guard_volume_capped", "guard_volume_blocks", "entry_attempts", "entries", "reward_rows",
)
# cancels_sent: cancel requests sent, by the strategy and by the kill switch (its share: kill_switch_cancels);
# exchange_cancels: orders the exchange cancelled that the strategy did not ask to cancel: IOC/market leftovers,
# the kill switch's cancels when they reach the exchange, orders still resting at the end of the data;
# timer_calls: strategy calls between two messages (interval, wake-up or response with no event at that time);
# entry_attempts: valid orders that do not only reduce the position (the risk guards judge these, when on);
# entries: entry attempts sent
C_EVENTS, C_CALLS, C_ORDERS, C_CANCELS_SENT, C_MODIFIES, C_REJECTS, C_REQ_REJECTS = range(7)
C_FILLS, C_MAKER, C_TAKER, C_THROUGH, C_CROSS, C_PROB_SKIP, C_GAPS, C_MESSAGES, C_EQ, C_RESP = range(7, 17)
C_G_CAPPED, C_G_BUDGET, C_G_EXPOSURE, C_G_COOLDOWN, C_G_KILL, C_KILL_TRIPS = range(17, 23)
C_EXCH_CANCELS, C_KILL_CANCELS, C_LOT_REJECTS, C_CROSSED, C_TIMER_CALLS = range(23, 28)
# insufficient_position_rejects: sells refused at submit (or modifies refused) for want of the tokens;
# settlements: positions paid out at a market's resolution; merges: complementary pairs merged into cash
C_POS_REJECTS, C_SETTLES, C_MERGES = range(28, 31)
C_G_VOL_CAPPED, C_G_VOL_BLOCKS = range(31, 33)
C_ENTRY_ATTEMPTS, C_ENTRIES = range(33, 35)
C_REWARDS = 35  #: reward rows written (a market's sample that scored above zero)

# -- risk guards: configuration (float64 [NRG]) and state (float64 [NGS]) -------------------------
(RG_ON, RG_BUDGET, RG_MAX_POS_NOTIONAL, RG_MAX_TOTAL_NOTIONAL, RG_COOLDOWN_FILL_MS, RG_COOLDOWN_LOSS_MS,
 RG_MAX_DAILY_LOSS, RG_MAX_DRAWDOWN, RG_MAX_GAP_MS, RG_STALE_MS, RG_STUCK_MS) = range(11)
RG_VOL_SHARE, RG_VOL_WINDOW_MS, RG_VOL_BASIS = range(11, 14)  # volume guard: share, window, basis (VOL_BASIS_*)
NRG = 14
VOL_TRADED, VOL_DEPTH = 0, 1  #: the volume guard's basis: traded volume over the window, or displayed depth
VOL_BASIS_CODES = {"traded": VOL_TRADED, "depth": VOL_DEPTH}
GUARDS = ("budget", "exposure", "cooldown", "kill_switch", "volume")
(GS_KILLED, GS_KILL_REASON, GS_KILL_TS, GS_LAST_FILL_TS, GS_LAST_LOSS_TS, GS_DAY, GS_DAY_START_EQ, GS_PEAK_EQ,
 GS_LAST_REAL) = range(9)
GS_STREAK = 9  # per guard: start of the current run of blocks (0 = none)
GS_MAX_STREAK = GS_STREAK + len(GUARDS)  # per guard: longest run of blocks with no entry let through, ns
GS_STUCK_OPEN = GS_MAX_STREAK + len(GUARDS)  # per guard: 1 when the current run of blocks is already counted stuck
GS_STUCK_N = GS_STUCK_OPEN + len(GUARDS)  # per guard: runs of blocks that lasted stuck_window_ms or longer
NGS = GS_STUCK_N + len(GUARDS)
KILL_REASONS = ("", "max_daily_loss", "max_drawdown", "data_gap", "stale_book")
N_COUNTERS = len(COUNTER_NAMES)

# -- clock slots (int64 vector) ----------------------------------------------------------------
CLK_NOW, CLK_NEXT_ID, CLK_NEXT_CALL, CLK_NEXT_EQ, CLK_PEND_ASSET, CLK_PEND_TS, CLK_PEND_SEQ, CLK_PEND_KIND, \
    CLK_TOP_CHANGED, CLK_RESPONDED, CLK_RQ_HEAD, CLK_RQ_N, CLK_RS_HEAD, CLK_RS_N, CLK_N_ACTIVE, CLK_NFILL, \
    CLK_NLOG, CLK_NEQ, CLK_LAST_RQ_T, CLK_LAST_RS_T, CLK_CALL_REASON, CLK_N_CONS, CLK_N_FREE, CLK_ERROR, \
    CLK_NNOTE, CLK_DONE_HEAD, CLK_DONE_N = range(27)
# timers: CLK_NEXT_DUE is a lower bound of the earliest request, response or timer (lowered when one is added,
# recomputed when one is used up); CLK_NEXT_TIMER the same for timers only; CLK_WAKE the pending wake-up
# (max int = none); CLK_LAST_CALL_T the time of the last strategy call (no second call for responses at it);
# the first crossed book: time, asset, row (rows fed so far); CLK_LAST_T the time of the last message end;
# CLK_KILL_TS the kill switch's trip time, exact (GS_KILL_TS holds it as a float)
CLK_NEXT_DUE, CLK_NEXT_TIMER, CLK_WAKE, CLK_LAST_CALL_T, CLK_CROSS_TS, CLK_CROSS_ASSET, CLK_CROSS_ROW, \
    CLK_LAST_T, CLK_KILL_TS = range(27, 36)
# funding (arbkit.engine.funding): rows in the funding ledger buffer; the earliest pending funding time of any
# asset (max int: none), part of CLK_NEXT_DUE
CLK_NFUND, CLK_FUND_DUE = range(36, 38)
# CLK_NEXT_SETTLE: the earliest resolution time of a market not settled yet (max int: none); a timer like the
# kill-switch deadlines (never paused by max_silence_s)
CLK_NEXT_SETTLE = 38
# CLK_NEXT_REWARD: the next liquidity-reward sample (max int: rewards off); never paused, like CLK_NEXT_SETTLE
CLK_NEXT_REWARD = 39
N_CLOCK = 40

# engine errors (CLK_ERROR): the driver turns them into exceptions
E_NONE = 0
E_FILL_BUFFER = 1
E_LOG_BUFFER = 2
E_NOTE_BUFFER = 3
E_CROSSED = 4  #: a crossed book after a complete book message (and crossed books not allowed)

# -- exact performance marks, per asset then the total (rows 0..n) ------------------------------------
# marks float64 [n + 1, NMK]: running peak of equity (from the starting equity, 0) and the largest fall from it,
# evaluated at every fill and every message end that moves the mid of an instrument held;
# hold int64 [n + 1, NHD]: time (ns) with a non-zero position, and since when the current holding period
# runs (-1: flat). Equity samples carry the running max drawdown and time in market (eq_marks [S, 2 * (n + 1)]).
MK_PEAK, MK_MAXDD = range(2)
NMK = 2
HD_TIM, HD_SINCE = range(2)
NHD = 2

#: strategy annotations: (ts, code, then NOTE_VALUES numbers) rows, drained like fills
NOTE_VALUES = 8

# -- output records ----------------------------------------------------------------------------
FILL_DTYPE = np.dtype([
    ("ts", "i8"),  # exchange-side time of the fill (local clock)
    ("ts_seen", "i8"),  # when the strategy learns of it (ts + response latency)
    ("asset", "i4"),
    ("order_id", "i8"),
    ("side", "i1"),
    ("maker", "i1"),  # 1 maker, 0 taker
    ("level", "i4"),  # book level the liquidity came from (0 = touch)
    ("price", "f8"),
    ("qty", "f8"),
    ("fee", "f8"),  # in the instrument's settlement currency; negative = rebate
    ("slip_touch_bps", "f8"),  # signed cost vs the touch on arrival (positive = worse)
    ("slip_mid_bps", "f8"),  # signed cost vs the mid on arrival
    ("best_bid", "f8"),  # the book's top when the fill happened (NaN when a side is empty)
    ("best_ask", "f8"),
    ("kind", "i1"),  # FK_TRADE a trade; FK_SETTLE a payout at resolution; FK_MERGE a pair merged into cash;
    # FK_REWARD a liquidity reward: side 0, qty 0, price = the cash credited (no position, volume or fee)
])
FK_TRADE, FK_SETTLE, FK_MERGE, FK_REWARD = range(4)
FILL_KIND_NAMES = ("trade", "settlement", "merge", "reward")

# the funding ledger: one row per funding time and instrument held (arbkit.engine.funding)
FUNDING_DTYPE = np.dtype([
    ("ts", "i8"),  # the funding time
    ("asset", "i4"),
    ("position", "f8"),  # signed, in the instrument's quantity (contracts for inverse)
    ("mark", "f8"),  # the price the payment was computed at
    ("mark_source", "i1"),  # 1: the last MARK row before the funding time; 0: no MARK yet, the mid
    ("rate", "f8"),  # the rate announced for that funding time (the last FUNDING row before it)
    ("amount", "f8"),  # received (+) or paid (-), settlement currency (quote for linear, coin for inverse)
])

# EV_CANCEL_SENT: a cancel request left (strategy, or the kill switch with reason R_KILL_SWITCH), logged when sent
# like EV_SUBMIT; EV_CANCEL: the order left the book at the exchange (reason 0 = requested, else R_IOC_LEFTOVER,
# R_END_OF_DATA, R_KILL_SWITCH)
EV_SUBMIT, EV_ACCEPT, EV_FILL, EV_CANCEL, EV_REJECT, EV_MODIFY, EV_REQ_REJECT, EV_CANCEL_SENT = range(8)
ORDER_EVENT_NAMES = ("submit", "accept", "fill", "cancel", "reject", "modify", "request_reject", "cancel_sent")
ORDER_LOG_DTYPE = np.dtype([
    ("ts", "i8"),
    ("order_id", "i8"),
    ("asset", "i4"),
    ("event", "i1"),
    ("status", "i1"),
    ("reason", "i1"),
    ("side", "i1"),
    ("type", "i1"),
    ("price", "f8"),
    ("qty", "f8"),
    ("leaves", "f8"),
])

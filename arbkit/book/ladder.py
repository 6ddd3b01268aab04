"""Per-asset L2 books as integer-tick ladders, for numba.

Each asset has a bid and an ask ladder of ``L`` ticks starting at ``base[a]``. Prices
become ticks with ``floor(price / tick + 0.5)``. When the book's centre drifts within
``L/4`` of an edge the ladder is recentred (levels falling off the far side are counted
in ``dropped``); an update outside the window is counted there too. The best bid/ask are
kept incrementally; removing the best scans towards the inside of the book.

Everything here is ``@njit(cache=True)`` and works on a :class:`BookState` of arrays.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from arbkit.core.schema import Kind

NO_BID = np.iinfo(np.int64).min
NO_ASK = np.iinfo(np.int64).max
DEFAULT_LADDER = 1 << 18

KIND_SNAPSHOT = np.uint8(Kind.SNAPSHOT)
KIND_DEPTH = np.uint8(Kind.DEPTH)
KIND_TRADE = np.uint8(Kind.TRADE)
KIND_BBO = np.uint8(Kind.BBO)
KIND_CLEAR = np.uint8(Kind.CLEAR)
KIND_GAP = np.uint8(Kind.GAP)
KIND_FUNDING = np.uint8(Kind.FUNDING)  # no book change: the engine's funding (arbkit.engine.funding)
KIND_MARK = np.uint8(Kind.MARK)


class BookState(NamedTuple):
    """Arrays holding every asset's book; row ``a`` belongs to asset ``a``."""

    bid_qty: np.ndarray  # float64[n, L]
    ask_qty: np.ndarray  # float64[n, L]
    base: np.ndarray  # int64[n]: tick of ladder index 0
    best_bid: np.ndarray  # int64[n]: tick, NO_BID when empty
    best_ask: np.ndarray  # int64[n]: tick, NO_ASK when empty
    n_bid: np.ndarray  # int64[n]: non-empty bid levels
    n_ask: np.ndarray  # int64[n]
    inv_tick: np.ndarray  # float64[n]
    tick: np.ndarray  # float64[n]
    dropped: np.ndarray  # int64[n]: updates outside the window + levels lost on recentring
    centred: np.ndarray  # bool[n]: base has been set
    bbo: np.ndarray  # float64[n, 4]: last BBO bid px, bid qty, ask px, ask qty (NaN = none)


def new_books(tick_sizes: np.ndarray, ladder: int = DEFAULT_LADDER) -> BookState:
    """Empty books for assets with the given tick sizes."""
    n = len(tick_sizes)
    tick = np.asarray(tick_sizes, dtype=np.float64)
    return BookState(
        bid_qty=np.zeros((n, ladder)), ask_qty=np.zeros((n, ladder)),
        base=np.zeros(n, dtype=np.int64),
        best_bid=np.full(n, NO_BID, dtype=np.int64), best_ask=np.full(n, NO_ASK, dtype=np.int64),
        n_bid=np.zeros(n, dtype=np.int64), n_ask=np.zeros(n, dtype=np.int64),
        inv_tick=1.0 / tick, tick=tick.copy(), dropped=np.zeros(n, dtype=np.int64),
        centred=np.zeros(n, dtype=np.bool_), bbo=np.full((n, 4), np.nan),
    )


@njit(cache=True)
def price_to_tick_nb(price, inv_tick):
    """Nearest integer tick of ``price``."""
    return np.int64(np.floor(price * inv_tick + 0.5))


@njit(cache=True)
def book_clear_nb(b, a):
    """Empty asset ``a``'s book (a CLEAR event).

    An empty book's levels are all zero already (``n_bid``/``n_ask`` count the positive
    ones), so it is not written: a fresh ladder stays untouched memory until rows reach it."""
    if b.n_bid[a] + b.n_ask[a] > 0:
        b.bid_qty[a, :] = 0.0
        b.ask_qty[a, :] = 0.0
    b.best_bid[a] = NO_BID
    b.best_ask[a] = NO_ASK
    b.n_bid[a] = 0
    b.n_ask[a] = 0
    b.centred[a] = False


@njit(cache=True)
def _recount_nb(b, a):
    L = b.bid_qty.shape[1]
    nb = 0
    na = 0
    bb = NO_BID
    ba = NO_ASK
    base = b.base[a]
    for i in range(L):
        if b.bid_qty[a, i] > 0.0:
            nb += 1
            bb = base + i
        if b.ask_qty[a, L - 1 - i] > 0.0:
            na += 1
            ba = base + L - 1 - i
    b.n_bid[a] = nb
    b.n_ask[a] = na
    b.best_bid[a] = bb
    b.best_ask[a] = ba


@njit(cache=True)
def book_recenter_nb(b, a, centre_tick):
    """Move asset ``a``'s window so that ``centre_tick`` sits in its middle.

    Called with the book's centre (mid of the bests, or the one best), it keeps both bests: they
    lie in the window, at most ``L - 1`` ticks apart, and only bests exactly ``L - 1`` apart (the
    window's two ends, its centre in range: never recentred) could lose one. So after every ladder
    update a non-empty book's centre lies in ``[L/4, L - L/4]`` of its window, and the update need
    look at the window only when a best price moved (``tests/book/test_ladder_window.py``).
    """
    L = b.bid_qty.shape[1]
    new_base = centre_tick - L // 2
    shift = new_base - b.base[a]
    if shift == 0:
        return
    before = b.n_bid[a] + b.n_ask[a]
    if shift > 0:
        if shift < L:
            b.bid_qty[a, : L - shift] = b.bid_qty[a, shift:].copy()
            b.ask_qty[a, : L - shift] = b.ask_qty[a, shift:].copy()
            b.bid_qty[a, L - shift:] = 0.0
            b.ask_qty[a, L - shift:] = 0.0
        else:
            b.bid_qty[a, :] = 0.0
            b.ask_qty[a, :] = 0.0
    else:
        s = -shift
        if s < L:
            b.bid_qty[a, s:] = b.bid_qty[a, : L - s].copy()
            b.ask_qty[a, s:] = b.ask_qty[a, : L - s].copy()
            b.bid_qty[a, :s] = 0.0
            b.ask_qty[a, :s] = 0.0
        else:
            b.bid_qty[a, :] = 0.0
            b.ask_qty[a, :] = 0.0
    b.base[a] = new_base
    _recount_nb(b, a)
    b.dropped[a] += before - (b.n_bid[a] + b.n_ask[a])


@njit(cache=True)
def book_set_nb(b, a, side, tick, qty):
    """Set the total quantity at ``tick`` on ``side`` (+1 bid, -1 ask); 0 removes the level.

    The engine's loops and the book scanner write the same block out on hoisted arrays
    (``# --- copy: ladder-update``; the tests compare the copies), so all agree on every book.
    """
    bid_qty = b.bid_qty
    ask_qty = b.ask_qty
    base = b.base
    best_bid = b.best_bid
    best_ask = b.best_ask
    n_bid = b.n_bid
    n_ask = b.n_ask
    centred = b.centred
    dropped = b.dropped
    L = bid_qty.shape[1]
    sd = side
    q = qty
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
    return old


@njit(cache=True)
def book_apply_nb(b, a, kind, side, price, qty):
    """Apply one event row to asset ``a``'s book. Returns True when the row changed the book."""
    if kind == KIND_DEPTH or kind == KIND_SNAPSHOT:
        book_set_nb(b, a, side, price_to_tick_nb(price, b.inv_tick[a]), qty)
        return True
    if kind == KIND_CLEAR:
        book_clear_nb(b, a)
        return True
    if kind == KIND_BBO:
        if side > 0:
            b.bbo[a, 0] = price
            b.bbo[a, 1] = qty
        else:
            b.bbo[a, 2] = price
            b.bbo[a, 3] = qty
    return False


@njit(cache=True)
def level_qty_nb(b, a, side, tick):
    """Displayed quantity at ``tick`` on ``side`` (0 off the ladder)."""
    i = tick - b.base[a]
    if i < 0 or i >= b.bid_qty.shape[1]:
        return 0.0
    return b.bid_qty[a, i] if side > 0 else b.ask_qty[a, i]


@njit(cache=True)
def top_nb(b, a):
    """(best bid px, qty, best ask px, qty) of asset ``a``; NaN where a side is empty."""
    bp = np.nan
    bq = np.nan
    ap = np.nan
    aq = np.nan
    if b.best_bid[a] != NO_BID:
        bp = b.best_bid[a] * b.tick[a]
        bq = b.bid_qty[a, b.best_bid[a] - b.base[a]]
    if b.best_ask[a] != NO_ASK:
        ap = b.best_ask[a] * b.tick[a]
        aq = b.ask_qty[a, b.best_ask[a] - b.base[a]]
    return bp, bq, ap, aq

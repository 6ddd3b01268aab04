"""The ladder's window: the update looks at it only when a best price moved, which is enough.

``book_set_nb`` recentres only after a row that moved a best; the rule it replaced checked the
window after every row. They agree because a recentre on the book's centre never loses a best,
so a non-empty book's centre always lies in ``[L/4, L - L/4]`` of its window. Checked here on
small ladders with jumps far beyond the window, against the every-row rule applied on top.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

from arbkit.book.ladder import NO_ASK, NO_BID, book_recenter_nb, book_set_nb, new_books


def centre_offset(b, a):
    """The book's centre minus its window's base (None for an empty book)."""
    bb, ba = int(b.best_bid[a]), int(b.best_ask[a])
    if bb == NO_BID and ba == NO_ASK:
        return None
    if bb != NO_BID and ba != NO_ASK:
        return (bb + ba) // 2 - int(b.base[a])
    return (bb if bb != NO_BID else ba) - int(b.base[a])


@hs.composite
def level_updates(draw):
    """(side, tick, qty) rows around a centre that walks and sometimes jumps by more than the window."""
    rows = []
    placed = []
    centre = 10_000
    for _ in range(draw(hs.integers(1, 300))):
        if placed and draw(hs.integers(0, 2)) == 0:  # remove a level placed before (often a best)
            side, tick = placed.pop(draw(hs.integers(0, len(placed) - 1)))
            rows.append((side, tick, 0.0))
            continue
        if draw(hs.integers(0, 9)) == 0:
            centre += draw(hs.integers(-400, 400))
        side = draw(hs.sampled_from([1, -1]))
        away = draw(hs.integers(0, 80))
        tick = centre - away if side > 0 else centre + away
        tick += draw(hs.integers(-3, 3))
        qty = draw(hs.sampled_from([0.0, 1.0, 2.5]))
        rows.append((side, tick, qty))
        if qty > 0.0:
            placed.append((side, tick))
    return rows


@settings(max_examples=150, deadline=None)
@given(rows=level_updates(), ladder=hs.sampled_from([16, 64, 256]))
def test_the_centre_stays_inside_after_every_row(rows, ladder):
    b = new_books(np.array([1.0]), ladder)
    every_row = new_books(np.array([1.0]), ladder)
    L = ladder
    for side, tick, qty in rows:
        book_set_nb(b, 0, side, tick, qty)
        off = centre_offset(b, 0)
        assert off is None or L // 4 <= off <= L - L // 4, (off, L)
        # the rule it replaced: after every row, recentre when the centre is within L/4 of an edge
        book_set_nb(every_row, 0, side, tick, qty)
        off2 = centre_offset(every_row, 0)
        if off2 is not None and (off2 < L // 4 or off2 > L - L // 4):
            book_recenter_nb(every_row, 0, off2 + int(every_row.base[0]))
        for field in b._fields:
            assert np.array_equal(getattr(b, field), getattr(every_row, field), equal_nan=True), field


def test_a_jump_recentres_on_the_new_best_and_counts_the_levels_lost():
    """Hand-worked, L = 16: bids at 100, 99; a bid at 130 is outside the window [92, 108) and dropped;
    the asks then move the centre up step by step until the window follows."""
    b = new_books(np.array([1.0]), 16)
    book_set_nb(b, 0, 1, 100, 1.0)  # first row: window [92, 108), best bid 100 at index 8
    assert b.base[0] == 92 and b.best_bid[0] == 100
    book_set_nb(b, 0, 1, 99, 1.0)
    book_set_nb(b, 0, 1, 130, 1.0)  # outside the window: dropped, nothing moves
    assert b.dropped[0] == 1 and b.best_bid[0] == 100 and b.n_bid[0] == 2
    book_set_nb(b, 0, -1, 107, 1.0)  # centre (100 + 107) // 2 = 103, offset 11 <= 12: stays
    assert b.base[0] == 92
    book_set_nb(b, 0, 1, 100, 0.0)  # best bid removed: best 99, centre 103, offset 11: stays
    assert b.base[0] == 92 and b.best_bid[0] == 99
    book_set_nb(b, 0, 1, 99, 0.0)  # no bid left: centre = best ask 107, offset 15 > 12: recentre on 107
    assert b.base[0] == 107 - 8 and b.best_ask[0] == 107 and b.best_bid[0] == NO_BID
    assert b.dropped[0] == 1  # nothing lost by the recentre

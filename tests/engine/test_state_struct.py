"""The numba struct over an EngineState: unmanaged views of the NamedTuple's arrays, which it keeps alive.

The struct's array fields carry no reference count (``state._unmanaged``), so the memory
must be owned elsewhere: by the struct's ``keep`` field. These tests check that the views
alias the owning arrays, that the owners live exactly as long as the struct, and that an
array handed back to Python is the owning ndarray, never an unowned view.
"""
from __future__ import annotations

import gc
import weakref

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from arbkit.engine import codes as c
from arbkit.engine.latency import constant_table
from arbkit.engine.state import as_struct, new_state


def _state():
    n = 2
    return new_state(np.zeros((n, c.NI)), np.full(n, 0.1), np.zeros(c.NG, np.int64), np.zeros(c.NH),
                     constant_table(np.zeros(n)), constant_table(np.zeros(n)), 0, ladder=64, order_slots=8, ring=8,
                     fill_buffer=16, eq_buffer=8)


@njit(cache=True)
def _write_through(st, v):
    st.clock[c.CLK_NOW] = v
    st.books.bid_qty[1, 3] = 2.5
    st.entry_lat.const[0] = v + 1
    return st.keep.clock[c.CLK_NOW], st.keep.books.bid_qty[1, 3], st.keep.entry_lat.const[0]


@intrinsic
def _meminfo_address(typingctx, arr):
    def codegen(context, builder, sig, args):
        view = context.make_array(arr)(context, builder, value=args[0])
        return builder.ptrtoint(view.meminfo, context.get_value_type(types.intp))

    return types.intp(arr), codegen


@njit(cache=True)
def _meminfos(st):
    return _meminfo_address(st.clock), _meminfo_address(st.books.bid_qty), _meminfo_address(st.keep.clock)


@njit(cache=True)
def _clock_back(st):
    return st.clock


def test_views_alias_the_owning_arrays():
    state = _state()
    st = as_struct(state)
    assert _write_through(st, 123) == (123, 2.5, 124)
    assert state.clock[c.CLK_NOW] == 123 and state.books.bid_qty[1, 3] == 2.5 and state.entry_lat.const[0] == 124


def test_fields_carry_no_reference_count_the_owner_does():
    field, book_field, owner = _meminfos(as_struct(_state()))
    assert field == 0 and book_field == 0
    assert owner != 0


def test_struct_keeps_the_arrays_alive_and_then_frees_them():
    state = _state()
    refs = [weakref.ref(a) for a in (state.clock, state.books.ask_qty, state.resp_lat.values, state.fills)]
    st = as_struct(state)
    del state
    gc.collect()
    assert all(r() is not None for r in refs)  # the struct alone keeps every owner
    assert _write_through(st, 7)[0] == 7
    del st
    gc.collect()
    assert all(r() is None for r in refs)  # and nothing outlives it


def test_an_array_handed_back_is_the_owner():
    state = _state()
    st = as_struct(state)
    back = _clock_back(st)
    assert back is state.clock

"""Drive the engine over event columns chunk by chunk, draining its buffers; build the Result.

:class:`Replayer` is the streaming interface (``feed(chunk)`` … ``finish()``) used for
recordings and live micro-batches; it never opens a file (``arbkit.run.replay`` does).
:meth:`Replayer.advance_to` moves the engine's clock with no event (paper trading's wall
clock between batches): timers fire at their own times exactly as a replay fires them.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from arbkit.engine import codes as c
from arbkit.engine import row_checks as rc
from arbkit.book.ladder import DEFAULT_LADDER, NO_ASK, NO_BID
from arbkit.engine.config import FillModel, LatencyModel, Rewards, RiskGuards, Schedule, engine_config, instrument_matrix
from arbkit.engine.loop import advance_clock_nb, finish_events_nb, run_events_nb, warm_market_nb
from arbkit.engine.marks import time_in_market_nb
from arbkit.engine.result import Result
from arbkit.engine.state import EngineState, as_struct, new_state
from arbkit.engine.strategy import Strategy
from arbkit.core.errors import ConfigError, DataError
from arbkit.core.columns import EventColumns
from arbkit.core.schema import FUNDING_KINDS, KIND_NAMES, Instrument

_INT64_MIN = np.iinfo(np.int64).min
_FUNDING_CODES = np.array(FUNDING_KINDS, dtype=np.uint8)
_KNOWN_KINDS, _FUNDING_KIND = rc.kind_tables()


def book_rows(cols: EventColumns) -> EventColumns:
    """``cols`` without FUNDING / MARK rows (the rows the engine counts as events and groups into messages)."""
    drop = np.isin(cols.kind, _FUNDING_CODES)
    return cols.take(~drop) if drop.any() else cols


class Replayer:
    """One run's engine state plus the drained outputs; feed chunks in ts_local order."""

    def __init__(self, instruments: Sequence[Instrument], strategy: Strategy, params: Any = None, *,
                 fill: FillModel | Mapping[str, Any] | None = None,
                 latency: LatencyModel | Mapping[str, Any] | None = None, seed: int = 0,
                 schedule: Schedule | Mapping[str, Any] | None = None, equity_interval_ms: float = 1000.0,
                 guards: RiskGuards | Mapping[str, Any] | None = None,
                 ladder: int = DEFAULT_LADDER, source: str | None = None,
                 trace_window: tuple[int, int] | None = None, buffers: Mapping[str, int] | None = None,
                 share_market_with: EngineState | None = None, allow_crossed: bool = False, mark: str = "mid",
                 allow_short: bool | None = None, rewards: Rewards | Mapping[str, Any] | None = None) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(f"strategy must be an arbkit Strategy, got {type(strategy).__name__}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        self.instruments = list(instruments)
        self.strategy = strategy
        self.params = strategy.checked_vector(params, self.instruments)  # no kernel sees an index outside the books
        self.fill = FillModel.from_dict(fill) if not isinstance(fill, FillModel) else fill
        self.latency = LatencyModel.from_dict(latency) if not isinstance(latency, LatencyModel) else latency
        self.schedule = strategy.schedule if schedule is None else (
            schedule if isinstance(schedule, Schedule) else Schedule.from_dict(schedule))
        self.seed = int(seed)
        self.guards = guards if isinstance(guards, RiskGuards) else RiskGuards.from_dict(guards)
        self.source = source
        self.allow_crossed = allow_crossed
        self.allow_short = allow_short  # None: by contract type (spot and outcome tokens may not go short)
        self.mark = mark
        self.rewards = rewards if isinstance(rewards, Rewards) else Rewards.from_dict(rewards)
        gi, gf = engine_config(self.fill, self.schedule, equity_interval_ms, allow_crossed, mark, self.rewards)
        entry, resp = self.latency.tables(self.instruments)
        self.state: EngineState = new_state(self.rewards.apply(instrument_matrix(self.instruments, allow_short),
                                                               self.instruments),
                                            np.array([i.tick_size for i in self.instruments]), gi, gf, entry, resp,
                                            self.seed, guard_cfg=self.guards.vector(), ladder=ladder,
                                            share_market_with=share_market_with, **(buffers or {}))
        self._struct = as_struct(self.state)
        self.user = strategy.new_user_state(self.params, len(self.instruments))
        self.equity_interval_ms = equity_interval_ms
        self._fills: list[np.ndarray] = []
        self._orders: list[np.ndarray] = []
        self._eq: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._notes: list[np.ndarray] = []
        self._rows = 0
        self._last_ts = _INT64_MIN
        self._first_ts: int | None = None
        self._clock = _INT64_MIN  # where advance_to moved the clock (no later row may be before it)
        self._engine_rows = 0  # rows the engine counts as events (FUNDING / MARK rows are not)
        self._funding: list[np.ndarray] = []
        self._row_map: list[tuple[int, int, np.ndarray, int]] = []  # chunks that dropped rows, to name input rows
        self._origins: list[tuple[int, int, tuple]] = []  # (first fed row, rows, origin): fed rows -> file rows
        self.trace_window = trace_window
        self.trace: list[dict[str, Any]] = []
        self._finished = False
        self.engine_ns = 0  # wall time inside the engine's loops (replay_call_ns_avg)

    # -- input checks ---------------------------------------------------------------------

    def _check(self, cols: EventColumns) -> int:
        """Raise a DataError on the first row breaking an input rule; the number of FUNDING / MARK rows."""
        n = len(cols)
        where = self.source
        ts = cols.ts_local
        if ts[0] < self._last_ts:
            raise DataError(f"ts_local goes back across chunks ({ts[0]} < {self._last_ts})", path=where,
                            row=self._rows, field="ts_local")
        if ts[0] < self._clock:
            raise DataError(f"ts_local {ts[0]} is before the clock the run was advanced to ({self._clock})",
                            path=where, row=self._rows, field="ts_local")
        bad = np.empty(rc.N_SLOTS, np.int64)
        rc.first_bad_rows_nb(np.ascontiguousarray(ts), np.ascontiguousarray(cols.asset), np.ascontiguousarray(cols.kind),
                             np.ascontiguousarray(cols.price), np.ascontiguousarray(cols.qty), len(self.instruments),
                             _KNOWN_KINDS, _FUNDING_KIND, bad)
        if n > 1 and bad[rc.BAD_ORDER] >= 0:
            r = int(bad[rc.BAD_ORDER])
            raise DataError(f"ts_local not sorted ({ts[r]} after {ts[r - 1]})", path=where, row=self._rows + r,
                            field="ts_local")
        if bad[rc.BAD_ASSET] >= 0:
            r = int(bad[rc.BAD_ASSET])
            raise DataError(f"asset {cols.asset[r]} is not one of the {len(self.instruments)} instruments", path=where,
                            row=self._rows + r, field="asset")
        if bad[rc.BAD_KIND] >= 0:
            r = int(bad[rc.BAD_KIND])
            raise DataError(f"unknown kind {cols.kind[r]}", path=where, row=self._rows + r, field="kind")
        for name, arr, slot in (("price", cols.price, rc.BAD_PRICE_VALUE), ("qty", cols.qty, rc.BAD_QTY_VALUE)):
            if bad[slot] >= 0:
                r = int(bad[slot])
                raise DataError(f"{name} {float(arr[r])!r} is not a finite number >= 0", path=where, row=self._rows + r,
                                field=name)
        if bad[rc.BAD_PRICE_SIGN] >= 0:
            r = int(bad[rc.BAD_PRICE_SIGN])
            raise DataError(f"price {float(cols.price[r])!r} must be positive", path=where, row=self._rows + r, field="price")
        return int(bad[rc.N_FUNDING])

    # -- running ---------------------------------------------------------------------------

    def feed(self, cols: EventColumns, origin: tuple[str, int, np.ndarray | None] | None = None) -> None:
        """Process one chunk of events (the state carries over to the next chunk).

        ``origin``: which file rows these are — ``(path, row of the file, kept)``, the rows being
        ``row + kept[i]`` (``row + i`` when ``kept`` is None) — so errors name the file's row."""
        if self._finished:
            raise RuntimeError("this Replayer has finished; make a new one")
        n = len(cols)
        if n == 0:
            return
        self._note_origin(n, origin)
        n_funding = self._check(cols)
        last_ts = int(cols.ts_local[-1])
        cols = self._engine_rows_of(cols, n_funding)
        if len(cols):
            if self._first_ts is None:
                self._first_ts = int(cols.ts_local[0])
            arrays = tuple(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind, cols.side,
                                                             cols.price, cols.qty, cols.seq))
            if self.trace_window is not None:
                self._feed_traced(arrays)
            else:
                self._run(arrays, 0, len(cols))
        self._rows += n
        self._last_ts = last_ts

    def _note_origin(self, n: int, origin: tuple[str, int, np.ndarray | None] | None) -> None:
        if origin is not None:
            self._origins.append((self._rows, n, origin))

    def file_row(self, fed_row: int) -> tuple[str | None, int]:
        """The file and row of input row ``fed_row`` (as fed, every kind counted): a part file and its row when
        the chunk came with an origin, else the run's source and ``fed_row``."""
        lo, hi = 0, len(self._origins)
        while lo < hi:  # the last chunk starting at or before fed_row
            mid = (lo + hi) // 2
            if self._origins[mid][0] <= fed_row:
                lo = mid + 1
            else:
                hi = mid
        if lo:
            start, n, (path, first, kept) = self._origins[lo - 1]
            i = fed_row - start
            if 0 <= i < n:
                return path, first + (int(kept[i]) if kept is not None else i)
        return self.source, fed_row

    def _engine_rows_of(self, cols: EventColumns, n_funding: int | None = None) -> EventColumns:
        """A fed chunk for the engine, remembering where its counted rows (:func:`book_rows`: not FUNDING / MARK,
        which are no event) were in the input, to name input rows from the engine's event counts.

        ``n_funding``: the chunk's FUNDING / MARK row count when known (from :meth:`_check`); 0 needs no look."""
        if n_funding == 0:
            self._engine_rows += len(cols)
            return cols
        drop = np.isin(cols.kind, _FUNDING_CODES)
        kept = int(len(cols) - np.count_nonzero(drop))
        if kept < len(cols):
            self._row_map.append((self._engine_rows, self._rows, np.flatnonzero(~drop), len(cols)))
        self._engine_rows += kept
        return cols

    def input_row(self, engine_row: int) -> int:
        """The input row (as fed, every kind counted) of the engine's row ``engine_row``."""
        extra = 0
        for start, orig, kept, n in self._row_map:
            if engine_row < start:
                break
            if engine_row < start + len(kept):
                return orig + int(kept[engine_row - start])
            extra += n - len(kept)
        return engine_row + extra

    def warm(self, cols: EventColumns) -> None:
        """Apply events from before the replay window to the books only (no strategy, orders or counts)."""
        if self._first_ts is not None:
            raise RuntimeError("warm() takes the events before the first feed()")
        if len(cols):
            self._check(cols)
            self._last_ts = int(cols.ts_local[-1])
            warm_market_nb(self._struct, *(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind,
                                                                              cols.side, cols.price, cols.qty, cols.seq)))

    def advance_to(self, t: int) -> None:
        """Move the clock to ``t`` (ns) with no event: fire the work due before ``t`` at its own times.

        The caller promises that every row fed later has ``ts_local >= t`` (a live recorder
        flushing batches on a monotonic clock does: see :mod:`arbkit.live.paper`). The open
        message is closed first when it is before ``t`` (it cannot continue); requests,
        responses and timers due before ``t`` then happen exactly as a replay of the same rows
        makes them happen before its next row, so the fills do not depend on when (or whether)
        the clock was advanced between rows.
        """
        if self._finished:
            raise RuntimeError("this Replayer has finished; make a new one")
        t = int(t)
        if t < self._clock:
            return
        if self._first_ts is None:
            self._clock = t
            return  # nothing runs before the first event
        t0 = time.perf_counter_ns()
        while not advance_clock_nb(self._struct, self.strategy.kernel, self.params, self.user, t):
            self._raise_engine_error(self._rows)
            self._drain()
        self.engine_ns += time.perf_counter_ns() - t0
        self._raise_engine_error(self._rows)
        self._clock = t

    def _run(self, arrays: tuple[np.ndarray, ...], start: int, stop: int) -> None:
        view = arrays if stop == len(arrays[0]) else tuple(a[:stop] for a in arrays)
        r = start
        while r < stop:
            t0 = time.perf_counter_ns()
            r = run_events_nb(self._struct, self.strategy.kernel, self.params, self.user, *view, r)
            self.engine_ns += time.perf_counter_ns() - t0
            self._raise_engine_error(r)
            self._drain()

    def _feed_traced(self, arrays: tuple[np.ndarray, ...]) -> None:
        lo, hi = self.trace_window  # type: ignore[misc]
        ts = arrays[0]
        i0 = int(np.searchsorted(ts, lo, side="left"))
        i1 = int(np.searchsorted(ts, hi, side="right"))
        self._run(arrays, 0, i0)
        for r in range(i0, i1):
            nf = len(self._fills)
            self._run(arrays, r, r + 1)
            self._trace_row(arrays, r, nf)
        self._run(arrays, i1, len(ts))

    def _trace_row(self, arrays: tuple[np.ndarray, ...], r: int, nfill_chunks: int) -> None:
        st = self.state
        a = int(arrays[1][r])
        b = st.books
        bb, ba = int(b.best_bid[a]), int(b.best_ask[a])
        tick = float(b.tick[a])
        orders = []
        for k in range(int(st.clock[c.CLK_N_ACTIVE])):
            s = int(st.active[k])
            if st.oi[s, c.O_STATUS] in (c.ST_OPEN, c.ST_PARTIAL):
                orders.append({"id": int(st.oi[s, c.O_ID]), "asset": int(st.oi[s, c.O_ASSET]),
                               "side": int(st.oi[s, c.O_SIDE]), "price": float(st.oi[s, c.O_TICK]) * float(
                                   b.tick[st.oi[s, c.O_ASSET]]), "leaves": float(st.of[s, c.F_LEAVES]),
                               "queue_ahead": float(st.of[s, c.F_QUEUE])})
        new_fills = np.concatenate(self._fills[nfill_chunks:]) if len(self._fills) > nfill_chunks else np.zeros(0, c.FILL_DTYPE)
        self.trace.append({
            "row": self._rows + r, "ts_local": int(arrays[0][r]), "asset": a, "kind": KIND_NAMES[int(arrays[2][r])],
            "side": int(arrays[3][r]), "price": float(arrays[4][r]), "qty": float(arrays[5][r]),
            "best_bid": bb * tick if bb != NO_BID else None, "best_ask": ba * tick if ba != NO_ASK else None,
            "open_orders": orders,
            "fills": [{k: (v.item() if hasattr(v, "item") else v) for k, v in zip(c.FILL_DTYPE.names, f)} for f in new_fills],
        })

    def crossed_error(self) -> DataError:
        """The error of the first crossed book (file, row, time, asset)."""
        clock = self.state.clock
        a = int(clock[c.CLK_CROSS_ASSET])
        return crossed_book_error(*self.file_row(self.input_row(int(clock[c.CLK_CROSS_ROW]))),
                                  int(clock[c.CLK_CROSS_TS]),
                                  self.instruments[a].key if 0 <= a < len(self.instruments) else str(a))

    def _raise_engine_error(self, r: int) -> None:
        err = int(self.state.clock[c.CLK_ERROR])
        if err == c.E_CROSSED:
            raise self.crossed_error()
        if err:
            what = {c.E_FILL_BUFFER: "fill buffer", c.E_LOG_BUFFER: "order log / response ring",
                    c.E_NOTE_BUFFER: "annotation buffer"}.get(err, "buffer")
            raise RuntimeError(f"engine {what} overflowed near row {self._rows + r}: the strategy sends more orders per "
                               f"message than the engine can hold ({self.state.log.shape[0]})")

    def _drain(self) -> None:
        st = self.state
        for count, sink, buffers in ((c.CLK_NFILL, self._fills, (st.fills,)), (c.CLK_NLOG, self._orders, (st.log,)),
                                     (c.CLK_NNOTE, self._notes, (st.notes,)), (c.CLK_NFUND, self._funding, (st.fund_log,)),
                                     (c.CLK_NEQ, self._eq, (st.eq_ts, st.eq_val, st.eq_pos, st.eq_marks))):
            k = int(st.clock[count])
            if k:
                taken = tuple(b[:k].copy() for b in buffers)
                sink.append(taken if len(taken) > 1 else taken[0])
                st.clock[count] = 0

    def finish(self, clock_end: int | None = None) -> Result:
        """Close the last message, cancel what still rests, and return the Result.

        ``clock_end``: the clock ran on after the last event to this time (a paper run's
        wall clock): the work due before it fires first (:meth:`advance_to`). Without it
        nothing fires after the last event.
        """
        if not self._finished:
            if clock_end is not None:
                self.advance_to(clock_end)
            t0 = time.perf_counter_ns()
            finish_events_nb(self._struct, self.strategy.kernel, self.params, self.user, self._clock)
            self.engine_ns += time.perf_counter_ns() - t0
            self._raise_engine_error(self._rows)
            self._drain()
            self._finished = True
        return self._result()

    def snapshot(self) -> Result:
        """The Result of the run so far, without closing it: the outputs up to the last event fed or the clock
        advanced to (the open message, and what the end of data would do, are not in it). A paper run's
        checkpoints use it; :meth:`finish` stays available."""
        if not self._finished:
            self._drain()
        return self._result()

    def _result(self) -> Result:
        n = len(self.instruments)
        fills = np.concatenate(self._fills) if self._fills else np.zeros(0, c.FILL_DTYPE)
        orders = np.concatenate(self._orders) if self._orders else np.zeros(0, c.ORDER_LOG_DTYPE)
        if self._eq:
            eq_ts = np.concatenate([e[0] for e in self._eq])
            eq_val = np.concatenate([e[1] for e in self._eq])
            eq_pos = np.concatenate([e[2] for e in self._eq])
            eq_marks = np.concatenate([e[3] for e in self._eq])
        else:
            eq_ts, eq_val, eq_pos = np.zeros(0, np.int64), np.zeros((0, n + 1)), np.zeros((0, n))
            eq_marks = np.zeros((0, 2 * (n + 1)))
        notes = np.concatenate(self._notes) if self._notes else np.zeros((0, 2 + c.NOTE_VALUES))
        funding = np.concatenate(self._funding) if self._funding else np.zeros(0, c.FUNDING_DTYPE)
        counters = {name: int(self.state.counters[i]) for i, name in enumerate(c.COUNTER_NAMES)}
        counters["dropped_levels"] = int(self.state.books.dropped.sum())
        clock = self.state.clock
        end = max(int(clock[c.CLK_LAST_T]), self._clock)
        if end == _INT64_MIN:
            end = self._last_ts if self._last_ts != _INT64_MIN else 0
        crossed = None
        if counters["crossed_books"]:
            a = int(clock[c.CLK_CROSS_ASSET])
            path, row = self.file_row(self.input_row(int(clock[c.CLK_CROSS_ROW])))
            crossed = {"count": counters["crossed_books"], "first_file": path, "first_row": row,
                       "first_ts": int(clock[c.CLK_CROSS_TS]), "first_instrument": self.instruments[a].key}
        gs = self.state.guard_st
        guard_report = {"kill_switch": {"tripped": bool(gs[c.GS_KILLED]),
                                        "reason": c.KILL_REASONS[int(gs[c.GS_KILL_REASON])],
                                        "ts": int(self.state.clock[c.CLK_KILL_TS]) if gs[c.GS_KILLED] else None}}
        blocks = {"budget": counters["guard_budget_blocks"], "exposure": counters["guard_exposure_blocks"],
                  "cooldown": counters["guard_cooldown_blocks"], "kill_switch": counters["guard_kill_blocks"],
                  "volume": counters["guard_volume_blocks"]}
        for k, name in enumerate(c.GUARDS):
            longest = float(gs[c.GS_MAX_STREAK + k])
            guard_report.setdefault(name, {}).update(
                {"blocks": blocks[name], "longest_block_run_s": longest / 1e9,
                 "stuck": bool(self.guards.active and longest >= self.guards.stuck_window_ms * 1e6),
                 "stuck_windows": int(gs[c.GS_STUCK_N + k])})
        guard_report["budget"]["cap_applied"] = counters["guard_budget_capped"]
        guard_report["volume"]["cap_applied"] = counters["guard_volume_capped"]
        return Result(
            instruments=self.instruments, strategy=self.strategy.name,
            params=self.strategy.param_dict(self.params), seed=self.seed,
            config={"fill": self.fill.to_dict(), "latency": self.latency.to_dict(),
                    "schedule": {"every_event": self.schedule.every_event, "interval_ms": self.schedule.interval_ms,
                                 "on_top_change": self.schedule.on_top_change, "on_response": self.schedule.on_response,
                                 "max_silence_s": self.schedule.max_silence_s},
                    "equity_interval_ms": self.equity_interval_ms, "guards": self.guards.to_dict(),
                    "allow_crossed": self.allow_crossed, "mark": self.mark, "allow_short": self.allow_short, "source": self.source,
                    **({"rewards": self.rewards.to_dict()} if self.rewards.active else {})},
            fills=fills, orders=orders, equity_ts=eq_ts, equity_values=eq_val, equity_positions=eq_pos,
            counters=counters, accounts=self.state.acct.copy(), notes=notes, guards=guard_report,
            span_ns=(self._first_ts or 0, end if self._first_ts is not None else 0), trace=self.trace,
            engine_ns=int(self.engine_ns), engine_calls=counters["strategy_calls"],
            equity_marks=eq_marks, max_drawdowns=self.state.marks[:, c.MK_MAXDD].copy(),
            time_in_market_ns=np.array([time_in_market_nb(self.state.hold, r, end) for r in range(n + 1)], np.int64),
            crossed=crossed, user_state=self.user.copy(), funding=funding,
        )


def crossed_book_error(source: str | None, row: int, ts: int, instrument: str) -> DataError:
    """One line for a crossed book: where it is and how to replay anyway."""
    return DataError(f"crossed book after a complete book message: {instrument} best bid >= best ask at ts_local {ts}; "
                     "pass allow_crossed=True (--allow-crossed, config allow_crossed: true) to replay it and count them",
                     path=source, row=row)

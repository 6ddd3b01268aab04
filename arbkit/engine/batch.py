"""Many parameter sets in one pass over a recording (the sweep's fast path).

:class:`BatchReplayer` holds K :class:`~arbkit.engine.replayer.Replayer` states that share
one copy of the market (books, top, flags), drives them with
:func:`~arbkit.engine.batch_loop.run_batch_events_nb`, drains each set's buffers and builds
one :class:`~arbkit.engine.result.Result` per set — each equal to the set's own replay.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
from numba.typed import List

from arbkit.engine import batch_loop as bl
from arbkit.engine import codes as c
from arbkit.book.ladder import DEFAULT_LADDER
from arbkit.engine.result import Result
from arbkit.engine.replayer import Replayer, crossed_book_error
from arbkit.engine.strategy import Strategy
from arbkit.core.errors import ConfigError
from arbkit.core.columns import EventColumns
from arbkit.core.schema import Instrument

#: Per-set output buffers in a batch: smaller than a single run's (drained more often).
#: Results do not depend on them. Order slots and latency rings keep the single run's sizes:
#: they decide when an order is refused or a finished order forgotten, so they must match.
BATCH_BUFFERS = {"fill_buffer": 16384, "eq_buffer": 4096}


class BatchReplayer:
    """K parameter sets of one strategy over the same events, one pass; feed chunks in ts_local order.

    Everything but the strategy parameters (fill model, latency, schedule, guards, equity
    interval) is shared by the sets; ``seeds`` may differ per set. ``buffers`` overrides
    :data:`BATCH_BUFFERS` (tests use tiny ones to exercise draining).
    """

    def __init__(self, instruments: Sequence[Instrument], strategy: Strategy, param_sets: Sequence[Any], *,
                 fill: Any = None, latency: Any = None, seeds: int | Sequence[int] = 0, schedule: Any = None,
                 equity_interval_ms: float = 1000.0, guards: Any = None, ladder: int = DEFAULT_LADDER,
                 source: str | None = None, buffers: dict[str, int] | None = None, allow_crossed: bool = False,
                 mark: str = "mid", allow_short: bool | None = None, rewards: Any = None) -> None:
        if len(param_sets) == 0:
            raise ConfigError("a batch needs at least one parameter set")
        seed_list = [seeds] * len(param_sets) if isinstance(seeds, (int, np.integer)) else list(seeds)
        if len(seed_list) != len(param_sets):
            raise ConfigError(f"{len(seed_list)} seeds for {len(param_sets)} parameter sets")
        if set(buffers or {}) - set(BATCH_BUFFERS):
            raise ConfigError(f"batch buffers: only {sorted(BATCH_BUFFERS)} can be set (order slots and rings "
                              "must match a single run's)")
        sizes = {**BATCH_BUFFERS, **(buffers or {})}
        first = Replayer(instruments, strategy, param_sets[0], fill=fill, latency=latency, seed=seed_list[0],
                         schedule=schedule, equity_interval_ms=equity_interval_ms, guards=guards, ladder=ladder,
                         source=source, buffers=sizes, allow_crossed=allow_crossed, mark=mark, allow_short=allow_short,
                         rewards=rewards)
        self.runs = [first] + [
            Replayer(instruments, strategy, p, fill=fill, latency=latency, seed=s, schedule=schedule,
                     equity_interval_ms=equity_interval_ms, guards=guards, source=source, buffers=sizes,
                     share_market_with=first.state, allow_crossed=allow_crossed, mark=mark, allow_short=allow_short,
                     rewards=rewards)
            for p, s in zip(param_sets[1:], seed_list[1:])]
        self.strategy = strategy
        K, n = len(self.runs), len(instruments)
        self._states = List.empty_list(bl.ENGINE_STATE_TYPE)
        widths = {len(run.user) for run in self.runs}
        if len(widths) > 1:
            raise ConfigError(f"strategy {strategy.name}: parameter sets need user states of different sizes "
                              f"{sorted(widths)}; batch sets of equal size together")
        # parameter and user-state vectors as rows of two matrices (the runs keep views of their rows)
        self._params = np.ascontiguousarray(np.stack([run.params for run in self.runs]))
        self._users = np.ascontiguousarray(np.stack([run.user for run in self.runs]))
        for k, run in enumerate(self.runs):
            self._states.append(run._struct)
            run.params = self._params[k]
            run.user = self._users[k]
        self.mid = np.full(n, np.nan)
        self.sh_rest = np.empty((n, 4, K), np.int64)
        self.sh_rest[:, 0::2, :] = bl.I64_MAX
        self.sh_rest[:, 1::2, :] = bl.I64_MIN
        self.ubound = np.ascontiguousarray(self.sh_rest[:, :, 0])
        self.sh_nrest = np.zeros((n, K), np.int64)
        self.sh_requeue = np.zeros((n, K), np.bool_)
        self.due_row = np.full(K, bl.I64_MAX, np.int64)
        self.due_end = np.full(K, bl.I64_MIN, np.int64)  # every set is looked at on the first message end
        self.has_cons = np.zeros(K, np.bool_)
        self.sh_held = np.zeros((n, K), np.bool_)
        self.n_held = np.zeros(n, np.int64)
        self.bclock = np.zeros(bl.N_BCLOCK, np.int64)
        self.bclock[bl.B_PEND_ASSET] = -1
        self.bclock[bl.B_GMIN_ROW] = bl.I64_MAX
        self.bclock[bl.B_GMIN_END] = bl.I64_MIN
        self.bclock[bl.B_LAST_T] = bl.I64_MIN
        self.bclock[bl.B_CROSS_ASSET] = -1
        self.bclock[bl.B_CROSS_ROW] = -1
        self.bclock[bl.B_ALLOW_CROSSED] = int(bool(allow_crossed))
        self.bclock[bl.B_TOP_SETS] = sum(1 for r in self.runs if r.state.cfg_i[c.G_SCHEDULE] & c.CALL_TOP_CHANGE)
        self._finished = False
        self.engine_ns = 0  # wall time of the shared pass inside the batched kernel

    def _shared(self) -> tuple:
        return (self._states, self.strategy.kernel, self._params, self._users, self.mid, self.sh_rest, self.sh_nrest,
                self.sh_requeue, self.due_row, self.due_end, self.has_cons, self.ubound, self.bclock, self.sh_held,
                self.n_held)

    def warm(self, cols: EventColumns) -> None:
        """Apply events from before the window to the shared books (see :meth:`Replayer.warm`)."""
        lead = self.runs[0]
        lead.warm(cols)
        self.mid[:] = lead.state.acct[:, c.A_MID]
        for run in self.runs[1:]:
            run.state.acct[:, c.A_MID] = self.mid
            run.state.acct[:, c.A_MARK] = lead.state.acct[:, c.A_MARK]
            run.state.fund_i[:] = lead.state.fund_i  # the funding announced before the window (each set pays its own)
            run.state.fund_f[:] = lead.state.fund_f
            run.state.clock[c.CLK_FUND_DUE] = lead.state.clock[c.CLK_FUND_DUE]
            run._last_ts = lead._last_ts

    def feed(self, cols: EventColumns, origin: tuple | None = None) -> None:
        """Process one chunk of events for every set (``origin``: which file rows, as :meth:`Replayer.feed`)."""
        if self._finished:
            raise RuntimeError("this BatchReplayer has finished; make a new one")
        n = len(cols)
        if n == 0:
            return
        lead = self.runs[0]
        lead._note_origin(n, origin)
        n_funding = lead._check(cols)
        last_ts = int(cols.ts_local[-1])
        cols = lead._engine_rows_of(cols, n_funding)
        m = len(cols)
        if m == 0:
            for run in self.runs:
                run._rows += n
                run._last_ts = last_ts
            return
        arrays = tuple(np.ascontiguousarray(a) for a in (cols.ts_local, cols.asset, cols.kind, cols.side, cols.price,
                                                         cols.qty, cols.seq))
        r = 0
        while r < m:
            t0 = time.perf_counter_ns()
            r = bl.run_batch_events_nb(*self._shared(), *arrays, r)
            self.engine_ns += time.perf_counter_ns() - t0
            self._raise_crossed()
            if r < m:  # a set's buffers are nearly full (or it failed): empty every set's
                self._drain(r)
        first = int(cols.ts_local[0]) if lead._first_ts is None else lead._first_ts
        for run in self.runs:
            run._first_ts = first
            run._rows += n
            run._last_ts = last_ts

    def _raise_crossed(self) -> None:
        b = self.bclock
        if b[bl.B_ERROR] == c.E_CROSSED:
            a = int(b[bl.B_CROSS_ASSET])
            lead = self.runs[0]
            raise crossed_book_error(*lead.file_row(lead.input_row(int(b[bl.B_CROSS_ROW]))), int(b[bl.B_CROSS_TS]),
                                     self.runs[0].instruments[a].key)

    def _drain(self, r: int) -> None:
        for run in self.runs:
            run._raise_engine_error(r)
            run._drain()

    def finish(self) -> list[Result]:
        """Close the last message and return one Result per parameter set, in order."""
        if not self._finished:
            t0 = time.perf_counter_ns()
            bl.finish_batch_events_nb(*self._shared())
            self.engine_ns += time.perf_counter_ns() - t0
            self._raise_crossed()
            self._drain(self.runs[0]._rows)
            b = self.bclock
            for run in self.runs:
                cnt = run.state.counters
                cnt[c.C_EVENTS] = b[bl.B_EVENTS]
                cnt[c.C_MESSAGES] = b[bl.B_MESSAGES]
                cnt[c.C_GAPS] = b[bl.B_GAPS]
                cnt[c.C_CROSSED] = b[bl.B_CROSSED]
                clock = run.state.clock
                clock[c.CLK_CROSS_TS] = b[bl.B_CROSS_TS]
                clock[c.CLK_CROSS_ASSET] = b[bl.B_CROSS_ASSET]
                clock[c.CLK_CROSS_ROW] = b[bl.B_CROSS_ROW]
                run._row_map = self.runs[0]._row_map
                run._origins = self.runs[0]._origins
            self._finished = True
        results = [run.finish() for run in self.runs]
        calls = sum(int(r.counters["strategy_calls"]) for r in results)
        for res in results:  # one pass for every set: its time and all its calls (replay_call_ns_avg)
            res.engine_ns, res.engine_calls = int(self.engine_ns), calls
        return results

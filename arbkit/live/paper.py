"""Paper trading: the live recorder feeds the replay engine, strategy, fill model and guards.

Every batch the recorder flushes to its recording is also fed to a
:class:`~arbkit.engine.replayer.Replayer` — the same events, in the same order, with the
instruments frozen at the first flush and written to the recording's manifest — so
``arbkit replay`` of the paper run's recording with its config and seed gives the same fills
(``fills_hash``) as the run produced live. Files in the run directory:

* ``recording/`` — the run's own recording (parts, manifest, raw message log);
* ``trades.jsonl`` — one line per fill as it happens (the trade-log format of ``RunResult.trades_jsonl``);
* ``live_state.json`` — rewritten atomically every ``state_every_s``: status, uptime, events,
  PnL realised / unrealised, drawdown now and max drawdown (the engine's exact figures, from
  the starting equity, as in the report), per-instrument book top, own quotes and position,
  fills and ``fill_rate_pct`` (filled ÷ quoted quantity, the KPI's definition), feed errors
  and reconnects, memory and CPU;
* ``run.yaml`` (the config and seed used; at the end with ``clock_end_ns``) and, at the end,
  ``paper_result.json`` (summary, ``fills_hash`` and ``clock_end_ns``);
* ``checkpoint.npz`` — the engine's whole state and outputs after a batch, every ``checkpoint_s``;
* ``ops.jsonl``, ``paper.log``, ``checkpoints.jsonl`` — the run's operations record (each process
  segment's start and end, CPU, memory, loop and quote latency), its WARNING-and-worse log
  records, and its KPIs as the engine's clock passes 5, 10, 30 minutes and every hour
  (:mod:`arbkit.live.run_ops`; ``arbkit acceptance`` reads them);
* ``.arbkit.lock`` — held while the run lives: a second paper run on the directory fails naming
  its pid and touches nothing (the recording has its own lock, held by the recorder).

The wall clock drives the engine's timers between batches: at every flush the recorder
reports its clock ``T`` (every row it records afterwards has ``ts_local >= T``: its clock
never goes back and a venue message is normalised whole between two flushes, so no
message spans two batches) and the run calls :meth:`Replayer.advance_to`, which fires the
strategy's interval calls, wake-ups, response deliveries and the kill switch's data-gap
deadline at their own times, exactly as a replay of the recording fires them before its
next row. The last such time is the run's ``clock_end_ns``: a replay of the recording with
it (``run.yaml`` carries it) gives the same fills, the timers after the last event included.

A restarted run (``resume=True``; ``arbkit paper --supervise N`` restarts a crashed one)
restores the last checkpoint, replays the recording's parts written after it (the batches
the crashed process had already fed), then records on into the same recording behind a GAP
for every book — so the result still equals ``arbkit replay`` of the whole recording.

With ``feed=`` a :class:`~arbkit.live.replay_feed.RecordingFeed` stands in for the recorder: a
recording (played ``loops`` times) on its own clock, as fast as the machine goes — a twelve-hour
acceptance run in minutes (no ``recording/`` is written: the source is named in ``ops.jsonl``
and ``paper_result.json``; a restart continues from the checkpoint's row). ``candidates=`` adds
parameter sets traded side by side on the same feed, each with its own engine and account
(staged validation's live stages, :mod:`arbkit.live.paper_stages`); their results are in
``PaperRun.results`` by name, beside the run's own under ``"main"``.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow.parquet as pq
import yaml

from arbkit.book.ladder import NO_ASK, NO_BID
from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError
from arbkit.core.schema import markets_of
from arbkit.core.terminal import rss_mb
from arbkit.engine import codes as c
from arbkit.engine.accounting import asset_equity_nb, unrealised_nb
from arbkit.engine.config import instrument_matrix
from arbkit.engine.replayer import Replayer
from arbkit.io.lock import DirectoryLock, DirectoryLocked
from arbkit.io.recording import load
from arbkit.kpi.compute import fill_rate_pct
from arbkit.kpi.evaluation import evaluate
from arbkit.kpi.ops import LatencyHistogram
from arbkit.live.run_ops import KpiCheckpoints, RunOps
from arbkit.live.record.recorder import Recorder, RecorderError, VenueSpec
from arbkit.run.config import RunConfig
from arbkit.run.result import RunResult
from arbkit.run.trade_log import TradeLog
from arbkit.strategies import get_strategy


def market_cards(instruments: Any, acct: np.ndarray, im: np.ndarray, per: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One card per binary market for the live state: net exposure (YES − NO), equity marked to mid, payout state,
    liquidity rewards earned (in the equity)."""
    cards = []
    for market, assets in markets_of(instruments).items():
        eq = [float(asset_equity_nb(acct, im, a)) for a in assets]
        yes, no = assets[0], (assets[1] if len(assets) > 1 else None)
        net = float(acct[yes, c.A_POS]) - (float(acct[no, c.A_POS]) if no is not None else 0.0)
        settled = all(acct[a, c.A_SETTLED] != 0.0 for a in assets)
        cards.append({"market": market, "instruments": [instruments[a].key for a in assets],
                      "net_exposure": net, "equity": float(sum(e for e in eq if e == e)),
                      "pnl_marked": float(sum(e for e in eq if e == e) - sum(acct[a, c.A_SETTLE_ADJ] for a in assets)),
                      "resolution": "settled" if settled else "open", "winner": instruments[yes].winner if settled else None,
                      "quotes": sum(len(per[a]["quotes"]) for a in assets),
                      "rewards": float(sum(acct[a, c.A_REWARD] for a in assets))})
    return cards


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


#: the run's own parameter set in ``PaperRun.results``
MAIN = "main"


class PaperRun:
    """One paper-trading run; ``result = PaperRun(...).run()``."""

    def __init__(self, config: RunConfig, venues: Sequence[VenueSpec] | None, out_dir: str | Path, *,
                 duration_s: float | None = None, flush_s: float = 0.5, state_every_s: float = 2.0,
                 silence_s: float = 15.0, overwrite: bool = False, status: bool | None = False,
                 checkpoint_s: float = 5.0, resume: bool = False, feed: Any = None,
                 candidates: Mapping[str, Mapping[str, Any]] | None = None, ops_sample_s: float = 5.0,
                 **recorder_options: Any) -> None:
        self.config = config
        self.strategy = get_strategy(config.strategy, **config.strategy_options)
        self.strategy.checked_vector(config.params)  # kinds and ranges now; asset indices at the first batch
        self.out = Path(out_dir)
        if candidates and resume:
            raise ConfigError("paper: a run with side-by-side candidates cannot resume (only its own set is "
                              "checkpointed)")
        if feed is None and not venues:
            raise ConfigError("paper: give venues (a live feed) or a recording feed")
        self.feed = feed
        self.candidates = {str(k): dict(v) for k, v in (candidates or {}).items()}
        if MAIN in self.candidates:
            raise ConfigError(f"paper: candidate name {MAIN!r} is the run's own parameter set")
        self.ops_sample_s = ops_sample_s
        try:
            self._lock = DirectoryLock(self.out, "arbkit paper").acquire()
        except DirectoryLocked as exc:
            raise RecorderError(str(exc)) from None
        except OSError as exc:
            raise RecorderError(f"{self.out}: run directory is not writable ({exc.strerror or exc})") from None
        try:
            self._setup(venues, duration_s=duration_s, flush_s=flush_s, state_every_s=state_every_s,
                        silence_s=silence_s, overwrite=overwrite, status=status, checkpoint_s=checkpoint_s,
                        resume=resume, recorder_options=recorder_options)
        except BaseException:
            if hasattr(self, "recorder"):
                self.recorder.release()
            self._lock.release()
            raise

    def _setup(self, venues: Sequence[VenueSpec], *, duration_s: float | None, flush_s: float, state_every_s: float,
               silence_s: float, overwrite: bool, status: bool | None, checkpoint_s: float, resume: bool,
               recorder_options: dict[str, Any]) -> None:
        config = self.config
        if self.feed is not None:
            self.resume = resume and (self.out / "checkpoint.npz").is_file()
            self.feed.on_events, self.feed.on_tick = self._on_events, self._on_tick
            if duration_s is not None:
                self.feed.duration_s = duration_s
            self.recorder = self.feed
        else:
            self.resume = resume and (self.out / "recording" / "manifest.json").is_file()
            self.recorder = Recorder(self.out / "recording", venues, flush_s=flush_s, silence_s=silence_s,
                                     duration_s=duration_s, on_events=self._on_events, on_tick=self._on_tick,
                                     freeze_instruments=True,
                                     overwrite=overwrite and not self.resume, status=status, resume=self.resume,
                                     provenance={"paper_run": {"strategy": config.strategy, "seed": config.seed}},
                                     **recorder_options)
        self.state_every_s = state_every_s
        self.checkpoint_s = checkpoint_s
        self.replayer: Any = None
        self.others: dict[str, Any] = {}  # the side-by-side candidates' replayers
        self.latency = {name: (LatencyHistogram(), LatencyHistogram()) for name in (MAIN, *self.candidates)}
        self._orders_seen = {name: 0 for name in (MAIN, *self.candidates)}
        self.results: dict[str, RunResult] = {}
        self.ops: RunOps | None = None
        self.kpi_checkpoints = KpiCheckpoints(self.out, self.strategy)
        self.trade_log: TradeLog | None = None
        self._fills_written = 0
        self._parts_fed = 0
        self._next_checkpoint = time.monotonic() + checkpoint_s
        self.clock_end_ns: int | None = None  # the last time the wall clock moved the engine to
        if self.resume:
            self._restore()
        else:
            (self.out / "trades.jsonl").write_text("")
            for name in ("ops.jsonl", "paper.log", "checkpoints.jsonl"):  # a fresh run's records start empty
                (self.out / name).unlink(missing_ok=True)
            self.kpi_checkpoints = KpiCheckpoints(self.out, self.strategy)
        self._trades = open(self.out / "trades.jsonl", "a")
        (self.out / "paper.pid").write_text(str(os.getpid()))
        self._next_state = 0.0
        self._t0 = time.monotonic()
        self._cpu0 = time.process_time()
        self.errors: list[str] = []
        self.refused: ConfigError | None = None  # the config the live instruments do not allow (nothing traded)
        self._write_run_yaml()

    def release(self) -> None:
        """Give up the run directory's and the recording's locks without running (:meth:`run` does it at its end)."""
        self.recorder.release()
        self._lock.release()

    def _write_run_yaml(self) -> None:
        cfg = self.config
        data = {"strategy": cfg.strategy, "strategy_options": cfg.strategy_options, "params": cfg.params,
                "fill": cfg.fill, "latency": cfg.latency, "guards": cfg.guards, "seed": cfg.seed,
                "equity_interval_ms": cfg.equity_interval_ms}
        if cfg.schedule is not None:
            data["schedule"] = cfg.schedule
        if cfg.allow_crossed:
            data["allow_crossed"] = True
        if cfg.allow_short is not None:
            data["allow_short"] = bool(cfg.allow_short)
        if cfg.mark != "mid":
            data["mark"] = cfg.mark
        if cfg.rewards:
            data["rewards"] = dict(cfg.rewards)
        if self.clock_end_ns is not None:
            data["clock_end_ns"] = int(self.clock_end_ns)
        (self.out / "run.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    # -- live batches ------------------------------------------------------------------------

    def _replayer(self, instruments: list, params: Any) -> Replayer:
        cfg = self.config
        return Replayer(instruments, self.strategy, params, fill=cfg.fill, latency=cfg.latency, seed=cfg.seed,
                        schedule=cfg.schedule, guards=cfg.guards, equity_interval_ms=cfg.equity_interval_ms,
                        source=str(self.recorder.out_dir), allow_crossed=cfg.allow_crossed, mark=cfg.mark,
                        allow_short=cfg.allow_short, rewards=cfg.rewards)

    def _new_replayer(self, instruments: list) -> None:
        self.replayer = self._replayer(instruments, self.config.params)
        self.others = {name: self._replayer(instruments, {**self.config.params, **params})
                       for name, params in self.candidates.items()}
        self.trade_log = TradeLog(instruments, self.strategy.name, self.strategy.param_dict(self.replayer.params))

    def _instruments(self) -> list:
        return list(self.feed.instruments) if self.feed is not None else self.recorder._writer.instruments

    def _engines(self) -> list[tuple[str, Any]]:
        return [(MAIN, self.replayer), *self.others.items()]

    def _timed(self, name: str, rep: Any, step: Any) -> None:
        """Run one engine step (a batch or a clock advance), counting its wall time per strategy call and the
        engine times of the orders it sent (loop and quote latency)."""
        calls0 = int(rep.state.counters[c.C_CALLS])
        t0 = time.perf_counter_ns()
        step()
        wall = time.perf_counter_ns() - t0
        calls = int(rep.state.counters[c.C_CALLS]) - calls0
        rep._drain()
        seen = self._orders_seen[name]
        new = rep._orders[seen:]
        self._orders_seen[name] = len(rep._orders)
        ts = None
        if new:
            log = np.concatenate(new)
            ts = log["ts"][(log["event"] == c.EV_SUBMIT) | (log["event"] == c.EV_MODIFY)]
        loop, quote = self.latency[name]
        if calls > 0:
            loop.add(np.array([wall / 1e6 / calls]))
        if self.feed is None and ts is not None and len(ts):
            quote.add((time.time_ns() - ts.astype(np.int64)) / 1e6)
        if name == MAIN and self.ops is not None:
            self.ops.batch(wall, calls, ts)

    def _on_events(self, cols: EventColumns) -> None:
        if self.replayer is None:
            try:
                self._new_replayer(self._instruments())
            except ConfigError as exc:  # e.g. an asset index the venues' instruments do not have
                self.refused = exc
                self.errors.append(f"config: {exc}")
                self.recorder.stop()
                return
        try:
            for name, rep in self._engines():
                self._timed(name, rep, lambda rep=rep: rep.feed(cols))
        except Exception as exc:  # the engine refused the batch: stop the run, keep what was recorded
            self.errors.append(f"engine: {exc}")
            self.recorder.stop()
            return
        if self.feed is None:
            self._parts_fed = len(self.recorder._writer.manifest.parts)
        self._after_engine()

    def _on_tick(self, t: int) -> None:
        """The recorder's clock reached ``t`` (no later row is before it): the engine's timers run up to ``t``."""
        if self.replayer is None or self.errors:
            return
        try:
            for name, rep in self._engines():
                self._timed(name, rep, lambda rep=rep: rep.advance_to(t))
        except Exception as exc:  # the engine failed (e.g. a strategy loop): stop, keep what was recorded
            self.errors.append(f"engine: {exc}")
            self.recorder.stop()
            return
        self.clock_end_ns = t
        self._after_engine()

    def _clock_done(self) -> int | None:
        """The time up to which the engine has done everything: its advanced clock, or just before its last row."""
        rep = self.replayer
        if rep is None or rep._first_ts is None:
            return None
        return max(int(rep._clock), int(rep._last_ts) - 1)

    def _snapshot(self) -> RunResult:
        return RunResult.of(self.replayer.snapshot(), self.strategy)

    def _after_engine(self) -> None:
        self._write_trades()
        if self.ops is not None:
            self.kpi_checkpoints.record(self.replayer._first_ts, self._clock_done(), self._snapshot, self.ops.segment)
            self.ops.maybe_sample(self._clock_done(), int(self.replayer._rows))
        now = time.monotonic()
        if now >= self._next_state:
            self.write_state("running")
            self._next_state = now + self.state_every_s
        if now >= self._next_checkpoint:
            self.save_checkpoint()
            self._next_checkpoint = now + self.checkpoint_s

    # -- checkpoints -----------------------------------------------------------------------------

    def save_checkpoint(self) -> None:
        """The engine's arrays, the drained outputs and the run's bookkeeping, written atomically."""
        rep = self.replayer
        if rep is None:
            return
        arrays: dict[str, np.ndarray] = {}
        for name, value in rep.state._asdict().items():
            if name in ("entry_lat", "resp_lat"):
                continue  # rebuilt from the config
            if name == "books":
                for bname, arr in value._asdict().items():
                    arrays[f"books.{bname}"] = arr
            elif name not in arrays and not any(value is a for a in arrays.values()):
                arrays[f"state.{name}"] = value
        rep._drain()
        for key, chunks, empty in (("fills", rep._fills, np.zeros(0, c.FILL_DTYPE)),
                                   ("orders", rep._orders, np.zeros(0, c.ORDER_LOG_DTYPE)),
                                   ("notes", rep._notes, np.zeros((0, 2 + c.NOTE_VALUES)))):
            arrays[f"out.{key}"] = np.concatenate(chunks) if chunks else empty
        eq = rep._eq
        n = len(rep.instruments)
        arrays["out.eq_ts"] = np.concatenate([e[0] for e in eq]) if eq else np.zeros(0, np.int64)
        arrays["out.eq_val"] = np.concatenate([e[1] for e in eq]) if eq else np.zeros((0, n + 1))
        arrays["out.eq_pos"] = np.concatenate([e[2] for e in eq]) if eq else np.zeros((0, n))
        arrays["out.eq_marks"] = np.concatenate([e[3] for e in eq]) if eq else np.zeros((0, 2 * (n + 1)))
        arrays["user"] = rep.user
        arrays["meta"] = np.array([rep._rows, rep._last_ts, rep._first_ts or 0, self._parts_fed, self._fills_written,
                                   rep._clock], np.int64)
        tmp = self.out / f".checkpoint.{os.getpid()}.npz"
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.out / "checkpoint.npz")

    def _restore(self) -> None:
        """Resume: the last checkpoint, then the recording's parts after it, fed as the crashed run fed them (a
        recording feed instead starts again at the checkpoint's row)."""
        rec = load(self.out / "recording") if self.feed is None else None
        self._new_replayer(list(rec.instruments) if rec is not None else self._instruments())
        rep = self.replayer
        ck = self.out / "checkpoint.npz"
        done_parts = 0
        if ck.is_file():
            with np.load(ck) as z:
                for key in z.files:
                    group, _, name = key.partition(".")
                    if group == "books":
                        np.copyto(getattr(rep.state.books, name), z[key])
                    elif group == "state":
                        np.copyto(getattr(rep.state, name), z[key])
                rep.user[:] = z["user"]
                rep._fills = [z["out.fills"]]
                rep._orders = [z["out.orders"]]
                rep._notes = [z["out.notes"]]
                rep._eq = [(z["out.eq_ts"], z["out.eq_val"], z["out.eq_pos"], z["out.eq_marks"])] \
                    if len(z["out.eq_ts"]) else []
                rows, last_ts, first_ts, done_parts, fills_written, clock = (int(x) for x in z["meta"])
                rep._rows, rep._last_ts, rep._first_ts, rep._clock = rows, last_ts, (first_ts or None), clock
                if clock > np.iinfo(np.int64).min:
                    self.clock_end_ns = clock
        else:
            fills_written = 0
        # trades.jsonl back to the checkpoint, then the parts the crashed run fed after it
        lines = (self.out / "trades.jsonl").read_text().splitlines(keepends=True) if (self.out / "trades.jsonl").is_file() else []
        (self.out / "trades.jsonl").write_text("".join(lines[:fills_written]))
        self._fills_written = fills_written
        notes = np.concatenate(rep._notes) if rep._notes else np.zeros((0, 2 + c.NOTE_VALUES))
        fills = np.concatenate(rep._fills) if rep._fills else np.zeros(0, c.FILL_DTYPE)
        for f in fills[:fills_written]:
            self.trade_log.line(f, notes)  # type: ignore[union-attr]  (inventory and fees so far)
        self._trades = open(self.out / "trades.jsonl", "a")
        self._orders_seen[MAIN] = len(rep._orders)
        if rec is None:
            self.feed.start_row = int(rep._rows)
        else:
            for path in rec.part_paths[done_parts:]:
                rep.feed(EventColumns.from_arrow(pq.read_table(path)))
            self._parts_fed = len(rec.part_paths)
        self._write_trades()
        self._trades.close()

    def _write_trades(self) -> None:
        rep = self.replayer
        if rep is None:
            return
        fills = np.concatenate(rep._fills) if rep._fills else np.zeros(0, c.FILL_DTYPE)
        notes = np.concatenate(rep._notes) if rep._notes else np.zeros((0, 2 + c.NOTE_VALUES))
        for f in fills[self._fills_written:]:
            self._trades.write(json.dumps(self.trade_log.line(f, notes)) + "\n")  # type: ignore[union-attr]
        self._fills_written = len(fills)
        self._trades.flush()

    def state(self, status: str) -> dict[str, Any]:
        """What the dashboard shows (see the module doc)."""
        rs = self.recorder.stats
        out: dict[str, Any] = {"status": status, "updated_ns": time.time_ns(),
                               "uptime_s": time.monotonic() - self._t0,
                               "strategy": self.config.strategy, "seed": self.config.seed,
                               "feed": {"messages": rs.messages, "events": rs.events, "reconnects": rs.reconnects,
                                        "gaps": rs.gaps, "malformed": rs.malformed, "silent_drops": rs.silent_drops,
                                        "connected": status == "running"},
                               "errors": list(self.errors),
                               "system": {"rss_mb": rss_mb(), "cpu_s": time.process_time() - self._cpu0}}
        rep = self.replayer
        if rep is None:
            out["instruments"] = []
            return out
        st = rep.state
        im = instrument_matrix(rep.instruments)
        per = []
        total_eq = realised = unreal = fees = funding = 0.0
        for a, inst in enumerate(rep.instruments):
            acc = st.acct[a]
            eq = float(asset_equity_nb(st.acct, im, a))
            total_eq += eq if eq == eq else 0.0
            realised += float(acc[c.A_REAL])
            fees += float(acc[c.A_FEES])
            funding += float(acc[c.A_FUNDING])
            u = float(unrealised_nb(st.acct, im, a))
            unreal += u if u == u else 0.0
            bb, ba = int(st.books.best_bid[a]), int(st.books.best_ask[a])
            tick = float(st.books.tick[a])
            quotes = []
            for k in range(int(st.clock[c.CLK_N_ACTIVE])):
                s = int(st.active[k])
                if int(st.oi[s, c.O_ASSET]) == a and int(st.oi[s, c.O_STATUS]) in (c.ST_OPEN, c.ST_PARTIAL):
                    quotes.append({"id": int(st.oi[s, c.O_ID]), "side": "bid" if st.oi[s, c.O_SIDE] > 0 else "ask",
                                   "price": float(st.oi[s, c.O_TICK]) * tick, "leaves": float(st.of[s, c.F_LEAVES])})
            per.append({"instrument": inst.key, "best_bid": bb * tick if bb != NO_BID else None,
                        "best_ask": ba * tick if ba != NO_ASK else None, "position": float(acc[c.A_POS]),
                        "quotes": quotes, "equity": eq if eq == eq else None})
        out["markets"] = market_cards(rep.instruments, st.acct, im, per)
        n = len(rep.instruments)
        peak = max(float(st.marks[n, c.MK_PEAK]), total_eq)  # the engine's running peak, from the starting equity
        orders = int(st.counters[c.C_ORDERS])
        n_fills = self._fills_written
        fills = np.concatenate(rep._fills) if rep._fills else np.zeros(0, c.FILL_DTYPE)
        log = np.concatenate(rep._orders) if rep._orders else np.zeros(0, c.ORDER_LOG_DTYPE)
        rate = fill_rate_pct(fills, log)
        out.update({"instruments": per, "events_replayed": int(rep._rows),
                    "pnl": {"total": total_eq, "realised": realised - fees, "unrealised": unreal, "fees": fees,
                            "funding": funding},
                    "drawdown": peak - total_eq, "max_drawdown": float(st.marks[n, c.MK_MAXDD]),
                    "fills": n_fills, "orders": orders, "fill_rate_pct": None if rate != rate else rate,
                    "clock_ns": rep._clock if rep._clock > np.iinfo(np.int64).min else None,
                    "kill_switch": bool(st.guard_st[c.GS_KILLED])})
        return out

    def write_state(self, status: str) -> None:
        """Rewrite live_state.json atomically and append the PnL point to pnl.jsonl."""
        state = self.state(status)
        _atomic_json(self.out / "live_state.json", state)
        if "pnl" in state:  # the dashboard's PnL history
            with open(self.out / "pnl.jsonl", "a") as fh:
                fh.write(json.dumps({"ts_ns": state["updated_ns"], "uptime_s": state["uptime_s"],
                                     "pnl": state["pnl"]["total"], "drawdown": state["drawdown"]}) + "\n")

    # -- run -----------------------------------------------------------------------------------

    def source(self) -> dict[str, Any]:
        """Where the run's events come from (its ops records and result say it)."""
        if self.feed is not None:
            return self.feed.describe()
        return {"recording": str(self.recorder.out_dir), "venues": [
            {"venue": v.venue, "symbols": list(v.symbols), "endpoint": v.endpoint} for v in self.recorder.specs]}

    def live_ops(self, name: str = MAIN) -> dict[str, Any]:
        """This process's loop and quote latency percentiles of one parameter set (ms; see arbkit.kpi.ops)."""
        loop, quote = self.latency[name]
        return {"loop_latency_ms_p50": loop.percentile(50), "loop_latency_ms_p99": loop.percentile(99),
                "loop_latency_samples": loop.n, "quote_latency_ms_p50": quote.percentile(50),
                "quote_latency_ms_p99": quote.percentile(99), "quote_latency_samples": quote.n}

    def run(self) -> RunResult | None:
        """Record and trade until the duration ends or a signal; returns the run's RunResult."""
        self.ops = RunOps(self.out, clock=getattr(self.feed, "clock", "live"), source=self.source(),
                          resumed=self.resume, sample_s=self.ops_sample_s)
        self.write_state("starting")
        ended = False
        try:
            asyncio.run(self.recorder.run())
            ended = True
        finally:
            result = None
            try:
                if self.replayer is not None:
                    result = self._finish()
            finally:
                status = "finished" if ended and not self.errors else "failed"
                self.write_state(status)
                self.ops.close(status, self.clock_end_ns, None if self.replayer is None else int(self.replayer._rows))
                self._trades.close()
                self._lock.release()
        return result

    def _finish(self) -> RunResult:
        """Finish every engine, record the last checkpoints, write paper_result.json and run.yaml."""
        for name, rep in self.others.items():
            self.results[name] = RunResult.of(rep.finish(), self.strategy)
        result = self.results[MAIN] = RunResult.of(self.replayer.finish(), self.strategy)
        self._write_trades()
        end = self.clock_end_ns if self.clock_end_ns is not None else result.span_ns[1]
        self.kpi_checkpoints.record(self.replayer._first_ts, end, lambda: result, self.ops.segment)  # type: ignore[union-attr]
        ev = evaluate(result, strategy=self.strategy)
        summary = {**result.summary(), "fills_hash": result.fills_hash, "recording": str(self.recorder.out_dir),
                   "clock_end_ns": self.clock_end_ns, "clock": getattr(self.feed, "clock", "live"),
                   "source": self.source(), "kpis": ev.total, "ops": dict(ev.ops), "edge": ev.edge,
                   "instruments": [{"key": i.key, "contract_type": i.contract_type, "tick_size": i.tick_size,
                                    "lot_size": i.lot_size, "maker_fee_bps": i.maker_fee_bps,
                                    "taker_fee_bps": i.taker_fee_bps} for i in result.instruments]}
        _atomic_json(self.out / "paper_result.json", summary)
        self._write_run_yaml()  # with clock_end_ns: its replay runs the timers as far as this run did
        return result

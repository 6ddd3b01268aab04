"""Paper trading: the live recorder feeds the replay engine, strategy, fill model and guards.

Every batch the recorder flushes to its recording is also fed to a
:class:`~arbkit.engine.runner.Replayer` — the same events, in the same order, with the
instruments frozen at the first flush and written to the recording's manifest — so
``arbkit replay`` of the paper run's recording with its config and seed gives the same fills
(``fills_hash``) as the run produced live. Files in the run directory:

* ``recording/`` — the run's own recording (parts, manifest, raw message log);
* ``trades.jsonl`` — one line per fill as it happens (the trade-log format of ``Result.trades_jsonl``);
* ``live_state.json`` — rewritten atomically every ``state_every_s``: status, uptime, events,
  PnL realised / unrealised, drawdown, per-instrument book top, own quotes and position,
  fills and fill rate, feed errors and reconnects, memory and CPU;
* ``run.yaml`` (the config and seed used) and, at the end, ``paper_result.json`` (summary and ``fills_hash``).
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from arbkit.engine import codes as c
from arbkit.engine.book import NO_ASK, NO_BID
from arbkit.engine.result import Result, TradeLog
from arbkit.io.columns import EventColumns
from arbkit.record.recorder import Recorder, VenueSpec
from arbkit.run_config import RunConfig


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PaperRun:
    """One paper-trading run; ``result = PaperRun(...).run()``."""

    def __init__(self, config: RunConfig, venues: Sequence[VenueSpec], out_dir: str | Path, *,
                 duration_s: float | None = None, flush_s: float = 0.5, state_every_s: float = 2.0,
                 silence_s: float = 15.0, overwrite: bool = False, status: bool | None = False) -> None:
        from arbkit.strategies import get_strategy

        self.config = config
        self.strategy = get_strategy(config.strategy, **config.strategy_options)
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(self.out / "recording", venues, flush_s=flush_s, silence_s=silence_s,
                                 duration_s=duration_s, on_events=self._on_events, freeze_instruments=True,
                                 overwrite=overwrite, status=status,
                                 provenance={"paper_run": {"strategy": config.strategy, "seed": config.seed}})
        self.state_every_s = state_every_s
        self.replayer: Any = None
        self.trade_log: TradeLog | None = None
        self._trades = open(self.out / "trades.jsonl", "w")
        self._fills_written = 0
        self._next_state = 0.0
        self._t0 = time.monotonic()
        self._cpu0 = time.process_time()
        self._peak_equity = -np.inf
        self.errors: list[str] = []
        self._write_run_yaml()

    def _write_run_yaml(self) -> None:
        import yaml

        cfg = self.config
        data = {"strategy": cfg.strategy, "strategy_options": cfg.strategy_options, "params": cfg.params,
                "fill": cfg.fill, "latency": cfg.latency, "guards": cfg.guards, "seed": cfg.seed,
                "equity_interval_ms": cfg.equity_interval_ms}
        if cfg.schedule is not None:
            data["schedule"] = cfg.schedule
        (self.out / "run.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    # -- live batches ------------------------------------------------------------------------

    def _on_events(self, cols: EventColumns) -> None:
        from arbkit.engine.runner import Replayer

        cfg = self.config
        if self.replayer is None:
            instruments = self.recorder._writer.instruments
            self.replayer = Replayer(instruments, self.strategy, cfg.params, fill=cfg.fill, latency=cfg.latency,
                                     seed=cfg.seed, schedule=cfg.schedule, guards=cfg.guards,
                                     equity_interval_ms=cfg.equity_interval_ms,
                                     source=str(self.recorder.out_dir))
            self.trade_log = TradeLog(instruments, self.strategy.name, self.strategy.param_dict(self.replayer.params))
        try:
            self.replayer.feed(cols)
        except Exception as exc:  # the engine refused the batch: stop the run, keep what was recorded
            self.errors.append(f"engine: {exc}")
            self.recorder.stop()
            return
        self._write_trades()
        if time.monotonic() >= self._next_state:
            self.write_state("running")
            self._next_state = time.monotonic() + self.state_every_s

    def _write_trades(self) -> None:
        rep = self.replayer
        fills = np.concatenate(rep._fills) if rep._fills else np.zeros(0, c.FILL_DTYPE)
        notes = np.concatenate(rep._notes) if rep._notes else np.zeros((0, 2 + c.NOTE_VALUES))
        for f in fills[self._fills_written:]:
            self._trades.write(json.dumps(self.trade_log.line(f, notes)) + "\n")  # type: ignore[union-attr]
        self._fills_written = len(fills)
        self._trades.flush()

    def state(self, status: str) -> dict[str, Any]:
        """What the dashboard shows (see the module doc)."""
        from arbkit.engine.accounting import asset_equity, unrealised
        from arbkit.engine.config import instrument_matrix

        rs = self.recorder.stats
        out: dict[str, Any] = {"status": status, "updated_ns": time.time_ns(),
                               "uptime_s": time.monotonic() - self._t0,
                               "strategy": self.config.strategy, "seed": self.config.seed,
                               "feed": {"messages": rs.messages, "events": rs.events, "reconnects": rs.reconnects,
                                        "gaps": rs.gaps, "malformed": rs.malformed, "silent_drops": rs.silent_drops,
                                        "connected": status == "running"},
                               "errors": list(self.errors),
                               "system": {"rss_mb": _rss_mb(), "cpu_s": time.process_time() - self._cpu0}}
        rep = self.replayer
        if rep is None:
            out["instruments"] = []
            return out
        st = rep.state
        im = instrument_matrix(rep.instruments)
        per = []
        total_eq = realised = unreal = fees = 0.0
        for a, inst in enumerate(rep.instruments):
            acc = st.acct[a]
            eq = float(asset_equity(st.acct, im, a))
            total_eq += eq if eq == eq else 0.0
            realised += float(acc[c.A_REAL])
            fees += float(acc[c.A_FEES])
            u = float(unrealised(st.acct, im, a))
            unreal += u if u == u else 0.0
            bb, ba = int(st.books.best_bid[a]), int(st.books.best_ask[a])
            tick = float(st.books.tick[a])
            quotes = []
            for k in range(int(st.clock[c.K_N_ACTIVE])):
                s = int(st.active[k])
                if int(st.oi[s, c.O_ASSET]) == a and int(st.oi[s, c.O_STATUS]) in (c.ST_OPEN, c.ST_PARTIAL):
                    quotes.append({"id": int(st.oi[s, c.O_ID]), "side": "bid" if st.oi[s, c.O_SIDE] > 0 else "ask",
                                   "price": float(st.oi[s, c.O_TICK]) * tick, "leaves": float(st.of[s, c.F_LEAVES])})
            per.append({"instrument": inst.key, "best_bid": bb * tick if bb != NO_BID else None,
                        "best_ask": ba * tick if ba != NO_ASK else None, "position": float(acc[c.A_POS]),
                        "quotes": quotes, "equity": eq if eq == eq else None})
        self._peak_equity = max(self._peak_equity, total_eq)
        orders = int(st.counters[c.C_ORDERS])
        n_fills = self._fills_written
        out.update({"instruments": per, "events_replayed": int(rep._rows),
                    "pnl": {"total": total_eq, "realised": realised - fees, "unrealised": unreal, "fees": fees},
                    "drawdown": self._peak_equity - total_eq, "fills": n_fills, "orders": orders,
                    "fill_rate": n_fills / orders if orders else None,
                    "kill_switch": bool(st.guard_st[c.RS_KILLED])})
        return out

    def write_state(self, status: str) -> None:
        _atomic_json(self.out / "live_state.json", self.state(status))

    # -- run -----------------------------------------------------------------------------------

    def run(self) -> Result | None:
        """Record and trade until the duration ends or a signal; returns the run's Result."""
        self.write_state("starting")
        try:
            asyncio.run(self.recorder.run())
        finally:
            result = None
            if self.replayer is not None:
                result = self.replayer.finish()
                self._write_trades()
                summary = {**result.summary(), "fills_hash": result.fills_hash, "recording": str(self.recorder.out_dir)}
                _atomic_json(self.out / "paper_result.json", summary)
            self.write_state("finished" if not self.errors else "failed")
            self._trades.close()
        return result

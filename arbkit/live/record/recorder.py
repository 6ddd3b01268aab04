"""The live recorder: several venues in one process on one clock, written so nothing is lost.

* Every frame is appended to the raw log (gzip NDJSON, sync-flushed per line) with its local
  receive time before anything else happens to it.
* Frames are normalised by the venue adapters into an :class:`~arbkit.venues.common.EventSink`;
  every ``flush_s`` seconds (or ``part_rows`` rows) the new rows become a Parquet part,
  written under a temporary name, fsynced, renamed, and the manifest rewritten atomically.
  A SIGKILL at any moment leaves a recording that validates and holds every completed
  flush; SIGINT / SIGTERM flush the rest and mark the manifest complete.
* Faults: reconnect with exponential backoff and jitter that keeps growing while connections
  die young and starts over only after a connection stayed healthy (received data) for
  ``healthy_s`` (:class:`~arbkit.live.record.pacing.Backoff`); REST snapshot requests go through a
  per-venue token bucket (:class:`~arbkit.live.record.pacing.TokenBucket`; a 429 / 418 pauses it
  for Retry-After). A connection silent for ``silence_s`` is dropped (watchdog); a
  disconnect, a sequence break or a checksum mismatch writes a GAP and re-syncs from a fresh
  snapshot (REST for Binance, a new connection for venues that send one on subscribe);
  malformed or unknown frames are counted and logged.
* Frames: up to ``max_frame_bytes`` (64 MiB by default) are recorded whole. A frame over the
  limit is never read: websockets closes the connection (code 1009), the raw log gets a
  marker line ``{"marker": "oversize", "size", "limit", "reason"}``, the venue's books get a
  GAP, and the recorder reconnects (with backoff) and re-syncs; what was recorded before
  stays. Binary frames are logged byte for byte (base64 with ``"marker": "binary-not-utf8"``
  when they are not UTF-8; such a frame is counted as malformed and the connection goes on).
* One recorder per directory: the output directory's lock (:mod:`arbkit.io.lock`) is taken
  before anything in it is touched; a second recorder, or ``overwrite`` on a directory a
  live recorder holds, fails naming the holder's pid and deletes nothing.
* An output directory that cannot be written fails at once, before connecting.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from arbkit.core.columns import EventColumns
from arbkit.core.errors import ConfigError, DataError
from arbkit.core.terminal import progress_wanted
from arbkit.io.lock import DirectoryLock, DirectoryLocked, dir_has_files
from arbkit.io.writer import RecordingWriter
from arbkit.live.record.adapters import CHANNELS, Adapter, MalformedMessage, make_adapter
from arbkit.live.record.pacing import Backoff, TokenBucket, check_rest_pacing, rest_bucket
from arbkit.live.record.raw_log import RawLog
from arbkit.venues.common import EventSink, InstrumentTable

log = logging.getLogger("arbkit.live.record")


class RecorderError(Exception):
    """The recorder cannot go on (unwritable output, disk full)."""


@dataclass
class VenueSpec:
    """One venue connection to record: ``venue`` (see ``arbkit.live.record.adapters.VENUES``) and symbols."""

    venue: str
    symbols: Sequence[str]
    channels: Sequence[str] = CHANNELS
    endpoint: str | None = None  # websocket base URL (tests: ws://127.0.0.1:PORT)
    rest: str | None = None  # REST base URL for snapshots (Binance)
    rest_rate: float | None = None  # REST snapshots per second (default: the venue's, see pacing.REST_LIMITS)
    rest_burst: int | None = None  # REST snapshots at once


@dataclass
class Stats:
    """What the recorder counted (messages, events, gaps, reconnects, …)."""
    messages: int = 0
    events: int = 0
    malformed: int = 0
    gaps: int = 0
    reconnects: int = 0
    silent_drops: int = 0
    rest_requests: int = 0
    snapshots_fetched: int = 0
    oversize_frames: int = 0
    undecodable_frames: int = 0
    protocol_errors: int = 0
    parts: int = 0
    raw_bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        """The counts as a dict with the uptime."""
        d = {k: v for k, v in self.__dict__.items() if k != "started"}
        d["uptime_s"] = time.monotonic() - self.started
        return d


def check_writable(directory: Path) -> None:
    """Fail now, not at the first flush, when the output directory cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-probe-{os.getpid()}"
        with open(probe, "wb") as fh:
            fh.write(b"0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        raise RecorderError(f"{directory}: output directory is not writable ({exc})") from None


class Recorder:
    """Record ``venues`` into ``out_dir``; ``await run()`` until ``duration_s`` or :meth:`stop`.

    ``on_events(cols)`` is called with every flushed batch (paper trading drives its engine
    with it), then ``on_tick(t)`` at every flush round, rows or not, with the recorder's clock:
    no row recorded later is stamped before ``t``. ``freeze_instruments`` keeps the instruments
    as they were at the first flush.
    """

    def __init__(self, out_dir: str | Path, venues: Sequence[VenueSpec], *, flush_s: float = 2.0,
                 part_rows: int = 1_000_000, silence_s: float = 15.0, backoff_s: tuple[float, float] = (0.25, 30.0),
                 duration_s: float | None = None, on_events: Callable[[EventColumns], None] | None = None,
                 on_tick: Callable[[int], None] | None = None,
                 freeze_instruments: bool = False, overwrite: bool = False, status: bool | None = None,
                 instrument_overrides: dict[str, dict[str, Any]] | None = None,
                 provenance: dict[str, Any] | None = None, resume: bool = False, healthy_s: float = 30.0,
                 max_frame_bytes: int = 64 << 20, rest_rate: float | None = None,
                 rest_burst: int | None = None) -> None:
        self.on_tick = on_tick
        if not venues:
            raise ConfigError("record: give at least one venue")
        for name, v in (("flush_s", flush_s), ("silence_s", silence_s), ("healthy_s", healthy_s)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
                raise ConfigError(f"record: {name} (--{name.replace('_', '-')}) must be a positive number of "
                                  f"seconds, got {v!r}")
        if isinstance(max_frame_bytes, bool) or not isinstance(max_frame_bytes, int) or max_frame_bytes < 1024:
            raise ConfigError(f"record: max_frame_bytes must be a whole number of bytes >= 1024, got {max_frame_bytes!r}")
        check_rest_pacing(rest_rate, rest_burst)
        for v in venues:
            check_rest_pacing(v.rest_rate, v.rest_burst, where=f"record: venue {v.venue}")
        self.out_dir = Path(out_dir)
        try:  # first of all: a directory a live recorder holds is not touched at all
            self._lock = DirectoryLock(self.out_dir, "arbkit record").acquire()
        except DirectoryLocked as exc:
            raise RecorderError(str(exc)) from None
        except OSError as exc:
            raise RecorderError(f"{self.out_dir}: output directory is not writable ({exc})") from None
        try:
            check_writable(self.out_dir)
            self._setup(venues, flush_s=flush_s, part_rows=part_rows, silence_s=silence_s, backoff_s=backoff_s,
                        duration_s=duration_s, on_events=on_events, freeze_instruments=freeze_instruments,
                        overwrite=overwrite, status=status, instrument_overrides=instrument_overrides,
                        provenance=provenance, resume=resume, healthy_s=healthy_s, max_frame_bytes=max_frame_bytes,
                        rest_rate=rest_rate, rest_burst=rest_burst)
        except BaseException:
            self._lock.release()
            raise

    def _setup(self, venues: Sequence[VenueSpec], *, flush_s: float, part_rows: int, silence_s: float,
               backoff_s: tuple[float, float], duration_s: float | None,
               on_events: Callable[[EventColumns], None] | None, freeze_instruments: bool, overwrite: bool,
               status: bool | None, instrument_overrides: dict[str, dict[str, Any]] | None,
               provenance: dict[str, Any] | None, resume: bool, healthy_s: float, max_frame_bytes: int,
               rest_rate: float | None, rest_burst: int | None) -> None:
        self.resume = resume and (self.out_dir / "manifest.json").is_file()
        if dir_has_files(self.out_dir) and not overwrite and not self.resume:
            raise RecorderError(f"{self.out_dir}: output directory exists and is not empty (use --force)")
        self.table = InstrumentTable(overrides=instrument_overrides)
        self.sink = EventSink(self.table)
        self.specs = list(venues)
        self.adapters: list[Adapter] = [make_adapter(v.venue, self.sink, self.table, v.symbols, v.channels, v.endpoint,
                                                     v.rest) for v in venues]
        self.flush_s = float(flush_s)
        self.part_rows = int(part_rows)
        self.silence_s = float(silence_s)
        self.healthy_s = float(healthy_s)
        self.max_frame_bytes = int(max_frame_bytes)
        self.backoff_s = backoff_s
        self.backoffs = [Backoff(*backoff_s) for _ in self.adapters]
        self.rest_buckets: dict[str, TokenBucket] = {}
        for v, a in zip(self.specs, self.adapters):
            if a.uses_rest_snapshots and a.venue not in self.rest_buckets:  # one budget per venue (it is per IP)
                rate = v.rest_rate if v.rest_rate is not None else rest_rate
                self.rest_buckets[a.venue] = rest_bucket(a.venue, rate, v.rest_burst if v.rest_burst is not None
                                                         else rest_burst)
        self.duration_s = duration_s
        self.on_events = on_events
        self.freeze_instruments = freeze_instruments
        self.status = status
        self.stats = Stats()
        self._provenance = {"recorder": "arbkit record", "venues": [
            {"venue": v.venue, "symbols": list(v.symbols), "channels": list(v.channels), "endpoint": a.url()}
            for v, a in zip(venues, self.adapters)], **(provenance or {})}
        self._overwrite = overwrite
        self._writer: Any = None
        self._raw: RawLog | None = None
        self._last_ts = 0
        self._stop: asyncio.Event | None = None  # made inside the running loop
        self._frozen: list | None = None
        self.failure: BaseException | None = None

    # -- clock -----------------------------------------------------------------------------

    def now(self) -> int:
        """Local receive time, ns; never goes back (one clock for every venue)."""
        t = time.time_ns()
        if t < self._last_ts:
            t = self._last_ts
        self._last_ts = t
        return t

    # -- lifecycle -------------------------------------------------------------------------

    def release(self) -> None:
        """Give up the output directory's lock without running (:meth:`run` releases it when it ends)."""
        self._lock.release()

    def stop(self) -> None:
        """Ask the recorder to flush and stop (what SIGINT/SIGTERM do)."""
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> dict[str, Any]:
        """Connect, record, flush on the rotation; returns the final stats (also in the manifest).

        The directory's lock is released when the run ends."""
        try:
            return await self._run()
        finally:
            self._lock.release()

    async def _run(self) -> dict[str, Any]:

        self._stop = asyncio.Event()
        if self.resume:
            # a restarted run: continue the recording; the feed was down, so every book is a GAP
            self._writer = RecordingWriter.reopen(self.out_dir, part_rows=self.part_rows, lock=self._lock)
            self._frozen = list(self._writer.instruments)
            t = self.now()
            if self._writer.manifest.end_ns is not None and t < self._writer.manifest.end_ns:
                t = self._last_ts = int(self._writer.manifest.end_ns)
            for a in range(len(self.table)):
                self.sink.emit_gap(t, t, a)
        else:
            self._writer = RecordingWriter(self.out_dir, self.table.instruments(), provenance=self._provenance,
                                           part_rows=self.part_rows, overwrite=self._overwrite, lock=self._lock)
        (self.out_dir / "raw").mkdir(parents=True, exist_ok=True)
        n_raw = len(list((self.out_dir / "raw").glob("messages-*.ndjson.gz")))
        self._raw = RawLog(self.out_dir / "raw" / f"messages-{n_raw:05d}.ndjson.gz")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop)
        tasks = [asyncio.create_task(self._connection(i, a)) for i, a in enumerate(self.adapters)]
        tasks.append(asyncio.create_task(self._flusher()))
        status = self._status_task()
        if status is not None:
            tasks.append(status)
        try:
            if self.duration_s is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.duration_s)
            else:
                await self._stop.wait()
        finally:
            self._stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
            self._close()
        if self.failure is not None:
            raise RecorderError(str(self.failure)) from self.failure
        return self.stats.as_dict()

    def _close(self) -> None:
        try:
            self._flush_now()
            self._writer.close(conversion={"recorder": self.stats.as_dict(), "counters": dict(self.sink.counters)})
        except OSError as exc:
            self.failure = self.failure or exc
        finally:
            if self._raw is not None:
                self._raw.close()

    # -- connections -----------------------------------------------------------------------

    async def _connection(self, index: int, adapter: Adapter) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, WebSocketException

        backoff = self.backoffs[index]
        conn_no = 0
        name = self.specs[index].venue
        while not self._stop.is_set():
            conn_no += 1
            fetches: set[asyncio.Task] = set()
            connected = False
            why = "closed"
            try:
                async with connect(adapter.url(), open_timeout=10, ping_interval=20, max_size=self.max_frame_bytes,
                                   close_timeout=2) as ws:
                    connected = True
                    opened, healthy = time.monotonic(), False
                    adapter.on_connect(self.now())
                    for frame in adapter.subscriptions():
                        await ws.send(frame)
                    if adapter.heartbeat is not None:
                        fetches.add(asyncio.create_task(self._heartbeat(ws, *adapter.heartbeat)))
                    while not self._stop.is_set():
                        self._fetch_snapshots(adapter, name, conn_no, fetches)
                        try:
                            frame = await asyncio.wait_for(ws.recv(), timeout=self.silence_s)
                        except asyncio.TimeoutError:
                            self.stats.silent_drops += 1
                            why = f"silent for {self.silence_s:g} s"
                            break
                        ts = self.now()
                        self._raw_write(ts, name, conn_no, frame)
                        self.stats.messages += 1
                        if not healthy and time.monotonic() - opened >= self.healthy_s:
                            healthy = True  # up and delivering for healthy_s: the backoff starts over
                            backoff.healthy()
                        text = self._text(frame, name, conn_no)
                        if text is None:
                            continue
                        try:
                            adapter.on_message(ts, text, f"{name} conn {conn_no}")
                        except MalformedMessage as exc:
                            self.stats.malformed += 1
                            log.warning("%s: malformed frame skipped (%s): %.200s", name, exc, text)
                        if adapter.needs_resync():
                            why = "book out of sequence (a fresh snapshot comes with a new connection)"
                            break
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.TimeoutError, InvalidHandshake, WebSocketException) as exc:
                why = self._connection_error(name, conn_no, exc) or str(exc) or type(exc).__name__
            finally:
                for f in fetches:
                    f.cancel()
                if connected and not self._stop.is_set():  # a clean stop just ends the recording
                    adapter.on_disconnect(self.now())
            if self._stop.is_set():
                return
            self.stats.reconnects += 1
            delay = backoff.next_delay()
            log.warning("%s: connection %d: %s; reconnecting in %.2f s", name, conn_no, why, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    def _text(self, frame: str | bytes, name: str, conn_no: int) -> str | None:
        """The frame as text for the adapter; None for a binary frame that is not UTF-8 (kept in the raw log)."""
        if isinstance(frame, str):
            return frame
        try:
            return frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.stats.malformed += 1
            self.stats.undecodable_frames += 1
            log.warning("%s: connection %d: binary frame of %d bytes is not UTF-8 (%s at byte %d); kept as base64 "
                        "in the raw log, skipped", name, conn_no, len(frame), exc.reason, exc.start)
            return None

    def _connection_error(self, name: str, conn_no: int, exc: BaseException) -> str | None:
        """A connection our side failed (frame over the size limit, protocol error): a marker line in the raw log."""
        from websockets.exceptions import ConnectionClosedError, PayloadTooBig

        if not isinstance(exc, ConnectionClosedError) or exc.sent is None or exc.sent.code not in (1002, 1007, 1009):
            return None
        cause = exc.__cause__
        ts = self.now()
        if exc.sent.code == 1009:
            self.stats.oversize_frames += 1
            size = getattr(cause, "size", None) if isinstance(cause, PayloadTooBig) else None
            what = f"frame of {size} bytes" if size else "compressed frame whose decompressed size"
            reason = (f"{what} exceeds the {self.max_frame_bytes}-byte limit; not read: connection closed (1009), "
                      f"books GAP, reconnecting")
            self._raw_marker(ts, name, conn_no, "oversize", size=size, limit=self.max_frame_bytes, reason=reason)
        else:
            self.stats.protocol_errors += 1
            what = "text frame is not UTF-8, its bytes are lost" if exc.sent.code == 1007 else "protocol error"
            reason = (f"{what} ({cause or exc.sent.reason}); connection closed ({exc.sent.code}), books GAP, "
                      f"reconnecting")
            self._raw_marker(ts, name, conn_no, "protocol-error", code=exc.sent.code, reason=reason)
        return reason

    @staticmethod
    async def _heartbeat(ws: Any, every_s: float, text: str) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(every_s)
                await ws.send(text)

    def _fetch_snapshots(self, adapter: Adapter, name: str, conn_no: int, fetches: set) -> None:
        if not adapter.uses_rest_snapshots:
            return
        busy = {getattr(f, "symbol", None) for f in fetches if not f.done()}
        for sym, url in adapter.snapshot_urls().items():
            if sym in busy:
                continue
            task = asyncio.create_task(self._snapshot(adapter, name, conn_no, sym, url))
            task.symbol = sym  # type: ignore[attr-defined]
            fetches.add(task)
            task.add_done_callback(fetches.discard)

    async def _snapshot(self, adapter: Adapter, name: str, conn_no: int, sym: str, url: str) -> None:
        def get() -> bytes:
            self.stats.rest_requests += 1  # counted here: a request cancelled before its thread starts is never made
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.read()

        await self.rest_buckets[adapter.venue].take()
        try:
            body = await asyncio.to_thread(get)
        except urllib.error.HTTPError as exc:
            if exc.code in (418, 429):  # the venue's rate limit: no request until it says
                wait = exc.headers.get("Retry-After", "") if exc.headers else ""
                pause = float(wait) if wait.strip().isdigit() else 60.0
                self.rest_buckets[adapter.venue].pause(pause)
                log.warning("%s: snapshot %s refused with HTTP %d; no REST request for %.0f s", name, url,
                            exc.code, pause)
            else:
                log.warning("%s: snapshot %s failed (HTTP %d); retrying", name, url, exc.code)
            await asyncio.sleep(self.backoff_s[0])
            return
        except OSError as exc:
            log.warning("%s: snapshot %s failed (%s); retrying", name, url, exc)
            await asyncio.sleep(self.backoff_s[0])
            return
        ts = self.now()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._raw_write(ts, name, conn_no, body, rest=url)
            self.stats.malformed += 1
            log.warning("%s: snapshot from %s is not UTF-8 (%s); kept as base64 in the raw log", name, url, exc.reason)
            await asyncio.sleep(self.backoff_s[0])
            return
        self._raw_write(ts, name, conn_no, text, rest=url)
        self.stats.snapshots_fetched += 1
        try:
            adapter.on_snapshot(ts, sym, text, f"{name} {url}")
        except MalformedMessage as exc:
            self.stats.malformed += 1
            log.warning("%s: bad snapshot from %s (%s)", name, url, exc)
            await asyncio.sleep(self.backoff_s[0])

    def _raw_write(self, ts: int, venue: str, conn: int, frame: str | bytes, **extra: Any) -> None:
        try:
            self._raw.write(ts, venue, conn, frame, **extra)  # type: ignore[union-attr]
        except OSError as exc:
            self._fail(exc)

    def _raw_marker(self, ts: int, venue: str, conn: int, marker: str, **fields: Any) -> None:
        try:
            self._raw.marker(ts, venue, conn, marker, **fields)  # type: ignore[union-attr]
        except OSError as exc:
            self._fail(exc)

    # -- flushing ----------------------------------------------------------------------------

    async def _flusher(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.flush_s)
            if self._stop.is_set():
                return
            self._flush_now()

    def _flush_now(self) -> None:
        cols = self.sink.take()
        if len(cols):
            self._write_batch(cols)
        if self.on_tick is not None and self.failure is None:
            # every row recorded from now on is stamped at or after this time (the clock never goes back, and a
            # frame is normalised whole between two flushes): what consumes the batches may move its clock here
            self.on_tick(self.now())

    def _write_batch(self, cols: EventColumns) -> None:
        w = self._writer
        if self._frozen is None:
            self._frozen = self.table.instruments()
        w.instruments = self._frozen if self.freeze_instruments else self.table.instruments()
        w.manifest.instruments = w.instruments  # tick/lot sizes inferred from the prices seen so far
        try:
            w.append(cols)
            w.flush()
        except (OSError, DataError) as exc:
            self._fail(exc)
            return
        self.stats.events += len(cols)
        self.stats.parts = len(w.manifest.parts)
        self.stats.gaps = int(self.sink.counters.get("gaps", 0))
        if self._raw is not None:
            self.stats.raw_bytes = self._raw.bytes_in
        if self.on_events is not None:
            self.on_events(cols)

    def _fail(self, exc: BaseException) -> None:
        log.error("recorder stops: %s", exc)
        self.failure = self.failure or exc
        self.stop()

    # -- status line ---------------------------------------------------------------------------

    def _status_task(self) -> asyncio.Task | None:
        if not progress_wanted(self.status):
            return None

        async def show() -> None:
            from rich.live import Live

            last = (time.monotonic(), 0, 0)
            with Live(refresh_per_second=2, transient=False) as live:
                while not self._stop.is_set():
                    await asyncio.sleep(1.0)
                    now, m, e = time.monotonic(), self.stats.messages, self.stats.events
                    dt = max(now - last[0], 1e-9)
                    live.update(f"msgs/s {(m - last[1]) / dt:,.0f}  events/s {(e - last[2]) / dt:,.0f}  "
                                f"gaps {self.stats.gaps}  reconnects {self.stats.reconnects}  "
                                f"malformed {self.stats.malformed}  raw {self.stats.raw_bytes / 1e6:,.1f} MB  "
                                f"parts {self.stats.parts}")
                    last = (now, m, e)

        return asyncio.create_task(show())


def record(out_dir: str | Path, venues: Sequence[VenueSpec], **kw: Any) -> dict[str, Any]:
    """Run a :class:`Recorder` to completion (``duration_s`` or a signal); returns its stats."""
    return asyncio.run(Recorder(out_dir, venues, **kw).run())

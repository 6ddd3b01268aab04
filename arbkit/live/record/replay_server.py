"""A local websocket "exchange": replays captured frames on 127.0.0.1 (recorder tests, benchmarks, dry runs).

The frames are the captures' raw websocket texts in order, sent with compressed timing
(``delay_s`` every ``batch`` frames). One cursor is shared by all connections, so after a
reconnect the feed continues where it was (what was sent while the client was away is
lost to it, as on a real exchange). Binance REST depth snapshots are answered over HTTP on
the same port from a book the server keeps by applying every depth frame it passes.

Faults, by frame index: ``drop_at`` (close the connection before that frame), ``malformed_at``
(send a broken frame before it), ``skip_at`` (never send that frame: a sequence gap),
``silent_at`` (stop sending for ``silence_s`` before it), ``inject_at`` (``{index: text or
bytes}``: send that extra frame before it, e.g. an oversize or a binary one).
"""
from __future__ import annotations

import asyncio
import gzip
import json
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

def binance_frames(path: Path) -> tuple[list[str], dict[str, Any]]:
    """(websocket frames, the REST snapshot) of a Binance ``<ts> <json>`` capture."""
    frames, snapshot = [], None
    with gzip.open(path, "rt") as fh:
        for line in fh:
            _, payload = line.rstrip("\n").split(" ", 1)
            if '"lastUpdateId"' in payload[:40]:
                snapshot = json.loads(payload)
                frames.append(None)  # where the capture fetched it
            else:
                frames.append(payload)
    pos = frames.index(None)
    return [f for f in frames if f is not None], {"snapshot": snapshot, "position": pos}


def cryptofeed_frames(path: Path, *, by_time: bool = False) -> list[str]:
    """The websocket text frames of a cryptofeed capture (acks included), in file order or, with ``by_time``,
    merged across its connections by receive time (a capture with one connection per channel, served on one)."""
    out = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("t") == "recv" and "data" in rec:
                out.append((float(rec["ts"]), rec["data"]))
    if by_time:
        out.sort(key=lambda x: x[0])
    return [text for _, text in out]


def okx_frames(path: Path) -> list[str]:
    """The websocket frames of cryptofeed's OKX capture (subscribe acks included)."""
    return cryptofeed_frames(path)


class _BinanceBook:
    """The server's own book, for REST snapshots consistent with what it streamed."""

    def __init__(self, snap: dict[str, Any], position: int) -> None:
        self.snap = snap
        self.position = position
        self.last_u = int(snap["lastUpdateId"])
        self.bids = {p: q for p, q in snap["bids"]}
        self.asks = {p: q for p, q in snap["asks"]}

    def apply(self, frame: str) -> None:
        """Apply one depth frame the server passed (sent or skipped)."""
        d = json.loads(frame).get("data", {})
        if d.get("e") != "depthUpdate" or int(d["u"]) < self.last_u:
            return
        for side, book in (("b", self.bids), ("a", self.asks)):
            for p, q in d[side]:
                if float(q) == 0.0:
                    book.pop(p, None)
                else:
                    book[p] = q
        self.last_u = int(d["u"])

    def rest(self, cursor: int, frames: list[str]) -> dict[str, Any]:
        """The book after the frames passed so far. Its ``lastUpdateId`` is the next diff's ``U`` (as on
        Binance, an id inside the next diff's range), so that diff bridges it."""
        if cursor <= self.position:  # the capture's own snapshot (may be ahead of the stream, as live)
            return self.snap
        last = self.last_u
        for f in frames[cursor:]:
            if '"depthUpdate"' in f[:80]:
                last = max(last, int(json.loads(f)["data"]["U"]))
                break
        key = lambda kv: float(kv[0])  # noqa: E731
        return {"lastUpdateId": last, "E": self.snap.get("E", 0), "T": self.snap.get("T", 0),
                "bids": sorted(self.bids.items(), key=key, reverse=True)[:1000],
                "asks": sorted(self.asks.items(), key=key)[:1000]}


class ReplayServer:
    """Run with ``with ReplayServer(frames, ...) as srv:`` — ``srv.url`` is ws://127.0.0.1:PORT."""

    def __init__(self, frames: list[str], *, snapshot: dict[str, Any] | None = None, delay_s: float = 0.0005,
                 batch: int = 4, drop_at: Iterable[int] = (), malformed_at: Iterable[int] = (),
                 skip_at: Iterable[int] = (), silent_at: Iterable[int] = (), silence_s: float = 1.5,
                 wait_subscribe: bool = False, inject_at: dict[int, str | bytes] | None = None,
                 compression: str | None = "deflate") -> None:
        self.frames = frames
        self.book = _BinanceBook(snapshot["snapshot"], snapshot["position"]) if snapshot else None
        self.delay_s, self.batch = delay_s, batch
        self.drop_at, self.malformed_at = set(drop_at), set(malformed_at)
        self.skip_at, self.silent_at = set(skip_at), set(silent_at)
        self.inject_at = dict(inject_at or {})
        self.compression = compression  # None: frames go uncompressed (as most venues send them)
        self.silence_s = silence_s
        self.wait_subscribe = wait_subscribe
        self.cursor = 0
        self.sent: list[int] = []  # indices of frames sent, in order
        self.sent_on: list[int] = []  # the connection number (1, 2, ...) each of them was sent on
        self.connections = 0
        self.rest_calls = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The websocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        """The REST base URL (same port)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def done(self) -> bool:
        """True once every frame has been passed."""
        return self.cursor >= len(self.frames)

    def depth_index(self, near: int) -> int:
        """The first depth-diff frame at or after ``near`` (for a skip that breaks the sequence)."""
        return next(i for i in range(near, len(self.frames)) if '"depthUpdate"' in self.frames[i][:80])

    def _pass(self, i: int) -> None:
        if self.book is not None:
            self.book.apply(self.frames[i])

    async def _handler(self, ws: Any) -> None:
        self.connections += 1
        conn = self.connections
        if self.wait_subscribe:
            try:
                await asyncio.wait_for(ws.recv(), timeout=5)
            except Exception:
                return
        try:
            while self.cursor < len(self.frames):
                i = self.cursor
                if i in self.drop_at:
                    self.drop_at.discard(i)
                    await ws.close()
                    return
                if i in self.silent_at:
                    self.silent_at.discard(i)
                    await asyncio.sleep(self.silence_s)
                if i in self.malformed_at:
                    self.malformed_at.discard(i)
                    await ws.send('{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate", broken')
                if i in self.inject_at:
                    await ws.send(self.inject_at.pop(i))
                self.cursor = i + 1
                self._pass(i)
                if i in self.skip_at:
                    continue
                await ws.send(self.frames[i])
                self.sent.append(i)
                self.sent_on.append(conn)
                if self.delay_s and i % self.batch == 0:
                    await asyncio.sleep(self.delay_s)
            await asyncio.sleep(3600)  # feed exhausted: stay connected and quiet
        except Exception:
            return

    def _process_request(self, connection: Any, request: Any) -> Any:
        if request.path.startswith(("/fapi/", "/api/", "/dapi/")):
            self.rest_calls += 1
            body = json.dumps(self.book.rest(self.cursor, self.frames) if self.book else {})
            return connection.respond(200, body)
        return None

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request, max_size=1 << 24,
                         compression=self.compression) as srv:
            self.port = list(srv.sockets)[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "ReplayServer":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


class ScriptedServer:
    """A local websocket "exchange" that misbehaves on purpose: connection n gets ``script(n)`` — frames
    (text or bytes) sent in order, floats are pauses in seconds, coroutine functions are awaited
    with the connection (to send what the API refuses to) — and is then closed
    (``lambda n: []`` accepts and closes every connection at once). Binance REST depth requests
    get an empty book (or ``rest_status``, e.g. 429 with a ``Retry-After`` of ``retry_after`` s).
    ``connections`` counts handshakes, ``rest_calls`` REST requests."""

    def __init__(self, script: Callable[[int], Iterable[Any]], *, rest_status: int = 200,
                 retry_after: int | None = None) -> None:
        self.script = script
        self.rest_status, self.retry_after = rest_status, retry_after
        self.connections = 0
        self.rest_calls = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The websocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        """The REST base URL (same port)."""
        return f"http://127.0.0.1:{self.port}"

    async def _handler(self, ws: Any) -> None:
        self.connections += 1
        try:
            for item in self.script(self.connections):
                if isinstance(item, float):
                    await asyncio.sleep(item)
                elif callable(item):
                    await item(ws)
                else:
                    await ws.send(item)
        except Exception:
            return

    def _process_request(self, connection: Any, request: Any) -> Any:
        if request.path.startswith(("/fapi/", "/api/", "/dapi/")):
            self.rest_calls += 1
            if self.rest_status != 200:
                resp = connection.respond(self.rest_status, '{"code": -1003, "msg": "Too many requests"}')
                if self.retry_after is not None:
                    resp.headers["Retry-After"] = str(self.retry_after)
                return resp
            return connection.respond(200, json.dumps({"lastUpdateId": 1, "bids": [], "asks": []}))
        return None

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request) as srv:
            self.port = list(srv.sockets)[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "ScriptedServer":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


def repeated_binance(frames: list[str], times: int) -> list[str]:
    """``frames`` played ``times`` over with update ids shifted so the diff chain continues (benchmarks)."""
    diffs = [json.loads(f)["data"] for f in frames if '"depthUpdate"' in f[:80]]
    off = int(diffs[-1]["u"]) - int(diffs[0]["pu"])
    out = list(frames)
    for k in range(1, times):
        for f in frames:
            msg = json.loads(f)
            d = msg["data"]
            for key in ("U", "u", "pu"):
                if key in d:
                    d[key] = int(d[key]) + k * off
            out.append(json.dumps(msg, separators=(",", ":")))
    return out


def main() -> None:
    """``python -m arbkit.live.record.replay_server CAPTURE [--times N] [--delay-s S]``: serve until killed."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("capture", help="Binance '<ts> <json>' capture (.gz)")
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--delay-s", type=float, default=0.0)
    args = ap.parse_args()
    frames, snap = binance_frames(Path(args.capture))
    with ReplayServer(repeated_binance(frames, args.times), snapshot=snap, delay_s=args.delay_s) as srv:
        print(json.dumps({"url": srv.url, "rest": srv.http, "frames": len(srv.frames)}), flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()

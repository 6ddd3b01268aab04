"""``arbkit dashboard --run DIR``: serve the dashboard page and the run's files as JSON, locally.

Endpoints: ``/`` the page (static HTML + JS, no external assets); ``/api/state`` the run's
``live_state.json``; ``/api/trades?n=50`` the last trades of ``trades.jsonl`` (``n`` a whole
number from 1 to 1000, else HTTP 400 with a JSON error); ``/api/pnl`` the PnL history
(``pnl.jsonl``, one line per state update). The page polls them every second.

Files being written while they are read never stop an endpoint: a JSONL line that is not
UTF-8 JSON (a stray byte, a half-written line) is skipped and counted (``X-Skipped-Lines``
header); when ``live_state.json`` cannot be read the last good state is served with
``state_file_error: "state file unreadable since <UTC time> (...)"`` (status ``unreadable``
if there was none). Standard library only (``http.server``), bound to 127.0.0.1 by default.
"""
from __future__ import annotations

import errno
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

from arbkit.core.errors import ConfigError

STATIC = Path(__file__).resolve().parent / "static"
MAX_TRADES = 1000
PNL_POINTS = 5000


class BadQuery(ValueError):
    """A query value the endpoint cannot use (answered with HTTP 400)."""


def _lines_from_end(path: Path, block: int = 1 << 16) -> Iterator[tuple[bytes, bool]]:
    """The file's lines, last first, each with whether it ends in a newline (the last may be half-written)."""
    with path.open("rb") as fh:
        pos = fh.seek(0, 2)
        rest = b""
        first = True
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            pieces = (fh.read(step) + rest).split(b"\n")
            rest = pieces[0]
            for piece in reversed(pieces[1:]):
                if first:  # the text after the last newline: empty, or a line still being written
                    first = False
                    if piece:
                        yield piece, False
                    continue
                yield piece, True
        if first:
            yield rest, False
        elif rest:
            yield rest, True


def tail_jsonl(path: Path, n: int) -> tuple[list[Any], int]:
    """The last ``n`` JSON-object lines of ``path`` (oldest first) and how many bad lines were skipped.

    A line is bad when it is not UTF-8 or not a JSON object; an unfinished last line (no newline
    yet, not parseable) is being written and is skipped without counting."""
    if not path.is_file():
        return [], 0
    out: list[Any] = []
    bad = 0
    for line, terminated in _lines_from_end(path):
        if not line.strip():
            continue
        try:
            item = json.loads(line.decode("utf-8"))
            if not isinstance(item, dict):
                raise ValueError("not a JSON object")
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            bad += terminated
            continue
        out.append(item)
        if len(out) >= n:
            break
    out.reverse()
    return out, bad


class StateFile:
    """``live_state.json`` as last read well; remembers since when it cannot be read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._good: dict[str, Any] | None = None
        self._bad_since: float | None = None

    def read(self) -> dict[str, Any]:
        """The state to serve (see the module doc)."""
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            if self._good is None:
                return {"status": "waiting"}  # the run has not written it yet
            problem = "file is gone"
        except (OSError, ValueError) as exc:
            problem = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
        else:
            with self._lock:
                self._good, self._bad_since = data, None
            return data
        with self._lock:
            if self._bad_since is None:
                self._bad_since = time.time()
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._bad_since))
            good = self._good
        note = f"state file unreadable since {since} ({self.path}: {problem[:200]})"
        return {**good, "state_file_error": note} if good is not None else {"status": "unreadable",
                                                                           "state_file_error": note}


def _count(query: dict[str, list[str]], name: str, default: int, top: int) -> int:
    values = query.get(name)
    if values is None:
        return default
    raw = values[-1]
    if len(values) > 1 or not raw.strip().isdigit() or not 1 <= int(raw) <= top:
        shown = ",".join(values)
        raise BadQuery(f"{name} must be a whole number from 1 to {top}, got {shown!r}")
    return int(raw)


def make_handler(run_dir: Path) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving one run directory."""
    state_file = StateFile(run_dir / "live_state.json")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # quiet
            return

        def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any, code: int = 200, headers: dict[str, str] | None = None) -> None:
            self._send(code, json.dumps(data, default=float).encode(), "application/json", headers)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            try:
                self._get()
            except BadQuery as exc:
                self._json({"error": f"{self.path}: {exc}"}, 400)
            except (BrokenPipeError, ConnectionResetError):
                return  # the browser went away
            except Exception as exc:  # never leave a request without an answer
                print(f"arbkit dashboard: {self.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._json({"error": f"{self.path}: {type(exc).__name__}: {exc}"}, 500)

        def _get(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            if url.path in ("/", "/index.html"):
                self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
            elif url.path == "/api/state":
                self._json(state_file.read())
            elif url.path == "/api/trades":
                items, bad = tail_jsonl(run_dir / "trades.jsonl", _count(query, "n", 50, MAX_TRADES))
                self._json(items, headers={"X-Skipped-Lines": str(bad)})
            elif url.path == "/api/pnl":
                items, bad = tail_jsonl(run_dir / "pnl.jsonl", PNL_POINTS)
                self._json(items, headers={"X-Skipped-Lines": str(bad)})
            else:
                self._json({"error": f"not found: {url.path}"}, 404)

    return Handler


def bind(run_dir: str | Path, port: int = 8501, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """The dashboard's server for ``run_dir``, listening on ``host:port`` (not serving yet)."""
    d = Path(run_dir)
    if not d.is_dir():
        raise ConfigError(f"{d}: not a paper run directory (no such directory)")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be a whole number from 0 to 65535, got {port!r}")
    try:
        return ThreadingHTTPServer((host, port), make_handler(d))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use (another dashboard?); "
                              "choose another with --port") from None
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve(run_dir: str | Path, port: int = 8501, host: str = "127.0.0.1", *,
          background: bool = False) -> ThreadingHTTPServer:
    """Serve the dashboard for ``run_dir``; with ``background`` in a daemon thread (returns the server)."""
    server = bind(run_dir, port, host)
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    else:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return server

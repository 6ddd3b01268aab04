"""``arbkit dashboard --run DIR``: serve the dashboard page and the run's files as JSON, locally.

Endpoints: ``/`` the page (static HTML + JS, no external assets); ``/api/state`` the run's
``live_state.json``; ``/api/trades?n=50`` the last trades of ``trades.jsonl``; ``/api/pnl``
the PnL history (``pnl.jsonl``, one line per state update). The page polls them every second.
Standard library only (``http.server``), bound to 127.0.0.1 by default.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from arbkit.core.errors import ConfigError

STATIC = Path(__file__).resolve().parent / "static"


def _tail_jsonl(path: Path, n: int) -> list[Any]:
    if not path.is_file():
        return []
    lines: deque[str] = deque(maxlen=n)
    with path.open() as fh:
        for line in fh:
            if line.strip():
                lines.append(line)
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return out


def make_handler(run_dir: Path) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving one run directory."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # quiet
            return

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any) -> None:
            self._send(200, json.dumps(data, default=float).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
            elif url.path == "/api/state":
                p = run_dir / "live_state.json"
                try:
                    self._json(json.loads(p.read_text()) if p.is_file() else {"status": "waiting"})
                except json.JSONDecodeError:
                    self._json({"status": "waiting"})
            elif url.path == "/api/trades":
                n = int(parse_qs(url.query).get("n", ["50"])[0])
                self._json(_tail_jsonl(run_dir / "trades.jsonl", max(1, min(n, 1000))))
            elif url.path == "/api/pnl":
                self._json(_tail_jsonl(run_dir / "pnl.jsonl", 5000))
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


def serve(run_dir: str | Path, port: int = 8501, host: str = "127.0.0.1", *,
          background: bool = False) -> ThreadingHTTPServer:
    """Serve the dashboard for ``run_dir``; with ``background`` in a daemon thread (returns the server)."""
    d = Path(run_dir)
    if not d.is_dir():
        raise ConfigError(f"dashboard: {d} is not a paper run directory")
    server = ThreadingHTTPServer((host, port), make_handler(d))
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

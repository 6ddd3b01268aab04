"""``arbkit campaign dashboard DIR``: the campaign page — state, current hypothesis, run history with links to the
reports — and the strategy-internals panel (reservation price, spread, skew, volatility estimate over a run).

Endpoints: ``/`` the page (static HTML + JS, no external assets); ``/api/campaign`` the status
(:func:`arbkit.campaign.status.status_of`: state, hypotheses, history); ``/api/internals?run=ID``
the run's ``runs/<ID>.internals.json`` (404 when the strategy exposes none);
``/reports/<ID>.md`` the run's report as text. The page polls every two seconds. Standard
library only, bound to 127.0.0.1 by default.
"""
from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from arbkit.campaign.status import status_of
from arbkit.campaign.store import CampaignDir
from arbkit.core.errors import ArbkitError, ConfigError

STATIC = Path(__file__).resolve().parent / "static"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")


def make_handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving one campaign directory."""
    d = CampaignDir(directory)

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

        def _json(self, data: Any, code: int = 200) -> None:
            self._send(code, json.dumps(data, default=float).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            try:
                self._get()
            except (BrokenPipeError, ConnectionResetError):
                return
            except ArbkitError as exc:
                self._json({"error": str(exc)}, 503)
            except Exception as exc:  # never leave a request without an answer
                print(f"arbkit campaign dashboard: {self.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._json({"error": f"{self.path}: {type(exc).__name__}: {exc}"}, 500)

        def _get(self) -> None:
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(200, (STATIC / "campaign.html").read_bytes(), "text/html; charset=utf-8")
            elif url.path == "/api/campaign":
                self._json(status_of(d.path))
            elif url.path == "/api/internals":
                run = (parse_qs(url.query).get("run") or [""])[-1]
                path = d.runs_dir / f"{run}.internals.json"
                if not _RUN_ID.match(run) or not path.is_file():
                    self._json({"error": f"no internals for run {run!r}"}, 404)
                else:
                    self._send(200, path.read_bytes(), "application/json")
            elif url.path.startswith("/reports/") and url.path.endswith(".md"):
                run = url.path[len("/reports/"):-3]
                path = d.report(run)
                if not _RUN_ID.match(run) or not path.is_file():
                    self._json({"error": f"no report {url.path}"}, 404)
                else:
                    self._send(200, path.read_bytes(), "text/plain; charset=utf-8")
            else:
                self._json({"error": f"not found: {url.path}"}, 404)

    return Handler


def serve(directory: str | Path, port: int = 8502, host: str = "127.0.0.1", *, background: bool = False
          ) -> ThreadingHTTPServer:
    """Serve the campaign page for ``directory``; with ``background`` in a daemon thread (returns the server)."""
    CampaignDir(directory).require()
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be a whole number from 0 to 65535, got {port!r}")
    try:
        server = ThreadingHTTPServer((host, port), make_handler(Path(directory)))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another with --port") from None
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return server

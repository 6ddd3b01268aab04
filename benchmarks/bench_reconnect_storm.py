"""Recorder against a server that accepts every websocket and closes it at once: connects and REST requests.

``arbkit record`` runs with its default settings (backoff 0.25 s … 30 s reset only after a
healthy connection, Binance REST bucket) for ``--seconds`` against a local server
(``arbkit.live.record.replay_server.ScriptedServer``) that closes each connection right after
the handshake and answers REST depth requests; the server counts both. Counts, not speed.

    python benchmarks/bench_reconnect_storm.py [--seconds 27] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def run(seconds: float) -> dict:
    from arbkit.apps.bench import machine
    from arbkit.live.record.replay_server import ScriptedServer

    with ScriptedServer(lambda n: []) as srv, tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "record", "--venue", "binance-usdm", "--symbols",
                               "BTCUSDT", "--endpoint", srv.url, "--rest", srv.http, "-o", str(Path(tmp) / "rec"),
                               "--duration", str(seconds), "--quiet"], capture_output=True, text=True,
                              env={**os.environ, "CI": "true"})
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise SystemExit(f"arbkit record failed ({proc.returncode}): {proc.stderr[-2000:]}")
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"machine": machine(), "seconds": seconds, "wall_s": round(wall, 2),
                "server_connections": srv.connections, "server_rest_requests": srv.rest_calls,
                "recorder_reconnects": stats["reconnects"], "recorder_rest_requests": stats["rest_requests"]}


def markdown(r: dict) -> str:
    """The report as a markdown paragraph."""
    return (f"Recorder with default settings against a server that closes every connection at once, "
            f"{r['seconds']:g} s: **{r['server_connections']} connections, {r['server_rest_requests']} REST "
            f"snapshot requests** (the recorder counted {r['recorder_reconnects']} reconnects, "
            f"{r['recorder_rest_requests']} REST requests).\n")


def main() -> None:
    from arbkit.apps.bench import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=27.0)
    ap.add_argument("--json", default=str(ROOT / "results" / "reconnect_storm.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "reconnect_storm.md"))
    args = ap.parse_args()
    report = run(args.seconds)
    write_report(report, args.json, args.markdown, markdown(report))


if __name__ == "__main__":
    main()

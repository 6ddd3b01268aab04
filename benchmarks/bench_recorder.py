"""Recorder ingestion: messages/s and events/s from a local websocket server, and memory over the run.

The server (a separate process: ``python -m arbkit.live.record.replay_server``) plays the
bundled real Binance USD-M capture (tests/data/raw, 4,000 frames incl. depth diffs of the
0 ms stream) ``--times`` over with update ids shifted so the diff chain continues, as fast
as it can. The recorder runs in this process with its default flush rotation; every 0.5 s
its resident memory is sampled, to show it stays flat while it records.

    python benchmarks/bench_recorder.py [--times 25] [--json OUT] [--markdown OUT]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CAPTURE = ROOT.parent / "tests" / "data" / "raw" / "binance_usdm_btcusdt_20240808_head4000.txt.gz"


def run(times: int) -> dict:
    from arbkit.apps.bench import machine
    from arbkit.core.terminal import rss_mb
    from arbkit.live.record import Recorder, VenueSpec

    server = subprocess.Popen([sys.executable, "-m", "arbkit.live.record.replay_server", str(CAPTURE), "--times", str(times)],
                              stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            rec = Recorder(Path(tmp) / "rec", [VenueSpec("binance-usdm", ["BTCUSDT"], endpoint=info["url"],
                                                         rest=info["rest"])], status=False)
            samples = []

            async def main() -> dict:
                task = asyncio.create_task(rec.run())
                t_first = None
                while rec.stats.messages < info["frames"] and not task.done():
                    await asyncio.sleep(0.5)
                    samples.append((rec.stats.messages, rss_mb()))
                    if t_first is None and rec.stats.messages:
                        t_first = (time.perf_counter(), rec.stats.messages)
                t_end = time.perf_counter()
                rec.stop()
                stats = await task
                stats["seconds"] = t_end - t_first[0]
                stats["messages_timed"] = rec.stats.messages - t_first[1]
                return stats

            stats = asyncio.run(main())
            events = stats["events"]
    finally:
        server.kill()
    rss = [r for _, r in samples]
    return {"machine": machine(), "frames_served": info["frames"], "messages": stats["messages"], "events": events,
            "seconds": stats["seconds"], "messages_per_s": stats["messages_timed"] / stats["seconds"],
            "events_per_s": events / stats["seconds"] * stats["messages_timed"] / max(stats["messages"], 1),
            "raw_bytes": stats["raw_bytes"], "parts": stats["parts"], "gaps": stats["gaps"],
            "rss_mb": {"first": rss[0], "middle": rss[len(rss) // 2], "last": rss[-1], "peak": max(rss)},
            "rss_samples": samples}


def markdown(r: dict) -> str:
    m = r["machine"]
    return (f"Machine: {m['cpu']}, {m['cores']} cores. Recorder ingesting {r['messages']:,} real Binance USD-M frames "
            f"from a local websocket server (one run): **{r['messages_per_s']:,.0f} messages/s, "
            f"{r['events_per_s']:,.0f} events/s**; {r['events']:,} events in {r['parts']} parts, "
            f"{r['raw_bytes'] / 1e6:,.1f} MB raw log, {r['gaps']} gaps. Resident memory: "
            f"{r['rss_mb']['first']:.0f} MB after the first 0.5 s, {r['rss_mb']['middle']:.0f} MB midway, "
            f"{r['rss_mb']['last']:.0f} MB at the end (peak {r['rss_mb']['peak']:.0f} MB).\n")


def main() -> None:
    from arbkit.apps.bench import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--times", type=int, default=25)
    ap.add_argument("--json", default=str(ROOT / "results" / "recorder.json"))
    ap.add_argument("--markdown", default=str(ROOT / "results" / "recorder.md"))
    args = ap.parse_args()
    report = run(args.times)
    write_report(report, args.json, args.markdown, markdown(report))


if __name__ == "__main__":
    main()

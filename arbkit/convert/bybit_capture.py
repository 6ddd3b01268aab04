"""Convert Bybit v5 order-book captures (``orderbook.N.SYMBOL`` snapshot + delta JSON lines).

Accepts Bybit's public-data ``.data`` dumps and websocket captures alike: one JSON object
a line with ``topic``, ``type`` (snapshot/delta), ``ts`` (ms) and ``data`` {s, b, a, u, seq}.
Lines may be prefixed with a local receive timestamp (``<ts> <json>``); otherwise
``ts_local`` is the message's ``ts`` (or ``cts``). The book rules (``u`` continuity, GAP
and re-sync) and the ``publicTrade`` / ``tickers`` topics are Bybit's normaliser's
(:mod:`arbkit.venues.bybit`), shared with cryptofeed's BYBIT captures and the recorder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from arbkit.convert.files import LocalClock, iter_lines, loads
from arbkit.core.errors import DataError
from arbkit.venues.bybit import CATEGORIES, BybitFeed
from arbkit.venues.common import (NS_PER_MS, ConversionResult, EventSink, InstrumentTable, MalformedMessage,
                                   detect_ts_unit, to_ns)


def convert_bybit(sources: Sequence[str | Path], *, category: str = "linear",
                  instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert Bybit v5 captures of one category into one event table."""
    if category not in CATEGORIES:
        raise DataError(f"category {category!r} is not linear/inverse/spot")
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    feed = BybitFeed(sink, table, category)
    for src in (Path(s) for s in sources):
        clock = LocalClock(src)
        for lineno, line in iter_lines(src):
            prefix, sep, rest = line.partition(" ")
            local = None
            if sep and prefix.isdigit():
                local = to_ns(int(prefix), detect_ts_unit(int(prefix), where=f"{src} line {lineno}"))
                line = rest
            msg = loads(line, path=src, row=lineno)
            if not isinstance(msg, dict) or not str(msg.get("topic", "")).startswith(("orderbook.", "publicTrade.",
                                                                                      "tickers.")):
                sink.count("bybit_messages_ignored")
                continue
            ts_local = local if local is not None else int(msg.get("cts", msg.get("ts", 0))) * NS_PER_MS
            clock.check(ts_local, lineno, None if local is not None else msg["topic"])  # no receive time: the topic's
            try:
                feed.on_frame(ts_local, msg, f"{src} line {lineno}")
            except MalformedMessage as exc:
                raise DataError(str(exc), path=src, row=lineno, field="data") from None
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"malformed Bybit {msg.get('topic')} message ({type(exc).__name__}: {exc})",
                                path=src, row=lineno) from None
    report = {"format": "bybit", "symbols": {sym: {"snapshots": y.snapshots, "deltas": y.deltas, "gaps": y.gaps}
                                             for (_, sym), y in feed.syncs.items()},
              "counters": sink.counters, "warnings": sink.warnings}
    return ConversionResult(events=sink.columns(), instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])

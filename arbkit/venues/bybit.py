"""Bybit v5 order books: the snapshot/delta stream with its ``u`` continuity rule, for converters and the recorder."""
from __future__ import annotations

from typing import Any

from arbkit.core.schema import ASK, BID, Kind
from arbkit.venues.common import NS_PER_MS, EventSink


class BybitBookSync:
    """One Bybit symbol's snapshot/delta stream to schema rows with the ``u`` continuity check."""

    def __init__(self, sink: EventSink, asset: int, symbol: str) -> None:
        self.sink, self.asset, self.symbol = sink, asset, symbol
        self.last_u: int | None = None
        self.synced = False
        self.snapshots = self.deltas = self.gaps = 0

    def on_message(self, ts_local: int, msg: dict[str, Any], where: str) -> None:
        """One ``orderbook`` message: snapshot, delta, or a GAP on a broken ``u`` chain."""
        data = msg["data"]
        ts_exch = int(msg.get("ts", 0)) * NS_PER_MS or ts_local
        u = int(data.get("u", -1))
        if msg.get("type") == "snapshot" or u == 1:
            self.sink.emit_snapshot(ts_exch, ts_local, self.asset, data.get("b", ()), data.get("a", ()), u,
                                    where=where)
            self.synced, self.last_u = True, u
            self.snapshots += 1
            return
        if not self.synced:
            self.sink.count("bybit_deltas_before_snapshot")
            return
        if self.last_u is not None and u != self.last_u + 1:
            self.sink.emit_gap(ts_exch, ts_local, self.asset, u)
            self.sink.warn(f"{where}: {self.symbol}: update id {u} does not follow {self.last_u}; GAP until the "
                           f"next snapshot")
            self.synced = False
            self.gaps += 1
            return
        self.sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, BID, data.get("b", ()), u, where=where)
        self.sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, ASK, data.get("a", ()), u, where=where)
        self.last_u = u
        self.deltas += 1

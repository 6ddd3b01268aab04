"""OKX order books: instrument metadata, the CRC32 checksum of the top 25 levels, and the book/trade/ticker
messages to schema rows (used by the cryptofeed converter and the live recorder)."""
from __future__ import annotations

import zlib
from typing import Any

from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.common import NS_PER_MS, ChecksummedBooks


def okx_meta(inst: str) -> dict[str, Any]:
    """Contract type, quote currency and size of an OKX instrument id."""
    parts = inst.split("-")
    if inst.endswith("-SWAP"):
        inverse = parts[1] == "USD"
        return {"contract_type": "inverse_perp" if inverse else "linear_perp", "quote_currency": parts[1]}
    if len(parts) == 3 and parts[2].isdigit():
        inverse = parts[1] == "USD"
        return {"contract_type": "inverse_future" if inverse else "linear_future", "quote_currency": parts[1]}
    return {"contract_type": "spot", "quote_currency": parts[-1]}


def okx_checksum(bids: dict[float, tuple[str, str]], asks: dict[float, tuple[str, str]]) -> int:
    """OKX's signed CRC32 over 'bidPx:bidSz:askPx:askSz:...' of the best 25 levels a side."""
    b = [bids[p] for p in sorted(bids, reverse=True)[:25]]
    a = [asks[p] for p in sorted(asks)[:25]]
    parts: list[str] = []
    for i in range(max(len(b), len(a))):
        if i < len(b):
            parts.extend(b[i])
        if i < len(a):
            parts.extend(a[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class OkxBooks(ChecksummedBooks):
    """OKX `books` (with CRC32 checksum), `trades` and `tickers` messages to schema rows; also used live."""

    venue = "OKX"

    def recv(self, ts: int, msg: Any, where: str) -> None:
        """One OKX websocket message (books, trades, tickers) to schema rows."""
        if not isinstance(msg, dict) or "data" not in msg or "arg" not in msg:
            self.sink.count("cryptofeed_messages_ignored")
            return
        channel, inst = msg["arg"].get("channel"), msg["arg"].get("instId")
        asset = self.table.asset("okx", inst, **okx_meta(inst))
        st = self._stats(inst)
        if channel == "books":
            for d in msg["data"]:
                ts_exch = int(d.get("ts", 0)) * NS_PER_MS or ts
                if msg.get("action") == "snapshot":
                    self.books[inst] = ({}, {})
                    self.synced[inst] = True
                    self.sink.emit_clear(ts_exch, ts, asset)
                    kind = Kind.SNAPSHOT
                    st["snapshots"] += 1
                elif not self.synced.get(inst):
                    self.sink.count("okx_updates_while_unsynced")
                    continue
                else:
                    kind = Kind.DEPTH
                    st["updates"] += 1
                bids, asks = self.books[inst]
                for side, key, book in ((BID, "bids", bids), (ASK, "asks", asks)):
                    levels = d.get(key, [])
                    self.sink.emit_levels(ts_exch, ts, asset, kind, side, levels, -1, where=where)
                    self._apply_levels(book, levels)
                if "checksum" in d:
                    self._checksum(inst, asset, okx_checksum(bids, asks) == int(d["checksum"]), ts_exch, ts, where)
        elif channel == "trades":
            for t in msg["data"]:
                side = BUY if t["side"] == "buy" else SELL
                self.sink.emit_trade(int(t["ts"]) * NS_PER_MS, ts, asset, side, t["px"], t["sz"],
                                     int(t["tradeId"]) if str(t["tradeId"]).isdigit() else -1, where=where)
        elif channel == "tickers":
            for t in msg["data"]:
                if t.get("bidPx") and t.get("askPx"):
                    self.sink.emit_bbo(int(t["ts"]) * NS_PER_MS, ts, asset, t["bidPx"], t["bidSz"], t["askPx"],
                                       t["askSz"], -1, where=where)
        else:
            self.sink.count("cryptofeed_messages_ignored")

"""Upbit websocket (SIMPLE format): ``orderbook`` (every message a full image of the top levels) and ``trade``.

No sequence or checksum is sent for the book; each message replaces the book, so a lost
message costs nothing but its own update. Trades carry ``sid`` (kept as ``seq``).
"""
from __future__ import annotations

from typing import Any

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import VenueFeed

VENUE = "upbit"


class UpbitFeed(VenueFeed):
    """Upbit SIMPLE-format frames to schema rows."""

    venue = VENUE
    book_model = "image per message"
    parse_float = str  # Upbit sends JSON numbers: keep their digits (tick inference)

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the market code (QUOTE-BASE), list fees."""
        return {"contract_type": "spot", "quote_currency": symbol.split("-")[0], "maker_fee_bps": 5.0,
                "taker_fee_bps": 5.0}

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One SIMPLE-format frame (``ty`` orderbook or trade)."""
        if not isinstance(msg, dict) or "ty" not in msg:
            self.ignore()
            return
        code = msg["cd"]
        ts_exch = int(msg.get("tms", 0)) * NS_PER_MS or ts
        if msg["ty"] == "orderbook":
            units = msg["obu"]
            bids = [(u["bp"], u["bs"]) for u in units if float(u.get("bs") or 0) > 0]
            asks = [(u["ap"], u["as"]) for u in units if float(u.get("as") or 0) > 0]
            self.book(code).snapshot(ts_exch, ts, bids, asks, where=where)
        elif msg["ty"] == "trade":
            side = SELL if msg["ab"] == "ASK" else BUY
            self.sink.emit_trade(int(msg.get("ttms", msg.get("tms"))) * NS_PER_MS, ts, self.asset(code), side,
                                 msg["tp"], msg["tv"], int(msg.get("sid", -1)), where=where)
        else:
            self.ignore()

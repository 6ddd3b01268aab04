"""Gemini market data v2 (``l2`` subscription): ``l2_updates``, ``trade``, ``heartbeat``.

Book model (Gemini docs, "Market Data v2"): the first ``l2_updates`` of a symbol on a
connection is the whole book (with the recent trades, which are history and not written);
later ones change levels (quantity 0 removes). v2 sends neither sequence numbers nor
checksums, so a lost update cannot be detected. ``/v1/symbols/details/*`` gives the price
tick (``quote_increment``) and lot (``tick_size``, the base increment in Gemini's naming).
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS, EventSink, InstrumentTable
from arbkit.venues.feed import VenueFeed

VENUE = "gemini"


class GeminiFeed(VenueFeed):
    """Gemini v2 frames to schema rows."""

    venue = VENUE
    check_note = "v2 sends no sequence or checksum: a lost update cannot be detected"

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        super().__init__(sink, table)
        self.imaged: set[tuple[str, str]] = set()

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot or (``...PERP``) a linear perpetual; list fees."""
        perp = symbol.endswith("PERP")
        return {"contract_type": "linear_perp" if perp else "spot", "maker_fee_bps": 20.0, "taker_fee_bps": 40.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/v1/symbols/details/<symbol>``: price tick and lot of one symbol."""
        if "/symbols/details/" not in path or not isinstance(data, dict) or "symbol" not in data:
            return ()
        swap = data.get("product_type") == "swap"
        return [(VENUE, data["symbol"], {
            "tick_size": float(data["quote_increment"]) if data.get("quote_increment") else None,
            "lot_size": float(data["tick_size"]) if data.get("tick_size") else None,
            "contract_type": ("linear_perp" if data.get("contract_type") != "inverse" else "inverse_perp") if swap
            else "spot",
            "quote_currency": data.get("quote_currency") or None})]

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v2 frame."""
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "l2_updates":
            sym = msg["symbol"]
            bids = [(p, q) for s, p, q in msg["changes"] if s == "buy"]
            asks = [(p, q) for s, p, q in msg["changes"] if s == "sell"]
            book = self.book(sym)
            if (conn, sym) not in self.imaged:
                self.imaged.add((conn, sym))
                book.snapshot(ts, ts, [lv for lv in bids if float(lv[1]) > 0], [lv for lv in asks if float(lv[1]) > 0],
                              where=where)
                self.skip_history(len(msg.get("trades", ())))
            else:
                book.update(ts, ts, bids, asks, where=where)
        elif kind == "trade":
            side = BUY if msg["side"] == "buy" else SELL
            self.sink.emit_trade(int(msg["timestamp"]) * NS_PER_MS, ts, self.asset(msg["symbol"]), side, msg["price"],
                                 msg["quantity"], int(msg.get("tid", -1)), where=where)
        else:
            self.ignore()  # heartbeats, subscription acks

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection sends every book whole again."""
        super().connected(ts, conn)
        self.imaged = {k for k in self.imaged if k[0] != conn}

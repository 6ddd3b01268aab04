"""Crypto.com Exchange websocket v2 (market data): ``book.{instrument}.{depth}``, ``trade.*``, ``ticker.*``.

Book model (v2 docs, "book.{instrument_name}"): every message is a full image of the
top ``depth`` levels, so each replaces the book; no sequence numbers or checksums are sent
on this channel (a lost message costs only its own update). The first ``trade`` message
of an instrument on a connection replays recent trades (history: not written). Tickers
carry no sizes (no BBO rows). ``public/get-instruments`` gives the tick (``price_decimals``)
and lot (``quantity_decimals``).
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS, EventSink, InstrumentTable
from arbkit.venues.feed import VenueFeed

VENUE = "cryptocom"


class CryptoComFeed(VenueFeed):
    """Crypto.com v2 market-data frames to schema rows."""

    venue = VENUE
    book_model = "image per message"
    parse_float = str

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        super().__init__(sink, table)
        self.trades_seen: set[tuple[str, str]] = set()

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the instrument name, list fees."""
        return {"contract_type": "spot", "quote_currency": symbol.rsplit("_", 1)[-1], "maker_fee_bps": 40.0,
                "taker_fee_bps": 40.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``get-instruments``: tick and lot from the decimals."""
        if not path.endswith("/get-instruments") or not isinstance(data, dict):
            return ()
        out = []
        for d in (data.get("result") or {}).get("instruments", ()):
            if "instrument_name" in d and "price_decimals" in d:
                pd, qd = int(d["price_decimals"]), int(d.get("quantity_decimals", 0))
                out.append((VENUE, d["instrument_name"], {"tick_size": round(10.0 ** -pd, pd),
                                                          "lot_size": round(10.0 ** -qd, qd), "contract_type": "spot",
                                                          "quote_currency": d.get("quote_currency") or None}))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v2 frame (``result`` {instrument_name, channel, data})."""
        res = msg.get("result") if isinstance(msg, dict) else None
        if not isinstance(res, dict) or "channel" not in res:
            self.ignore()  # acks, heartbeats
            return
        inst, channel = res["instrument_name"], res["channel"]
        if channel == "book":
            book = self.book(inst)
            for d in res["data"]:
                book.snapshot(int(d["t"]) * NS_PER_MS, ts, [lv[:2] for lv in d["bids"]], [lv[:2] for lv in d["asks"]],
                              where=where)
        elif channel == "trade":
            if (conn, inst) not in self.trades_seen:
                self.trades_seen.add((conn, inst))
                self.skip_history(len(res["data"]))
                return
            asset = self.asset(inst)
            for t in sorted(res["data"], key=lambda t: int(t["t"])):
                side = BUY if t["s"] == "BUY" else SELL
                self.sink.emit_trade(int(t["t"]) * NS_PER_MS, ts, asset, side, t["p"], t["q"], int(t["d"]), where=where)
        else:
            self.ignore()

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection replays recent trades again."""
        super().connected(ts, conn)
        self.trades_seen = {k for k in self.trades_seen if k[0] != conn}

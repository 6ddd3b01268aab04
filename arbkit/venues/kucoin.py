"""KuCoin spot websocket: ``/market/level2`` on top of a REST image, ``/market/match``, ``/market/ticker``.

Book rule (KuCoin docs, "Level-2 Market Data"): updates are cached until the REST
``/market/orderbook/level2`` image (its ``sequence`` S) arrives; updates with
``sequenceEnd`` <= S are dropped, and of the others only changes whose own sequence is
above the book's are applied; each update must continue the previous one
(``sequenceStart`` <= previous ``sequenceEnd`` + 1), else the book is a GAP until a new
REST image. A change with price "0" only advances the sequence. No checksum. Tickers give
the best bid / ask with sizes (BBO rows); matches are the trades. ``/api/v1/symbols``
gives tick (``priceIncrement``) and lot (``baseIncrement``).
"""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import parse_qs, urlparse

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import L2Book, VenueFeed

VENUE = "kucoin"
MAX_BUFFERED = 100_000


class KucoinFeed(VenueFeed):
    """KuCoin spot frames and REST images to schema rows."""

    venue = VENUE
    sequence = "checked"
    book_model = "REST snapshot+delta"

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the symbol, list fees."""
        return {"contract_type": "spot", "quote_currency": symbol.rsplit("-", 1)[-1], "maker_fee_bps": 10.0,
                "taker_fee_bps": 10.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/api/v1/symbols``: tick and lot of every symbol."""
        if not path.endswith("/symbols") or not isinstance(data, dict) or not isinstance(data.get("data"), list):
            return ()
        return [(VENUE, d["symbol"], {"tick_size": float(d["priceIncrement"]) if d.get("priceIncrement") else None,
                                      "lot_size": float(d["baseIncrement"]) if d.get("baseIncrement") else None,
                                      "contract_type": "spot", "quote_currency": d.get("quoteCurrency") or None})
                for d in data["data"] if isinstance(d, dict) and "symbol" in d]

    def on_rest(self, ts: int, url: str, data: Any, where: str) -> None:
        """A REST level-2 image syncs its book; cached updates after it are replayed."""
        u = urlparse(url)
        if "/orderbook/level2" not in u.path or not isinstance(data, dict):
            return
        symbol = parse_qs(u.query).get("symbol", [None])[0]
        d = data.get("data") or {}
        if symbol is None or "sequence" not in d:
            return
        book = self.book(symbol)
        seq = int(d["sequence"])
        book.snapshot(int(d.get("time") or 0) * NS_PER_MS or ts, ts, d.get("bids") or [], d.get("asks") or [], seq,
                      where=where)
        book.last_seq = seq
        pending, book.buffer = book.buffer, []
        for t, m, w in pending:
            self._update(ts, book, m, w)

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One ``message`` frame (welcome, ack and pong frames are counted)."""
        if not isinstance(msg, dict) or msg.get("type") != "message":
            self.ignore()
            return
        subject, d = msg.get("subject"), msg["data"]
        if subject == "trade.l2update":
            book = self.book(d["symbol"])
            if book.last_seq is None:
                if len(book.buffer) >= MAX_BUFFERED:
                    book.buffer.pop(0)
                book.buffer.append((ts, d, where))
                return
            self._update(ts, book, d, where)
        elif subject == "trade.l3match":
            side = BUY if d["side"] == "buy" else SELL
            self.sink.emit_trade(int(d["time"]), ts, self.asset(d["symbol"]), side, d["price"], d["size"],
                                 int(d.get("sequence", -1)), where=where)
        elif subject == "trade.ticker":
            sym = msg["topic"].rsplit(":", 1)[-1]
            if d.get("bestBid") and d.get("bestAsk"):
                self.sink.emit_bbo(int(d.get("time") or 0) * NS_PER_MS or ts, ts, self.asset(sym), d["bestBid"],
                                   d["bestBidSize"], d["bestAsk"], d["bestAskSize"], int(d.get("sequence", -1)),
                                   where=where)
        else:
            self.ignore()

    def _update(self, ts: int, book: L2Book, d: dict[str, Any], where: str) -> None:
        if not book.synced:
            book.ignored += 1
            return
        start, end = int(d["sequenceStart"]), int(d["sequenceEnd"])
        if end <= book.last_seq:
            self.sink.count("kucoin_stale_updates_dropped")
            return
        if not book.check_sequence(start <= book.last_seq + 1, ts, ts,
                                   f"sequenceStart {start} after sequenceEnd {book.last_seq}", where, end):
            return
        changes = d.get("changes") or {}
        bids = [(p, q) for p, q, s in changes.get("bids", ()) if float(p) > 0 and int(s) > book.last_seq]
        asks = [(p, q) for p, q, s in changes.get("asks", ()) if float(p) > 0 and int(s) > book.last_seq]
        if bids or asks:
            book.update(ts, ts, bids, asks, end, where=where)
        book.last_seq = end

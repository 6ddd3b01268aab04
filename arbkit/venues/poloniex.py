"""Poloniex spot websocket (v3 API): ``book_lv2`` (snapshot + update) and ``trades``.

Book rule (Poloniex docs, "Book Level 2"): the ``snapshot`` images the book with its
``id``; each ``update`` carries ``lastId``, which must equal the previous message's ``id``,
else the book is a GAP until a new snapshot (re-subscription). No checksum. ``/markets``
gives tick (``priceScale``) and lot (``quantityScale``) decimals.
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import VenueFeed

VENUE = "poloniex"


class PoloniexFeed(VenueFeed):
    """Poloniex v3 frames to schema rows."""

    venue = VENUE
    sequence = "checked"

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the symbol (BASE_QUOTE), list fees."""
        return {"contract_type": "spot", "quote_currency": symbol.rsplit("_", 1)[-1], "maker_fee_bps": 14.5,
                "taker_fee_bps": 15.5}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/markets``: tick and lot decimals of every symbol."""
        if not path.endswith("/markets") or not isinstance(data, list):
            return ()
        out = []
        for d in data:
            lim = d.get("symbolTradeLimit") or {} if isinstance(d, dict) else {}
            if "symbol" in d and "priceScale" in lim:
                ps, qs = int(lim["priceScale"]), int(lim.get("quantityScale", 0))
                out.append((VENUE, d["symbol"], {"tick_size": round(10.0 ** -ps, ps), "lot_size": round(10.0 ** -qs, qs),
                                                 "contract_type": "spot",
                                                 "quote_currency": d.get("quoteCurrencyName") or None}))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v3 frame (``channel`` book_lv2 / trades; subscribe acks and pongs counted)."""
        if not isinstance(msg, dict) or "data" not in msg:
            self.ignore()
            return
        channel = msg.get("channel")
        if channel == "book_lv2":
            for d in msg["data"]:
                self._book(ts, d, msg.get("action"), where)
        elif channel == "trades":
            for t in msg["data"]:
                side = BUY if t["takerSide"] == "buy" else SELL
                self.sink.emit_trade(int(t["createTime"]) * NS_PER_MS, ts, self.asset(t["symbol"]), side, t["price"],
                                     t["quantity"], int(t["id"]), where=where)
        else:
            self.ignore()

    def _book(self, ts: int, d: dict[str, Any], action: str | None, where: str) -> None:
        book = self.book(d["symbol"])
        ts_exch = int(d.get("ts") or d.get("createTime") or 0) * NS_PER_MS or ts
        seq = int(d["id"])
        if action == "snapshot":
            book.snapshot(ts_exch, ts, d.get("bids", []), d.get("asks", []), seq, where=where)
            book.last_seq = seq
            return
        if not book.synced:
            book.ignored += 1
            return
        last = int(d["lastId"])
        if book.check_sequence(last == book.last_seq, ts_exch, ts, f"lastId {last} is not the previous id "
                               f"{book.last_seq}", where, seq):
            book.update(ts_exch, ts, d.get("bids", []), d.get("asks", []), seq, where=where)
            book.last_seq = seq

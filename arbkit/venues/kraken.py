"""Kraken spot websocket v1: ``book-N`` (snapshot + updates with CRC32 checksum), ``trade``, ``ticker``.

Book rule (Kraken docs, "Book checksum", v1): after each update the CRC32 of the best 10
asks then the best 10 bids, each price and volume string with the '.' and leading zeros
removed, concatenated, must equal the update's ``c``; a mismatch is a GAP until the next
snapshot (live: a new subscription on a new connection). The book is kept at the
subscribed depth: a level pushed past it is removed (a DEPTH row with qty 0), as the docs
require. v1 has no sequence numbers. ``ticker`` gives the best bid / ask with their lot
volumes (BBO rows). ``/0/public/AssetPairs`` gives the tick (``pair_decimals``), lot
(``lot_decimals``) and lowest-tier fees.

The recorder uses v1 because the captures here are v1 (its normaliser is tested on real
frames); v2 sends other shapes (and a checksum over other strings) that no capture here holds.
"""
from __future__ import annotations

import json
import zlib
from typing import Any, Iterable

from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.adapter import FeedAdapter
from arbkit.venues.common import EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import L2Book, VenueFeed, ns_from_s

VENUE = "kraken"


def kraken_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """Kraken's CRC32 of the best 10 asks then the best 10 bids (best first), '.' and leading zeros removed."""
    def part(text: str) -> str:
        return text.replace(".", "").lstrip("0")
    out = [part(p) + part(q) for p, q in asks[:10]] + [part(p) + part(q) for p, q in bids[:10]]
    return zlib.crc32("".join(out).encode())


class KrakenFeed(VenueFeed):
    """Kraken v1 frames (``[channelID, data..., channelName, pair]``) to schema rows."""

    venue = VENUE
    checksum = "checked"
    keep_levels = True

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the pair name, list fees (lowest tier)."""
        return {"contract_type": "spot", "quote_currency": symbol.split("/")[-1], "maker_fee_bps": 25.0,
                "taker_fee_bps": 40.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``AssetPairs``: tick and lot from the decimals, fees from the first tier, keyed by websocket name."""
        if not path.endswith("/AssetPairs") or not isinstance(data, dict):
            return ()
        out = []
        for p in (data.get("result") or {}).values():
            if not isinstance(p, dict) or not p.get("wsname"):
                continue
            meta: dict[str, Any] = {"contract_type": "spot"}
            if "pair_decimals" in p:
                meta["tick_size"] = round(10.0 ** -int(p["pair_decimals"]), int(p["pair_decimals"]))
            if "lot_decimals" in p:
                meta["lot_size"] = round(10.0 ** -int(p["lot_decimals"]), int(p["lot_decimals"]))
            if p.get("fees"):
                meta["taker_fee_bps"] = float(p["fees"][0][1]) * 100.0
            if p.get("fees_maker"):
                meta["maker_fee_bps"] = float(p["fees_maker"][0][1]) * 100.0
            out.append((VENUE, p["wsname"], meta))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One Kraken v1 frame."""
        if not (isinstance(msg, list) and len(msg) >= 4 and isinstance(msg[-2], str)):
            self.ignore()  # systemStatus, subscriptionStatus, heartbeat
            return
        channel, pair = msg[-2], msg[-1]
        if channel.startswith("book-"):
            self._book(ts, msg, int(channel.split("-")[1]), pair, where)
        elif channel == "trade":
            asset = self.asset(pair)
            for t in msg[1]:
                side = BUY if t[3] == "b" else SELL
                self.sink.emit_trade(ns_from_s(t[2]), ts, asset, side, t[0], t[1], -1, where=where)
        elif channel == "ticker":
            d = msg[1]
            if d.get("a") and d.get("b"):
                self.sink.emit_bbo(ts, ts, self.asset(pair), d["b"][0], d["b"][2], d["a"][0], d["a"][2], -1,
                                   where=where)
        else:
            self.ignore()

    def _book(self, ts: int, msg: list, depth: int, pair: str, where: str) -> None:
        book = self.book(pair)
        parts = [m for m in msg[1:-2] if isinstance(m, dict)]
        if any("as" in m or "bs" in m for m in parts):
            d = parts[0]
            levels = d.get("as", []) + d.get("bs", [])
            ts_exch = max((ns_from_s(lv[2]) for lv in levels), default=ts)
            book.snapshot(ts_exch, ts, [lv[:2] for lv in d.get("bs", [])], [lv[:2] for lv in d.get("as", [])],
                          where=where)
            return
        if not book.synced:
            book.ignored += 1
            return
        checksum = None
        for m in parts:
            for side, key in ((BID, "b"), (ASK, "a")):
                levels = m.get(key, [])
                if not levels:
                    continue
                ts_exch = max(ns_from_s(lv[2]) for lv in levels)
                rows = [lv[:2] for lv in levels]
                book.update(ts_exch, ts, rows if side == BID else [], rows if side == ASK else [], where=where)
                self._truncate(book, side, depth, ts_exch, ts)
            checksum = m.get("c", checksum)
        if checksum is not None:
            ok = kraken_checksum(book.best(BID, 10), book.best(ASK, 10)) == int(checksum)
            book.check_checksum(ok, ts, ts, where)

    def _truncate(self, book: L2Book, side: int, depth: int, ts_exch: int, ts: int) -> None:
        levels = book.bids if side == BID else book.asks
        excess = sorted(levels, reverse=(side == ASK))[: max(0, len(levels) - depth)]
        for p in excess:  # worst levels beyond the subscribed depth leave the book
            self.sink.emit(ts_exch, ts, book.asset, Kind.DEPTH, side, p, 0.0, -1)
            del levels[p]


class KrakenAdapter(FeedAdapter):
    """Kraken spot v1 public websocket: ``book`` (depth 1000 by default), ``trade``, ``ticker``."""

    venue = VENUE
    STREAMS = "wss://ws.kraken.com"
    heartbeat = (20.0, json.dumps({"event": "ping"}))

    def __init__(self, *args: Any, depth: int = 1000, **kw: Any) -> None:
        self.depth = depth
        super().__init__(*args, **kw)

    def make_feed(self, sink: EventSink, table: InstrumentTable) -> KrakenFeed:
        """The Kraken normaliser."""
        return KrakenFeed(sink, table)

    def accept(self, msg: Any) -> bool:
        """Channel messages of pairs not subscribed are malformed (events: status, heartbeats go to the feed)."""
        if isinstance(msg, list) and len(msg) >= 4 and msg[-1] not in self.assets:
            raise MalformedMessage(f"message for an unsubscribed pair {msg[-1]!r}")
        return True

    def subscriptions(self) -> list[str]:
        """One subscribe frame per channel for all pairs."""
        subs = {"depth": {"name": "book", "depth": self.depth}, "trades": {"name": "trade"}, "bbo": {"name": "ticker"}}
        return [json.dumps({"event": "subscribe", "pair": self.symbols, "subscription": subs[c]})
                for c in self.channels if c in subs]

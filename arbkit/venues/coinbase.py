"""Coinbase Advanced Trade market data: ``level2`` (``l2_data`` snapshot / update), ``market_trades``, ``ticker``.

Book rule (Advanced Trade websocket docs, "Sequence numbers"): every message of a
connection, whatever its channel, carries ``sequence_num`` one above the previous one; a
jump means messages were lost, so every book of the connection is a GAP until its next
``snapshot`` (live: a new connection, on which Coinbase sends one). There is no checksum.
``market_trades`` snapshots (the trades before the subscription) are not written.
``ticker`` updates give the best bid / ask with sizes (BBO rows). ``/products`` responses
give the tick (``price_increment``) and lot (``base_increment``).
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.adapter import FeedAdapter
from arbkit.venues.common import EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import VenueFeed

VENUE = "coinbase"


def iso_ns(text: str) -> int:
    """'2026-08-09T21:05:48.228568804Z' -> ns since epoch (digits below the µs kept)."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = int(datetime.fromisoformat(head + "+00:00").timestamp()) * 1_000_000_000
    return base + int((frac + "000000000")[:9]) if frac else base


class CoinbaseFeed(VenueFeed):
    """Coinbase Advanced Trade frames to schema rows, ``sequence_num`` checked per connection."""

    venue = VENUE
    sequence = "checked"
    check_note = "sequence_num is per connection (all channels): a jump gaps every book of the connection"

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        super().__init__(sink, table)
        self.last_seq: dict[str, int] = {}
        self.sequence_gaps = 0

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the product id, list fees (lowest tier)."""
        return {"contract_type": "spot", "quote_currency": symbol.split("-")[-1], "maker_fee_bps": 40.0,
                "taker_fee_bps": 60.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/products``: tick (``price_increment``) and lot (``base_increment``) of every product."""
        if not path.endswith("/products") or not isinstance(data, dict):
            return ()
        out = []
        for p in data.get("products", ()):
            if not isinstance(p, dict) or "product_id" not in p:
                continue
            tick = p.get("price_increment") or p.get("quote_increment")
            meta = {"tick_size": float(tick) if tick else None,
                    "lot_size": float(p["base_increment"]) if p.get("base_increment") else None,
                    "quote_currency": p.get("quote_currency_id") or None}
            if p.get("product_type", "SPOT") == "SPOT":
                meta["contract_type"] = "spot"
            out.append((VENUE, p["product_id"], meta))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One Advanced Trade frame."""
        if not isinstance(msg, dict) or "channel" not in msg:
            self.ignore()
            return
        seq = msg.get("sequence_num")
        checked = False
        if seq is not None:
            prev = self.last_seq.get(conn)
            if prev is not None and seq != prev + 1:
                self.sequence_gaps += 1
                for b in self.books.values():
                    if b.synced:
                        b.checks.sequence_mismatches += 1
                        b.gap(ts, ts, f"sequence_num {seq} after {prev}", where, int(seq))
            checked = prev is not None
            self.last_seq[conn] = seq
        channel = msg["channel"]
        ts_msg = iso_ns(msg["timestamp"]) if "timestamp" in msg else ts
        for ev in msg.get("events", []):
            if channel == "l2_data":
                book = self.book(ev["product_id"])
                if checked:
                    book.checks.sequence_checks += 1
                side = {"bid": [], "offer": []}
                for u in ev["updates"]:
                    side[u["side"]].append((u["price_level"], u["new_quantity"]))
                s = int(seq) if seq is not None else -1
                if ev["type"] == "snapshot":
                    book.snapshot(ts_msg, ts, side["bid"], side["offer"], s, where=where)
                else:
                    book.update(ts_msg, ts, side["bid"], side["offer"], s, where=where)
            elif channel == "market_trades":
                if ev.get("type") != "update":
                    self.skip_history(len(ev.get("trades", ())))
                    continue
                for t in ev["trades"]:
                    side = BUY if t["side"] == "BUY" else SELL
                    self.sink.emit_trade(iso_ns(t["time"]), ts, self.asset(t["product_id"]), side, t["price"],
                                         t["size"], int(t["trade_id"]) if str(t["trade_id"]).isdigit() else -1,
                                         where=where)
            elif channel == "ticker":
                for t in ev.get("tickers", ()):
                    if t.get("best_bid") and t.get("best_ask") and "best_bid_quantity" in t:
                        self.sink.emit_bbo(ts_msg, ts, self.asset(t["product_id"]), t["best_bid"],
                                           t["best_bid_quantity"], t["best_ask"], t["best_ask_quantity"], -1,
                                           where=where)
            else:
                self.ignore()

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection starts its own sequence."""
        super().connected(ts, conn)
        self.last_seq.pop(conn, None)

    def report(self) -> dict[str, Any]:
        """Per product: counters and checks; the connection's sequence breaks."""
        return {**super().report(), "sequence_gaps": self.sequence_gaps}


class CoinbaseAdapter(FeedAdapter):
    """Coinbase Advanced Trade public websocket: ``level2``, ``market_trades``, ``ticker`` and ``heartbeats``
    (the heartbeats keep sequence numbers flowing on quiet books)."""

    venue = VENUE
    STREAMS = "wss://advanced-trade-ws.coinbase.com"

    def make_feed(self, sink: EventSink, table: InstrumentTable) -> CoinbaseFeed:
        """The Coinbase normaliser."""
        return CoinbaseFeed(sink, table)

    def accept(self, msg: Any) -> bool:
        """Frames about products not subscribed are malformed."""
        for ev in msg.get("events", ()) if isinstance(msg, dict) else ():
            if not isinstance(ev, dict):
                continue
            products = [ev.get("product_id")] + [x.get("product_id") for k in ("trades", "tickers")
                                                 for x in ev.get(k, ()) if isinstance(x, dict)]
            bad = [p for p in products if p is not None and p not in self.assets]
            if bad:
                raise MalformedMessage(f"message for an unsubscribed product {bad[0]!r}")
        return True

    def subscriptions(self) -> list[str]:
        """One subscribe frame per channel (Advanced Trade takes one channel a frame)."""
        names = {"depth": "level2", "trades": "market_trades", "bbo": "ticker"}
        chans = [names[c] for c in self.channels if c in names] + ["heartbeats"]
        return [json.dumps({"type": "subscribe", "product_ids": self.symbols, "channel": c}) for c in chans]

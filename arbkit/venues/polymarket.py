"""Polymarket CLOB market channel (live): ``book`` images, ``price_change`` level updates, trades.

Polymarket sends no sequence numbers or checksums: a disconnect is a GAP until the next
``book`` message. Each outcome token (Up / Down) is a ``binary_outcome`` instrument.
"""
from __future__ import annotations

import json
from typing import Any

from arbkit.core.errors import DataError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.adapter import Adapter, MalformedMessage, parse_json
from arbkit.venues.common import NS_PER_MS


class PolymarketAdapter(Adapter):
    """Polymarket CLOB market channel: ``book`` (full image), ``price_change`` (level updates),
    ``last_trade_price``; each token (Up / Down) a ``binary_outcome`` instrument.

    Symbols are token ids, optionally named: ``SOL-UP=<token id>``. Polymarket sends no
    sequence numbers; a disconnect is a GAP until the next ``book`` message.
    """

    venue = "polymarket"
    STREAMS = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    heartbeat = (10.0, "PING")

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.tokens: dict[str, str] = {}
        super().__init__(*args, **kw)
        self.has_book: dict[str, bool] = {t: False for t in self.tokens}

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        name, _, token = symbol.partition("=")
        token = token or name
        self.tokens[token] = name
        return self.table.asset("polymarket", name, contract_type="binary_outcome", quote_currency="USDC",
                                maker_fee_bps=0.0, taker_fee_bps=0.0, extra={"token_id": token})

    def _asset(self, token: Any) -> int:
        name = self.tokens.get(str(token))
        if name is None:
            raise MalformedMessage(f"message for an unsubscribed token {token!r}")
        return self.table.asset("polymarket", name)

    def url(self) -> str:
        """This venue's websocket URL (the configured endpoint, else the public one)."""
        return self.endpoint or self.STREAMS

    def subscriptions(self) -> list[str]:
        """This venue's subscribe frames for the symbols and channels."""
        return [json.dumps({"assets_ids": list(self.tokens), "type": "market"})]

    def on_connect(self, ts: int) -> None:
        """A new connection: fresh book syncs (each waits for its next image)."""
        self.has_book = {t: False for t in self.tokens}

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame of this venue (see the class doc)."""
        if text.strip() in ("PONG", "PING"):
            return
        msg = parse_json(text)
        for ev in msg if isinstance(msg, list) else [msg]:
            if not isinstance(ev, dict):
                raise MalformedMessage("event is not a JSON object")
            try:
                self._event(ts, ev, where)
            except (KeyError, TypeError, ValueError, DataError) as exc:
                raise MalformedMessage(f"polymarket {ev.get('event_type')}: {exc}") from None

    def _event(self, ts: int, ev: dict[str, Any], where: str) -> None:
        kind = ev.get("event_type")
        ts_exch = int(ev.get("timestamp", 0)) * NS_PER_MS or ts
        if kind == "book":
            token = str(ev["asset_id"])
            a = self._asset(token)
            self.sink.emit_snapshot(ts_exch, ts, a, [(x["price"], x["size"]) for x in ev.get("bids", ())],
                                    [(x["price"], x["size"]) for x in ev.get("asks", ())], -1, where=where)
            self.has_book[token] = True
        elif kind == "price_change":
            changes = ev.get("price_changes")
            if changes is None:  # the older shape: one asset_id, "changes"
                changes = [{**c, "asset_id": ev["asset_id"]} for c in ev.get("changes", ())]
            for ch in changes:
                token = str(ch["asset_id"])
                a = self._asset(token)
                if not self.has_book.get(token):
                    self.sink.count("polymarket_changes_before_book")
                    continue
                side = BID if str(ch["side"]).upper() == "BUY" else ASK
                self.sink.emit_levels(ts_exch, ts, a, Kind.DEPTH, side, [(ch["price"], ch["size"])], -1, where=where)
        elif kind == "last_trade_price":
            a = self._asset(ev["asset_id"])
            side = BUY if str(ev["side"]).upper() == "BUY" else SELL
            self.sink.emit_trade(ts_exch, ts, a, side, ev["price"], ev["size"], -1, where=where)
        else:
            self.sink.count("messages_ignored")  # tick_size_change, best_bid_ask, ...

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for token, ok in self.has_book.items():
            if ok:
                self.sink.emit_gap(ts, ts, self._asset(token))

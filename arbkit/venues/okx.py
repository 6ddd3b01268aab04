"""OKX v5 public data: ``books`` (snapshot + update, CRC32 checksum), trades, tickers, funding, mark price.

Book rule (OKX docs, "Order book checksum"): after every ``books`` message the CRC32 of
``bidPx:bidSz:askPx:askSz:...`` over the best 25 levels a side (the venue's own strings,
as a signed 32-bit int) must equal the message's ``checksum``; a mismatch is a GAP and
updates are ignored until the next snapshot (live: a new connection, on which OKX sends
one). ``funding-rate`` gives the rate for ``fundingTime`` (a FUNDING row) and
``mark-price`` the mark price (a MARK row). ``/api/v5/public/instruments`` responses give
tick (``tickSz``), lot (``lotSz``), contract value and type.
"""
from __future__ import annotations

import json
import zlib
from typing import Any, Iterable

from arbkit.core.schema import ASK, BID, BUY, SELL
from arbkit.venues.adapter import FeedAdapter
from arbkit.venues.common import NS_PER_MS, EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import VenueFeed

VENUE = "okx"


def okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """OKX's signed CRC32 over 'bidPx:bidSz:askPx:askSz:...' of the best 25 levels a side (best first)."""
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def okx_meta(inst: str) -> dict[str, Any]:
    """Contract type and quote currency of an OKX instrument id (when no instruments response is at hand)."""
    parts = inst.split("-")
    if inst.endswith("-SWAP"):
        inverse = parts[1] == "USD"
        return {"contract_type": "inverse_perp" if inverse else "linear_perp", "quote_currency": parts[1]}
    if len(parts) == 3 and parts[2].isdigit():
        inverse = parts[1] == "USD"
        return {"contract_type": "inverse_future" if inverse else "linear_future", "quote_currency": parts[1]}
    return {"contract_type": "spot", "quote_currency": parts[-1]}


def instrument_entry(d: dict[str, Any]) -> dict[str, Any]:
    """Tick, lot, contract size and type of one ``/api/v5/public/instruments`` entry."""
    itype = d.get("instType")
    meta: dict[str, Any] = {"tick_size": _pos(d.get("tickSz")), "lot_size": _pos(d.get("lotSz"))}
    if itype == "SPOT":
        meta.update(contract_type="spot", quote_currency=d.get("quoteCcy") or None)
    elif itype in ("SWAP", "FUTURES"):
        inverse = d.get("ctType") == "inverse"
        kind = "perp" if itype == "SWAP" else "future"
        meta["contract_type"] = f"{'inverse' if inverse else 'linear'}_{kind}"
        val, mult = _pos(d.get("ctVal")), _pos(d.get("ctMult")) or 1.0
        meta["contract_size"] = val * mult if val else None
        meta["quote_currency"] = (d.get("ctValCcy") if inverse else d.get("settleCcy")) or None
    elif itype == "OPTION":
        val, mult = _pos(d.get("ctVal")), _pos(d.get("ctMult")) or 1.0
        meta.update(contract_type="option", contract_size=val * mult if val else None,
                    quote_currency=d.get("settleCcy") or None)
    return meta


def _pos(text: Any) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


class OkxFeed(VenueFeed):
    """OKX websocket frames (books, trades, tickers, funding-rate, mark-price) to schema rows."""

    venue = VENUE
    checksum = "checked"
    keep_levels = True

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Contract type and quote currency from the instrument id."""
        return okx_meta(symbol)

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/api/v5/public/instruments``: every instrument's tick, lot and contract size."""
        if not path.endswith("/public/instruments") or not isinstance(data, dict):
            return ()
        return [(VENUE, d["instId"], instrument_entry(d)) for d in data.get("data", ()) if "instId" in d]

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One OKX websocket frame."""
        if not isinstance(msg, dict) or "data" not in msg or "arg" not in msg:
            self.ignore()  # subscribe acks, errors
            return
        channel, inst = msg["arg"].get("channel"), msg["arg"].get("instId")
        if channel == "books":
            self._books(ts, msg, inst, where)
        elif channel == "trades":
            asset = self.asset(inst)
            for t in msg["data"]:
                side = BUY if t["side"] == "buy" else SELL
                self.sink.emit_trade(int(t["ts"]) * NS_PER_MS, ts, asset, side, t["px"], t["sz"],
                                     int(t["tradeId"]) if str(t["tradeId"]).isdigit() else -1, where=where)
        elif channel == "tickers":
            asset = self.asset(inst)
            for t in msg["data"]:
                if t.get("bidPx") and t.get("askPx"):
                    self.sink.emit_bbo(int(t["ts"]) * NS_PER_MS, ts, asset, t["bidPx"], t["bidSz"], t["askPx"],
                                       t["askSz"], -1, where=where)
        elif channel == "funding-rate":
            asset = self.asset(inst)
            for d in msg["data"]:
                ts_exch = int(d.get("ts") or 0) * NS_PER_MS or ts
                self.sink.emit_funding(ts_exch, ts, asset, d["fundingRate"], int(d["fundingTime"]) * NS_PER_MS,
                                       where=where)
        elif channel == "mark-price":
            asset = self.asset(inst)
            for d in msg["data"]:
                ts_exch = int(d.get("ts") or 0) * NS_PER_MS or ts
                self.sink.emit_mark(ts_exch, ts, asset, d["markPx"], None, where=where)
        else:
            self.ignore()

    def _books(self, ts: int, msg: dict[str, Any], inst: str, where: str) -> None:
        book = self.book(inst)
        for d in msg["data"]:
            ts_exch = int(d.get("ts", 0)) * NS_PER_MS or ts
            if msg.get("action") == "snapshot":
                book.snapshot(ts_exch, ts, d.get("bids", []), d.get("asks", []), where=where)
            elif not book.update(ts_exch, ts, d.get("bids", []), d.get("asks", []), where=where):
                continue
            if "checksum" in d:
                ok = okx_checksum(book.best(BID, 25), book.best(ASK, 25)) == int(d["checksum"])
                book.check_checksum(ok, ts_exch, ts, where)


class OkxAdapter(FeedAdapter):
    """OKX v5 public: ``books`` (400 levels, CRC32 checksum per message), ``trades``, ``tickers``;
    ``funding-rate`` and ``mark-price`` for swaps and futures."""

    venue = VENUE
    STREAMS = "wss://ws.okx.com:8443/ws/v5/public"

    def make_feed(self, sink: EventSink, table: InstrumentTable) -> OkxFeed:
        """The OKX normaliser."""
        return OkxFeed(sink, table)

    def subscriptions(self) -> list[str]:
        """This venue's subscribe frames for the symbols and channels."""
        names = {"depth": ["books"], "trades": ["trades"], "bbo": ["tickers"], "funding": ["funding-rate", "mark-price"]}
        args = []
        for s in self.symbols:
            for c in self.channels:
                if c == "funding" and okx_meta(s)["contract_type"] == "spot":
                    continue
                args += [{"channel": n, "instId": s} for n in names[c]]
        return [json.dumps({"op": "subscribe", "args": args})]

    def accept(self, msg: Any) -> bool:
        """Acks are counted; frames about instruments not subscribed are malformed."""
        if isinstance(msg, dict) and "event" in msg:
            self.sink.count("okx_events")
            return False
        inst = msg.get("arg", {}).get("instId") if isinstance(msg, dict) else None
        if inst not in self.assets:
            raise MalformedMessage(f"message for an unsubscribed instrument {inst!r}")
        return True

"""Deribit JSON-RPC v2 subscriptions: ``book.{instrument}.raw``, ``trades.{instrument}.raw``,
``ticker.{instrument}.raw``.

Book rule (Deribit docs, "book.{instrument_name}.{interval}"): the first notification is a
``snapshot`` with a ``change_id``; every ``change`` carries ``prev_change_id``, which must
equal the previous notification's ``change_id``, else the book is a GAP until it is
re-subscribed (a new snapshot). Levels are ``[action, price, amount]`` with action
``new`` / ``change`` / ``delete``. No checksum. Tickers give the mark and index price
(MARK rows) and the best bid / ask with amounts (BBO rows). ``public/get_instruments``
gives tick, lot (``min_trade_amount``), contract size and type, and fees: BTC-PERPETUAL's
tick is 0.5 USD, its amounts are USD (contract size 1 USD, lot 10).
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import VenueFeed

VENUE = "deribit"


def instrument_entry(d: dict[str, Any]) -> dict[str, Any]:
    """Tick, lot, contract size / type and fees of one ``get_instruments`` entry."""
    meta: dict[str, Any] = {"tick_size": float(d["tick_size"]) if d.get("tick_size") else None,
                            "lot_size": float(d["min_trade_amount"]) if d.get("min_trade_amount") else None,
                            "maker_fee_bps": float(d["maker_commission"]) * 1e4 if "maker_commission" in d else None,
                            "taker_fee_bps": float(d["taker_commission"]) * 1e4 if "taker_commission" in d else None}
    kind = d.get("kind")
    if kind == "option":
        meta.update(contract_type="option", contract_size=float(d.get("contract_size") or 1.0),
                    quote_currency=d.get("quote_currency") or None)
    elif kind == "future":
        perp = d.get("settlement_period") == "perpetual"
        inverse = d.get("future_type") == "reversed" or (d.get("future_type") is None and d.get("quote_currency") == "USD")
        meta["contract_type"] = f"{'inverse' if inverse else 'linear'}_{'perp' if perp else 'future'}"
        meta["quote_currency"] = d.get("quote_currency") or None
        meta["contract_size"] = 1.0 if inverse else float(d.get("contract_size") or 1.0)
    return meta


class DeribitFeed(VenueFeed):
    """Deribit subscription notifications to schema rows."""

    venue = VENUE
    sequence = "checked"
    parse_float = str

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Contract type from the instrument name (without a get_instruments response)."""
        if symbol.endswith(("-C", "-P")):
            return {"contract_type": "option", "quote_currency": symbol.split("-")[0].split("_")[0]}
        perp = symbol.endswith("PERPETUAL")
        if "_" in symbol:  # BTC_USDC-PERPETUAL: linear
            return {"contract_type": "linear_perp" if perp else "linear_future", "quote_currency": "USDC"}
        return {"contract_type": "inverse_perp" if perp else "inverse_future", "quote_currency": "USD"}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``get_instruments``: every instrument's tick, lot, contract size and type."""
        if not path.endswith("/get_instruments") or not isinstance(data, dict):
            return ()
        return [(VENUE, d["instrument_name"], instrument_entry(d)) for d in data.get("result") or ()
                if isinstance(d, dict) and "instrument_name" in d]

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One ``subscription`` notification."""
        params = msg.get("params") if isinstance(msg, dict) else None
        if not isinstance(params, dict) or "channel" not in params:
            self.ignore()  # subscribe replies, heartbeats
            return
        channel, data = params["channel"], params["data"]
        kind, _, rest = channel.partition(".")
        inst = rest.rsplit(".", 1)[0] if rest.count(".") else rest
        if kind == "book":
            self._book(ts, data, inst, where)
        elif kind == "trades":
            asset = self.asset(inst)
            for t in data:
                side = BUY if t["direction"] == "buy" else SELL
                self.sink.emit_trade(int(t["timestamp"]) * NS_PER_MS, ts, asset, side, t["price"], t["amount"],
                                     int(t.get("trade_seq", -1)), where=where)
        elif kind == "ticker":
            asset = self.asset(inst)
            ts_exch = int(data.get("timestamp") or 0) * NS_PER_MS or ts
            if float(data.get("mark_price") or 0) > 0:
                self.sink.emit_mark(ts_exch, ts, asset, data["mark_price"], data.get("index_price"), where=where)
            if float(data.get("best_bid_price") or 0) > 0 and float(data.get("best_ask_price") or 0) > 0:
                self.sink.emit_bbo(ts_exch, ts, asset, data["best_bid_price"], data["best_bid_amount"],
                                   data["best_ask_price"], data["best_ask_amount"], -1, where=where)
        else:
            self.ignore()

    def _book(self, ts: int, d: dict[str, Any], inst: str, where: str) -> None:
        book = self.book(inst)
        ts_exch = int(d.get("timestamp") or 0) * NS_PER_MS or ts
        change = int(d["change_id"])
        bids = [(p, "0" if a == "delete" else q) for a, p, q in d.get("bids", [])]
        asks = [(p, "0" if a == "delete" else q) for a, p, q in d.get("asks", [])]
        if d.get("type") == "snapshot":
            book.snapshot(ts_exch, ts, bids, asks, change, where=where)
            book.last_seq = change
            return
        if not book.synced:
            book.ignored += 1
            return
        prev = d.get("prev_change_id")
        ok = prev is not None and int(prev) == book.last_seq
        if book.check_sequence(ok, ts_exch, ts, f"prev_change_id {prev} is not the last change_id {book.last_seq}",
                               where, change):
            book.update(ts_exch, ts, bids, asks, change, where=where)
            book.last_seq = change

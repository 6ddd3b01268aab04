"""Kraken Futures websocket v1: ``book_snapshot`` / ``book``, ``trade``, ``ticker`` and ``ticker_lite``.

Book rule (Kraken Futures docs, "Book"): a ``book_snapshot`` with ``seq`` images a
product's book; each ``book`` message changes one level (``qty`` 0 removes it) and its
``seq`` must be the product's previous ``seq`` + 1, else the book is a GAP until a new
snapshot (re-subscription). No checksum. Trade snapshots (history) are not written. The
full ``ticker`` feed (perpetuals) gives ``relative_funding_rate`` for
``next_funding_rate_time`` (FUNDING rows), ``markPrice`` / ``index`` (MARK rows) and the
best bid / ask with sizes (BBO rows); ``ticker_lite`` has no sizes (no rows).
``/derivatives/api/v3/instruments`` gives tick, contract size and type.
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import VenueFeed

VENUE = "kraken-futures"


class KrakenFuturesFeed(VenueFeed):
    """Kraken Futures v1 frames to schema rows."""

    venue = VENUE
    sequence = "checked"
    parse_float = str

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Inverse (PI_/FI_, 1 USD contracts) or linear (PF_/FF_) perpetual or future."""
        prefix = symbol[:2].upper()
        inverse = prefix in ("PI", "FI")
        kind = "perp" if prefix in ("PI", "PF") else "future"
        return {"contract_type": f"{'inverse' if inverse else 'linear'}_{kind}", "quote_currency": "USD",
                "maker_fee_bps": 2.0, "taker_fee_bps": 5.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``instruments``: tick size, contract size and type."""
        if not path.endswith("/instruments") or not isinstance(data, dict):
            return ()
        out = []
        for d in data.get("instruments", ()):
            if not isinstance(d, dict) or "symbol" not in d or not d.get("tickSize"):
                continue
            meta = {"tick_size": float(d["tickSize"]),
                    "contract_size": float(d["contractSize"]) if d.get("contractSize") else None}
            sym = d["symbol"].upper()
            if d.get("type") == "futures_inverse":
                meta["contract_type"] = "inverse_perp" if sym.startswith("PI_") else "inverse_future"
            elif d.get("type") in ("flexible_futures", "futures_vanilla"):
                meta["contract_type"] = "linear_perp" if sym.startswith("PF_") else "linear_future"
            out.append((VENUE, sym, meta))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v1 frame (``feed`` book_snapshot / book / trade / trade_snapshot / ticker / ticker_lite)."""
        feed = msg.get("feed") if isinstance(msg, dict) else None
        if feed is None or "event" in msg or "product_id" not in msg:
            self.ignore()  # info, subscribed, heartbeats
            return
        pid = msg["product_id"]
        if feed == "book_snapshot":
            book = self.book(pid)
            ts_exch = int(msg.get("timestamp") or 0) * NS_PER_MS or ts
            book.snapshot(ts_exch, ts, [(lv["price"], lv["qty"]) for lv in msg["bids"]],
                          [(lv["price"], lv["qty"]) for lv in msg["asks"]], int(msg["seq"]), where=where)
            book.last_seq = int(msg["seq"])
        elif feed == "book":
            book = self.book(pid)
            if not book.synced:
                book.ignored += 1
                return
            seq = int(msg["seq"])
            ts_exch = int(msg.get("timestamp") or 0) * NS_PER_MS or ts
            if book.check_sequence(seq == book.last_seq + 1, ts_exch, ts, f"seq {seq} after {book.last_seq}", where,
                                   seq):
                level = [(msg["price"], msg["qty"])]
                buy = msg["side"] == "buy"
                book.update(ts_exch, ts, level if buy else [], [] if buy else level, seq, where=where)
                book.last_seq = seq
        elif feed == "trade":
            side = BUY if msg["side"] == "buy" else SELL
            self.sink.emit_trade(int(msg["time"]) * NS_PER_MS, ts, self.asset(pid), side, msg["price"], msg["qty"],
                                 int(msg.get("seq", -1)), where=where)
        elif feed == "trade_snapshot":
            self.skip_history(len(msg.get("trades", ())))
        elif feed == "ticker":
            self._ticker(ts, msg, pid, where)
        else:
            self.ignore()  # ticker_lite: no sizes

    def _ticker(self, ts: int, d: dict[str, Any], pid: str, where: str) -> None:
        asset = self.asset(pid)
        ts_exch = int(d.get("time") or 0) * NS_PER_MS or ts
        if d.get("relative_funding_rate") not in (None, "") and int(d.get("next_funding_rate_time") or 0) > 0:
            self.sink.emit_funding(ts_exch, ts, asset, d["relative_funding_rate"],
                                   int(d["next_funding_rate_time"]) * NS_PER_MS, where=where)
        if float(d.get("markPrice") or 0) > 0:
            self.sink.emit_mark(ts_exch, ts, asset, d["markPrice"], d.get("index"), where=where)
        if float(d.get("bid") or 0) > 0 and float(d.get("ask") or 0) > 0 and "bid_size" in d:
            self.sink.emit_bbo(ts_exch, ts, asset, d["bid"], d["bid_size"], d["ask"], d["ask_size"], -1, where=where)

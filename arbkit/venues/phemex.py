"""Phemex websocket (contracts and spot): ``orderbook`` (snapshot + incremental), ``trade``.

Book rules (Phemex docs, "Subscribe OrderBook"): a ``snapshot`` images the book (30 levels);
``incremental`` messages change levels (size 0 removes). Prices are scaled integers
(``priceScale`` of the contract, 10^8 on spot; spot sizes are also scaled 10^8). The
``sequence`` is shared by the books and trades of a matching engine, so it rises but not
by one per book: each book's is checked never to go back (an incremental not above the
last image's sequence is already in it and dropped). No checksum. Trade snapshots
(history) are not written. ``/exchange/public/cfg/v2/products`` gives price scales, tick,
lot and contract size.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import EventSink, InstrumentTable
from arbkit.venues.feed import L2Book, VenueFeed

VENUE = "phemex"
SPOT_SCALE = 8  # documented: spot prices and base quantities are scaled by 10^8


def _unit_number(text: Any) -> float | None:
    """'0.00001 USDT' -> 1e-05."""
    try:
        return float(str(text).split()[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


class PhemexFeed(VenueFeed):
    """Phemex frames to schema rows (prices unscaled with the products' scales)."""

    venue = VENUE
    sequence = "monotonic"
    check_note = "the sequence is shared by a matching engine's books and trades"

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        super().__init__(sink, table)
        self.price_scale: dict[str, int] = {}
        self.last_image: dict[str, int] = {}

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot (``s`` prefix) or a perpetual (USD-settled linear; coin-settled inverse)."""
        if symbol.startswith("s"):
            return {"contract_type": "spot", "maker_fee_bps": 10.0, "taker_fee_bps": 10.0}
        return {"contract_type": "linear_perp", "maker_fee_bps": -2.5, "taker_fee_bps": 7.5}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``products``: tick, lot, contract size and type; the price scales are kept for the frames."""
        if not path.endswith("/products") or not isinstance(data, dict):
            return ()
        out = []
        for p in (data.get("data") or {}).get("products", ()):
            sym = p.get("symbol")
            if not sym:
                continue
            if p.get("type") == "Spot":
                self.price_scale[sym] = SPOT_SCALE
                out.append((VENUE, sym, {"tick_size": _unit_number(p.get("quoteTickSize")),
                                         "lot_size": _unit_number(p.get("baseTickSize")), "contract_type": "spot",
                                         "quote_currency": p.get("quoteCurrency") or None}))
            elif "priceScale" in p:
                self.price_scale[sym] = int(p["priceScale"])
                inverse = p.get("settleCurrency") not in (None, p.get("quoteCurrency"))
                out.append((VENUE, sym, {"tick_size": float(p["tickSize"]) if p.get("tickSize") else None,
                                         "lot_size": float(p.get("lotSize") or 1),
                                         "contract_size": float(p["contractSize"]) if p.get("contractSize") else None,
                                         "contract_type": "inverse_perp" if inverse else "linear_perp",
                                         "quote_currency": p.get("quoteCurrency") or None}))
        return out

    def _px(self, symbol: str, value: Any) -> str:
        scale = self.price_scale.get(symbol)
        if scale is None:
            scale = self.price_scale[symbol] = SPOT_SCALE if symbol.startswith("s") else 4
            self.sink.warn(f"phemex {symbol}: no products response in the capture; price scale 10^{scale} assumed")
        return format(Decimal(int(value)).scaleb(-scale), "f")

    def _qty(self, symbol: str, value: Any) -> str:
        return format(Decimal(int(value)).scaleb(-SPOT_SCALE), "f") if symbol.startswith("s") else str(value)

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One frame: ``book`` / ``trades`` (``kline`` and acks are counted)."""
        if not isinstance(msg, dict) or "symbol" not in msg:
            self.ignore()
            return
        sym = msg["symbol"]
        if "book" in msg:
            self._book(ts, msg, sym, where)
        elif "trades" in msg:
            if msg.get("type") == "snapshot":
                self.skip_history(len(msg["trades"]))
                return
            asset = self.asset(sym)
            for t_ns, side, px, qty in sorted(msg["trades"], key=lambda t: int(t[0])):
                self.sink.emit_trade(int(t_ns), ts, asset, BUY if side == "Buy" else SELL, self._px(sym, px),
                                     self._qty(sym, qty), int(msg.get("sequence", -1)), where=where)
        else:
            self.ignore()

    def _book(self, ts: int, msg: dict[str, Any], sym: str, where: str) -> None:
        book: L2Book = self.book(sym)
        seq = int(msg["sequence"])
        ts_exch = int(msg.get("timestamp") or 0) or ts
        bids = [(self._px(sym, p), self._qty(sym, q)) for p, q in msg["book"].get("bids", ())]
        asks = [(self._px(sym, p), self._qty(sym, q)) for p, q in msg["book"].get("asks", ())]
        if msg.get("type") == "snapshot":
            book.snapshot(ts_exch, ts, bids, asks, seq, where=where)
            book.last_seq = self.last_image[sym] = seq
            return
        if not book.synced:
            book.ignored += 1
            return
        if seq <= self.last_image.get(sym, -1):
            self.sink.count("phemex_updates_in_image")
            return
        book.checks.sequence_checks += 1
        if seq <= book.last_seq:
            book.checks.sequence_mismatches += 1
            self.sink.count("phemex_updates_out_of_order")
            return
        book.update(ts_exch, ts, bids, asks, seq, where=where)
        book.last_seq = seq

"""Huobi (HTX) spot and coin- / USDT-margined swaps: ``market.*.depth.step0`` and ``market.*.trade.detail``.

Book model (Huobi docs, "Market Depth"): ``depth.step0`` pushes the whole top-150 book
each time (gzip frames), so each message replaces the book. The spot tick's ``version``
rises with every change and the swap tick's ``mrid`` (the latest match id) never falls,
but neither steps by one per message, so each book's is checked never to go back: an
older image arriving after a newer one is dropped (a mismatch). No checksum on this
channel (the incremental ``mbp`` channel, not captured here, has sequence numbers).
Trades older than the connection (replayed on subscribe) are not written. Swap sizes
are contracts (``contract_size`` each: USD face value for coin-margined, base units for
USDT-margined). ``/v1/common/symbols`` and ``swap_contract_info`` give tick, lot and size.
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.errors import ConfigError
from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS, EventSink, InstrumentTable
from arbkit.venues.feed import VenueFeed

MARKETS = {"spot": "huobi", "swap": "huobi-swap"}


class HuobiFeed(VenueFeed):
    """Huobi spot or swap frames to schema rows."""

    sequence = "monotonic"
    book_model = "image per message"
    parse_float = str

    def __init__(self, sink: EventSink, table: InstrumentTable, market: str = "spot") -> None:
        super().__init__(sink, table)
        if market not in MARKETS:
            raise ConfigError(f"huobi market must be one of {sorted(MARKETS)}, got {market!r}")
        self.market = market
        self.venue = MARKETS[market]
        self.check_note = ("the tick's version only rises" if market == "spot"
                           else "the tick's mrid (latest match id) never falls")

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, or a coin-margined (XXX-USD, inverse) / USDT-margined (XXX-USDT, linear) perpetual."""
        if self.market == "spot":
            return {"contract_type": "spot", "maker_fee_bps": 20.0, "taker_fee_bps": 20.0}
        quote = symbol.rsplit("-", 1)[-1]
        return {"contract_type": "inverse_perp" if quote == "USD" else "linear_perp", "quote_currency": quote,
                "maker_fee_bps": 2.0, "taker_fee_bps": 5.0}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/v1/common/symbols`` (spot) and ``swap_contract_info`` (swaps): tick, lot, contract size."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            return ()
        out = []
        for d in data["data"]:
            if path.endswith("/common/symbols") and "symbol" in d:
                pp, ap = int(d.get("price-precision", 0)), int(d.get("amount-precision", 0))
                out.append(("huobi", d["symbol"], {"tick_size": round(10.0 ** -pp, pp), "lot_size": round(10.0 ** -ap, ap),
                                                   "contract_type": "spot",
                                                   "quote_currency": str(d.get("quote-currency", "")).upper() or None}))
            elif path.endswith("/swap_contract_info") and "contract_code" in d:
                inverse = "/linear-swap-api/" not in path
                out.append(("huobi-swap", d["contract_code"], {
                    "tick_size": float(d["price_tick"]) if d.get("price_tick") else None, "lot_size": 1.0,
                    "contract_size": float(d["contract_size"]) if d.get("contract_size") else None,
                    "contract_type": "inverse_perp" if inverse else "linear_perp",
                    "quote_currency": d["contract_code"].rsplit("-", 1)[-1]}))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One (decompressed) frame: ``ch`` market.<symbol>.depth.step0 / .trade.detail; pings and acks counted."""
        ch = msg.get("ch") if isinstance(msg, dict) else None
        if not isinstance(ch, str) or not ch.startswith("market."):
            self.ignore()
            return
        _, symbol, channel = ch.split(".", 2)
        tick = msg["tick"]
        if channel.startswith("depth."):
            book = self.book(symbol)
            version = int(tick["version"] if self.market == "spot" else tick["mrid"])
            ts_exch = int(tick.get("ts") or msg.get("ts") or 0) * NS_PER_MS or ts
            if book.last_seq is not None:
                ok = version > book.last_seq if self.market == "spot" else version >= book.last_seq
                book.checks.sequence_checks += 1
                if not ok:
                    book.checks.sequence_mismatches += 1
                    self.sink.count("huobi_stale_images_dropped")
                    return
            book.snapshot(ts_exch, ts, [lv[:2] for lv in tick["bids"]], [lv[:2] for lv in tick["asks"]], version,
                          where=where)
            book.last_seq = version
        elif channel == "trade.detail":
            asset = self.asset(symbol)
            for t in sorted(tick["data"], key=lambda t: int(t["ts"])):
                ts_exch = int(t["ts"]) * NS_PER_MS
                if self.before_connection(conn, ts_exch):
                    self.skip_history(1)
                    continue
                side = BUY if t["direction"] == "buy" else SELL
                tid = t.get("tradeId", t.get("id"))
                self.sink.emit_trade(ts_exch, ts, asset, side, t["price"], t["amount"], int(tid), where=where)
        else:
            self.ignore()

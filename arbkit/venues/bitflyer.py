"""bitFlyer Lightning JSON-RPC realtime API: ``lightning_board_snapshot_*``, ``lightning_board_*``,
``lightning_executions_*``, ``lightning_ticker_*``.

Book rules (bitFlyer docs, "Order Book"): ``board_snapshot`` is a full image; ``board``
messages are level changes (size 0 removes the level) to apply on top of the last image.
bitFlyer sends neither sequence numbers nor checksums, so a lost message cannot be told;
diffs that arrive before an instrument's first snapshot are dropped (counted), and every
later snapshot re-images the book. Tickers give the best bid / ask with sizes (BBO rows);
executions are the trades (``side`` is the taker's).
"""
from __future__ import annotations

from typing import Any

from arbkit.core.schema import BUY, SELL
from arbkit.venues.coinbase import iso_ns
from arbkit.venues.feed import VenueFeed

VENUE = "bitflyer"
PREFIXES = ("lightning_board_snapshot_", "lightning_board_", "lightning_executions_", "lightning_ticker_")


class BitflyerFeed(VenueFeed):
    """bitFlyer channelMessage frames to schema rows."""

    venue = VENUE
    book_model = "snapshot+delta (periodic snapshots)"
    check_note = "bitFlyer sends no sequence or checksum: a lost diff cannot be detected"
    parse_float = str

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Contract type from the product code (FX_* is a perpetual CFD, dated codes futures)."""
        if symbol.startswith("FX_"):
            return {"contract_type": "linear_perp", "quote_currency": symbol.rsplit("_", 1)[-1]}
        if symbol[-4:].isdigit():
            return {"contract_type": "linear_future", "quote_currency": symbol[3:6]}
        return {"contract_type": "spot", "quote_currency": symbol.rsplit("_", 1)[-1]}

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One ``channelMessage``."""
        params = msg.get("params") if isinstance(msg, dict) else None
        if not isinstance(params, dict) or "channel" not in params:
            self.ignore()
            return
        channel, body = params["channel"], params["message"]
        for prefix in PREFIXES:
            if channel.startswith(prefix):
                product = channel[len(prefix):]
                break
        else:
            self.ignore()
            return
        if prefix == "lightning_board_snapshot_":
            self.book(product).snapshot(ts, ts, _levels(body["bids"]), _levels(body["asks"]), where=where)
        elif prefix == "lightning_board_":
            self.book(product).update(ts, ts, _levels(body["bids"]), _levels(body["asks"]), where=where)
        elif prefix == "lightning_executions_":
            asset = self.asset(product)
            for t in body:
                side = BUY if t["side"] == "BUY" else SELL if t["side"] == "SELL" else 0
                if side == 0:  # itayose (auction) executions have no taker
                    self.ignore("auction_executions")
                    continue
                self.sink.emit_trade(iso_ns(t["exec_date"]), ts, asset, side, t["price"], t["size"], int(t["id"]),
                                     where=where)
        else:
            if float(body.get("best_bid") or 0) > 0 and float(body.get("best_ask") or 0) > 0:
                self.sink.emit_bbo(iso_ns(body["timestamp"]), ts, self.asset(product), body["best_bid"],
                                   body["best_bid_size"], body["best_ask"], body["best_ask_size"],
                                   int(body.get("tick_id", -1)), where=where)


def _levels(levels: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(lv["price"], lv["size"]) for lv in levels]

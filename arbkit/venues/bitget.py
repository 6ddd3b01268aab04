"""Bitget websocket v1 (spot ``sp`` and futures ``mc``): ``books``, ``trade``, ``ticker``.

Book rule (Bitget docs, "Depth channel" checksum): after every ``books`` snapshot or
update, the CRC32 of ``bid1Px:bid1Sz:ask1Px:ask1Sz:...`` over the best 25 levels a side,
built from the venue's own strings (OKX's layout), as a signed 32-bit int, must equal the
message's ``checksum``; a mismatch is a GAP until the next snapshot (live: re-subscribe).
v1 sends no sequence numbers. Trade snapshots (history) are not written. The futures
ticker carries ``capitalRate`` for ``nextSettleTime`` (FUNDING rows) and ``markPrice`` /
``indexPrice`` (MARK rows). ``/api/spot/v1/public/products`` and
``/api/mix/v1/market/contracts`` give tick, lot and fees.
"""
from __future__ import annotations

from typing import Any, Iterable

from arbkit.core.schema import ASK, BID, BUY, SELL
from arbkit.venues.common import NS_PER_MS
from arbkit.venues.feed import VenueFeed
from arbkit.venues.okx import okx_checksum

SPOT, FUTURES = "bitget", "bitget-futures"
INST_TYPES = {"sp": SPOT, "mc": FUTURES}


def _decimal_step(places: Any, step: Any = 1) -> float | None:
    try:
        n = int(places)
    except (TypeError, ValueError):
        return None
    return round(float(step or 1) * 10.0 ** -n, n)


class BitgetFeed(VenueFeed):
    """Bitget v1 frames of both the spot and the futures stream to schema rows."""

    venue = SPOT
    checksum = "checked"
    keep_levels = True

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, or a USDT-margined (linear) / coin-margined (inverse) perpetual."""
        if venue == SPOT:
            return {"contract_type": "spot", "quote_currency": symbol[-4:] if symbol.endswith("USDT") else ""}
        if symbol.endswith("USDT"):
            return {"contract_type": "linear_perp", "quote_currency": "USDT"}
        return {"contract_type": "inverse_perp", "quote_currency": "USD"}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """Spot products and futures contracts: tick, lot and fees."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            return ()
        out = []
        for d in data["data"]:
            fees = {"maker_fee_bps": float(d["makerFeeRate"]) * 1e4 if d.get("makerFeeRate") else None,
                    "taker_fee_bps": float(d["takerFeeRate"]) * 1e4 if d.get("takerFeeRate") else None,
                    "quote_currency": d.get("quoteCoin") or None}
            if path.endswith("/public/products") and "symbolName" in d:
                out.append((SPOT, d["symbolName"], {"tick_size": _decimal_step(d.get("priceScale")),
                                                    "lot_size": _decimal_step(d.get("quantityScale")),
                                                    "contract_type": "spot", **fees}))
            elif path.endswith("/market/contracts") and "symbol" in d:
                name, _, ptype = d["symbol"].partition("_")
                ctype = "linear_perp" if ptype.upper() in ("UMCBL", "CMCBL") else "inverse_perp"
                out.append((FUTURES, name, {"tick_size": _decimal_step(d.get("pricePlace"), d.get("priceEndStep")),
                                            "lot_size": _decimal_step(d.get("volumePlace")), "contract_type": ctype,
                                            **fees}))
        return out

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v1 frame (``arg`` {instType, channel, instId} + ``action`` + ``data``)."""
        if not isinstance(msg, dict) or "data" not in msg or "arg" not in msg:
            self.ignore()  # subscribe acks, pongs
            return
        arg = msg["arg"]
        venue = INST_TYPES.get(str(arg.get("instType", "")).lower())
        if venue is None:
            self.ignore()
            return
        inst, channel = arg["instId"], arg.get("channel")
        if channel == "books":
            self._books(ts, msg, inst, venue, where)
        elif channel == "trade":
            if msg.get("action") == "snapshot":
                self.skip_history(len(msg["data"]))
                return
            asset = self.asset(inst, venue)
            for t_ms, px, sz, side in sorted(msg["data"], key=lambda t: int(t[0])):
                self.sink.emit_trade(int(t_ms) * NS_PER_MS, ts, asset, BUY if side == "buy" else SELL, px, sz, -1,
                                     where=where)
        elif channel == "ticker":
            asset = self.asset(inst, venue)
            for d in msg["data"]:
                ts_exch = int(d.get("systemTime") or d.get("ts") or 0) * NS_PER_MS or ts
                if d.get("capitalRate") not in (None, "") and int(d.get("nextSettleTime") or 0) > 0:
                    self.sink.emit_funding(ts_exch, ts, asset, d["capitalRate"], int(d["nextSettleTime"]) * NS_PER_MS,
                                           where=where)
                if d.get("markPrice"):
                    self.sink.emit_mark(ts_exch, ts, asset, d["markPrice"], d.get("indexPrice"), where=where)
        else:
            self.ignore()

    def _books(self, ts: int, msg: dict[str, Any], inst: str, venue: str, where: str) -> None:
        book = self.book(inst, venue)
        for d in msg["data"]:
            ts_exch = int(d.get("ts") or 0) * NS_PER_MS or ts
            if msg.get("action") == "snapshot":
                book.snapshot(ts_exch, ts, d.get("bids", []), d.get("asks", []), where=where)
            elif not book.update(ts_exch, ts, d.get("bids", []), d.get("asks", []), where=where):
                continue
            if "checksum" in d:
                ok = okx_checksum(book.best(BID, 25), book.best(ASK, 25)) == int(d["checksum"])
                book.check_checksum(ok, ts_exch, ts, where)

"""Gate.io API v4 websocket, spot and USDT futures: ``order_book_update`` on top of a REST image; trades;
futures ``book_ticker``; futures funding and mark price from the ``contracts`` REST response.

Book rule (Gate.io v4 docs, "How to maintain local order book"): updates are cached until
the REST order book (``with_id=true``: its ``id`` is the base id) arrives; cached updates
with ``u`` <= base id are dropped; the first applied update must bridge it
(``U <= id + 1 <= u``); from then on each update's ``U`` must be the previous ``u`` + 1,
else the book is a GAP until a new REST image. No checksum on these channels. Futures
sizes are contracts (``quanto_multiplier`` base units each). ``/spot/currency_pairs`` and
``/futures/usdt/contracts`` give tick, lot, fees; the contracts response also carries each
contract's ``funding_rate`` for ``funding_next_apply`` and its ``mark_price`` /
``index_price`` (FUNDING and MARK rows at the time of the response).
"""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import parse_qs, urlparse

from arbkit.core.errors import ConfigError
from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import NS_PER_MS, NS_PER_S, EventSink, InstrumentTable
from arbkit.venues.feed import L2Book, VenueFeed

MARKETS = {"spot": "gateio", "futures": "gateio-futures"}
MAX_BUFFERED = 100_000


def _levels(levels: list) -> list[tuple[Any, Any]]:
    """Spot levels are [price, amount]; futures levels {p, s}."""
    return [(lv["p"], lv["s"]) if isinstance(lv, dict) else (lv[0], lv[1]) for lv in levels]


class GateioFeed(VenueFeed):
    """Gate.io v4 frames and REST bodies of one market (spot or USDT futures)."""

    sequence = "checked"
    book_model = "REST snapshot+delta"

    def __init__(self, sink: EventSink, table: InstrumentTable, market: str = "spot") -> None:
        super().__init__(sink, table)
        if market not in MARKETS:
            raise ConfigError(f"gate.io market must be one of {sorted(MARKETS)}, got {market!r}")
        self.market = market
        self.venue = MARKETS[market]
        self.prefix = "spot." if market == "spot" else "futures."
        self.bridge_pending: dict[str, bool] = {}
        self.rest_contracts: dict[str, tuple[int, dict[str, Any], str]] = {}

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot or a USDT-margined perpetual; quote from the pair name."""
        quote = symbol.rsplit("_", 1)[-1]
        return {"contract_type": "spot" if self.market == "spot" else "linear_perp", "quote_currency": quote}

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``currency_pairs`` (spot) and ``contracts`` (futures): tick, lot, contract size, fees."""
        if not isinstance(data, list):
            return ()
        out = []
        for d in data:
            if path.endswith("/currency_pairs") and "id" in d:
                pd, ad = int(d.get("precision", 0)), int(d.get("amount_precision", 0))
                fee = float(d["fee"]) * 100.0 if d.get("fee") else None  # percent -> bps
                out.append(("gateio", d["id"], {"tick_size": round(10.0 ** -pd, pd), "lot_size": round(10.0 ** -ad, ad),
                                                "contract_type": "spot", "quote_currency": d.get("quote"),
                                                "maker_fee_bps": fee, "taker_fee_bps": fee}))
            elif path.endswith("/contracts") and "name" in d:
                inverse = d.get("type") == "inverse"
                out.append(("gateio-futures", d["name"], {
                    "tick_size": float(d["order_price_round"]) if d.get("order_price_round") else None,
                    "lot_size": float(d.get("order_size_min") or 1),
                    "contract_size": float(d["quanto_multiplier"]) if float(d.get("quanto_multiplier") or 0) > 0
                    else None,
                    "contract_type": "inverse_perp" if inverse else "linear_perp",
                    "maker_fee_bps": float(d["maker_fee_rate"]) * 1e4 if d.get("maker_fee_rate") else None,
                    "taker_fee_bps": float(d["taker_fee_rate"]) * 1e4 if d.get("taker_fee_rate") else None}))
        return out

    def on_rest(self, ts: int, url: str, data: Any, where: str) -> None:
        """A REST order book images its book (then the cached updates); contracts carry funding and mark."""
        u = urlparse(url)
        if u.path.endswith("/order_book") and isinstance(data, dict):
            q = parse_qs(u.query)
            symbol = (q.get("currency_pair") or q.get("contract") or [None])[0]
            if symbol is None or "id" not in data:
                self.sink.count("gateio_order_books_without_id")
                return
            book = self.book(symbol)
            ts_exch = int(round(float(data.get("current", 0)) * 1000)) * NS_PER_MS or ts
            book.snapshot(ts_exch, ts, _levels(data["bids"]), _levels(data["asks"]), int(data["id"]), where=where)
            book.last_seq = int(data["id"])
            self.bridge_pending[symbol] = True
            pending, book.buffer = book.buffer, []
            for _, d, w in pending:
                self._update(ts, book, symbol, d, w)
        elif u.path.endswith("/contracts") and isinstance(data, list) and self.market == "futures":
            # a contract's rows are written when it first appears (the response lists every contract)
            for d in data:
                if isinstance(d, dict) and d.get("name"):
                    self.rest_contracts[d["name"]] = (ts, d, where)
                    if self.table.find(self.venue, d["name"]) is not None:
                        self._contract_rows(d["name"])

    def asset(self, symbol: str, venue: str | None = None) -> int:
        """The asset of ``symbol``; a futures contract seen in a ``contracts`` response gets its rows then."""
        known = self.table.find(venue or self.venue, symbol) is not None
        idx = super().asset(symbol, venue)
        if not known and symbol in self.rest_contracts:
            self._contract_rows(symbol)
        return idx

    def _contract_rows(self, name: str) -> None:
        ts, d, where = self.rest_contracts.pop(name)
        idx = super().asset(name)
        if d.get("funding_rate") not in (None, "") and int(d.get("funding_next_apply") or 0) > 0:
            self.sink.emit_funding(ts, ts, idx, d["funding_rate"], int(d["funding_next_apply"]) * NS_PER_S, where=where)
        if float(d.get("mark_price") or 0) > 0:
            self.sink.emit_mark(ts, ts, idx, d["mark_price"], d.get("index_price"), where=where)

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v4 frame (``channel``, ``event``, ``result``)."""
        if not isinstance(msg, dict) or msg.get("event") != "update":
            self.ignore()  # subscribe acks
            return
        channel, res = msg.get("channel", ""), msg.get("result")
        if channel == self.prefix + "order_book_update":
            symbol = res["s"]
            book = self.book(symbol)
            if book.last_seq is None:
                if len(book.buffer) >= MAX_BUFFERED:
                    book.buffer.pop(0)
                book.buffer.append((ts, res, where))
                return
            self._update(ts, book, symbol, res, where)
        elif channel == "spot.trades":
            side = BUY if res["side"] == "buy" else SELL
            self.sink.emit_trade(int(float(res["create_time_ms"]) * 1000) * 1000, ts, self.asset(res["currency_pair"]),
                                 side, res["price"], res["amount"], int(res["id"]), where=where)
        elif channel == "futures.trades":
            for t in res:
                size = float(t["size"])
                self.sink.emit_trade(int(t["create_time_ms"]) * NS_PER_MS, ts, self.asset(t["contract"]),
                                     BUY if size > 0 else SELL, t["price"], str(t["size"]).lstrip("-"), int(t["id"]),
                                     where=where)
        elif channel == "futures.book_ticker":
            if res.get("b") and res.get("a"):
                self.sink.emit_bbo(int(res["t"]) * NS_PER_MS, ts, self.asset(res["s"]), res["b"], res["B"], res["a"],
                                   res["A"], int(res.get("u", -1)), where=where)
        elif channel == "futures.tickers":
            for t in res:
                if float(t.get("mark_price") or 0) > 0:
                    self.sink.emit_mark(ts, ts, self.asset(t["contract"]), t["mark_price"], t.get("index_price"),
                                        where=where)
        else:
            self.ignore()

    def _update(self, ts: int, book: L2Book, symbol: str, d: dict[str, Any], where: str) -> None:
        first, last = int(d["U"]), int(d["u"])
        ts_exch = int(d.get("t") or 0) * NS_PER_MS or ts
        if not book.synced:
            book.ignored += 1
            return
        if last <= book.last_seq:
            self.sink.count("gateio_stale_updates_dropped")
            return
        if self.bridge_pending.get(symbol):
            ok = first <= book.last_seq + 1 <= last
            why = f"first update (U={first}, u={last}) does not bridge the image id {book.last_seq}"
        else:
            ok = first == book.last_seq + 1
            why = f"update U={first} does not follow u={book.last_seq}"
        if not book.check_sequence(ok, ts_exch, ts, why, where, last):
            return
        self.bridge_pending[symbol] = False
        book.update(ts_exch, ts, _levels(d.get("b", [])), _levels(d.get("a", [])), last, where=where)
        book.last_seq = last

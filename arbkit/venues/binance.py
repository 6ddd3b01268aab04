"""Binance spot / USD-M / COIN-M order-book sync, by Binance's documented rules.

Depth diffs that arrive before the REST snapshot are buffered. When the snapshot
(``lastUpdateId`` = L) arrives, buffered diffs with ``u`` below it are dropped
(spot: ``u <= L``; futures: ``u < L``) and the first kept diff must bridge it
(spot: ``U <= L+1 <= u``; futures: ``U <= L <= u``). From then on every diff must
chain (spot: ``U == prev_u + 1``; futures: ``pu == prev_u``); a break emits a GAP
event and the book waits for the next snapshot. Buffered diffs applied at the
snapshot are stamped with the snapshot's ``ts_local`` (the earliest moment a live
client could apply them), keeping their own ``ts_exch``.

The same class drives the file converters (``binance`` captures, cryptofeed's BINANCE*
captures) and the live recorder. :class:`BinanceFeed` adds the REST side (depth snapshots,
``exchangeInfo`` tick / lot / contract sizes) and the USD-M / COIN-M ``markPrice`` stream
(MARK and FUNDING rows); :class:`BinanceAdapter` is the recorder's connection.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import parse_qs, urlparse

from arbkit.core.errors import ConfigError, DataError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.adapter import CHANNELS, Adapter, parse_json
from arbkit.venues.common import NS_PER_MS, BookChecks, EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import VenueFeed

MAX_BUFFERED_DIFFS = 200_000


def market_of(data: dict[str, Any]) -> str | None:
    """'spot', 'usdm' or 'coinm' from a depth/bookTicker/trade payload, or None if it cannot tell.

    COIN-M payloads carry ``ps`` (pair); USD-M depth carries ``pu`` and USD-M bookTickers an
    ``e`` field (spot bookTickers have none); spot trades carry ``M``, futures trades ``X``.
    """
    if "ps" in data or "pair" in data:
        return "coinm"
    e = data.get("e")
    if "pu" in data or e == "bookTicker":
        return "usdm"
    if e == "depthUpdate" or (e is None and "u" in data and "b" in data):
        return "spot"
    if e in ("trade", "aggTrade"):
        return "spot" if "M" in data else ("usdm" if "X" in data or e == "aggTrade" and "M" not in data else None)
    if e == "markPriceUpdate":  # futures only: COIN-M symbols carry '_' (BTCUSD_PERP, BTCUSD_240927)
        return "coinm" if "_" in str(data.get("s", "")) else "usdm"
    return None


def emit_mark_price(sink: EventSink, asset: int, ts: int, d: dict[str, Any], where: str) -> None:
    """``markPriceUpdate``: a MARK row (mark ``p``, index ``i``) and, for perpetuals, a FUNDING row
    (rate ``r`` for the next funding time ``T``; delivery contracts send ``r`` empty)."""
    ts_exch = int(d["E"]) * NS_PER_MS if "E" in d else ts
    sink.emit_mark(ts_exch, ts, asset, d["p"], d.get("i"), where=where)
    if d.get("r") not in (None, "") and int(d.get("T", 0) or 0) > 0:
        sink.emit_funding(ts_exch, ts, asset, d["r"], int(d["T"]) * NS_PER_MS, where=where)


VENUE_NAMES = {"spot": "binance", "usdm": "binance-usdm", "coinm": "binance-coinm"}
#: cryptofeed exchange id -> (market, venue name)
CRYPTOFEED_EXCHANGES = {"BINANCE": ("spot", "binance"), "BINANCE_US": ("spot", "binance-us"),
                        "BINANCE_FUTURES": ("usdm", "binance-usdm"), "BINANCE_DELIVERY": ("coinm", "binance-coinm")}
# VIP0 list fees (bps) at the time of writing; override per instrument with --instruments.
DEFAULT_FEES = {"spot": (10.0, 10.0), "usdm": (2.0, 5.0), "coinm": (2.0, 5.0)}


def instrument_meta(market: str, symbol: str) -> dict[str, Any]:
    """Contract type, quote currency, contract size and default fees of a Binance symbol."""
    maker, taker = DEFAULT_FEES[market]
    meta: dict[str, Any] = {"maker_fee_bps": maker, "taker_fee_bps": taker}
    if market == "spot":
        meta.update(contract_type="spot", quote_currency=_spot_quote(symbol))
    elif market == "usdm":
        dated = "_" in symbol
        meta.update(contract_type="linear_future" if dated else "linear_perp",
                    quote_currency=_spot_quote(symbol.split("_")[0]))
    else:
        dated = not symbol.endswith("_PERP")
        meta.update(contract_type="inverse_future" if dated else "inverse_perp", quote_currency="USD",
                    contract_size=100.0 if symbol.startswith("BTC") else 10.0)
    return meta


def _spot_quote(symbol: str) -> str:
    for q in ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "USD"):
        if symbol.endswith(q) and len(symbol) > len(q):
            return q
    return ""


@dataclass
class _AppliedDiff:
    first: int
    last: int
    levels: list[tuple[int, float, float]]


@dataclass
class BookCheck:
    """Diff log of one unbroken chain, kept to compare bookTickers with the rebuilt top afterwards."""

    base_bids: dict[float, float] = field(default_factory=dict)
    base_asks: dict[float, float] = field(default_factory=dict)
    diffs: list[_AppliedDiff] = field(default_factory=list)


class BinanceBookSync:
    """Turns one Binance symbol's depth/bookTicker/trade messages into schema rows."""

    def __init__(self, sink: EventSink, asset: int, market: str, symbol: str, *, check_bbo: bool = False,
                 checks: BookChecks | None = None) -> None:
        if market not in VENUE_NAMES:
            raise ValueError(f"unknown Binance market {market!r}")
        self.sink, self.asset, self.market, self.symbol = sink, asset, market, symbol
        self.checks = checks if checks is not None else BookChecks(sequence="checked")
        self.futures = market != "spot"
        self.synced = False
        self._bridge_pending = False  # the next applied diff must bridge the snapshot
        self.last_u: int | None = None
        self.buffer: list[tuple[int, dict[str, Any], str]] = []
        self.snapshots = 0
        self.diffs_applied = 0
        self.stale_dropped = 0
        self.gaps = 0
        self.check_bbo = check_bbo
        self.chains: list[BookCheck] = []
        self.tickers: list[tuple[int, float, float, float, float]] = []
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}

    # -- messages ---------------------------------------------------------------------------

    def on_snapshot(self, ts_local: int, snap: dict[str, Any], where: str) -> None:
        """A REST depth snapshot: image the book, then apply the buffered diffs that follow it."""
        try:
            last_id = int(snap["lastUpdateId"])
            bids, asks = snap["bids"], snap["asks"]
        except (KeyError, TypeError, ValueError):
            raise DataError("REST depth snapshot lacks lastUpdateId/bids/asks", path=where) from None
        if self.synced and self.last_u is not None and last_id <= self.last_u:
            self.sink.count("binance_snapshots_ignored_older_than_book")
            return
        ts_exch = int(snap["E"]) * NS_PER_MS if "E" in snap else ts_local
        self.snapshots += 1
        self.sink.emit_snapshot(ts_exch, ts_local, self.asset, bids, asks, last_id, where=where)
        self.synced = True
        self.last_u = last_id
        self._bridge_pending = True
        if self.check_bbo:
            self._bids = {float(p): float(q) for p, q in bids if float(q) > 0}
            self._asks = {float(p): float(q) for p, q in asks if float(q) > 0}
            self.chains.append(BookCheck(dict(self._bids), dict(self._asks)))
        pending, self.buffer = self.buffer, []
        for _, diff, w in pending:
            if not self.synced:
                self.buffer.append((ts_local, diff, w))
                continue
            self._on_synced_diff(ts_local, diff, w)

    def on_diff(self, ts_local: int, diff: dict[str, Any], where: str) -> None:
        """A depth diff: buffered before a snapshot, else applied or a GAP on a break."""
        if not self.synced:
            if len(self.buffer) >= MAX_BUFFERED_DIFFS:
                self.buffer.pop(0)
                self.sink.count("binance_buffer_overflow_dropped")
            self.buffer.append((ts_local, diff, where))
            return
        self._on_synced_diff(ts_local, diff, where)

    def on_book_ticker(self, ts_local: int, bt: dict[str, Any], where: str) -> None:
        """A bookTicker: a BBO row."""
        ts_exch = int(bt["E"]) * NS_PER_MS if "E" in bt else ts_local
        u = int(bt.get("u", -1))
        self.sink.emit_bbo(ts_exch, ts_local, self.asset, bt["b"], bt["B"], bt["a"], bt["A"], u, where=where)
        if self.check_bbo:
            self.tickers.append((u, float(bt["b"]), float(bt["B"]), float(bt["a"]), float(bt["A"])))

    def on_trade(self, ts_local: int, tr: dict[str, Any], where: str) -> None:
        """A trade: a TRADE row with the aggressor side."""
        ts_exch = int(tr.get("T", tr.get("E"))) * NS_PER_MS
        side = SELL if tr.get("m") else BUY  # m: buyer is the maker, so the seller took liquidity
        trade_id = int(tr["t"] if "t" in tr else tr.get("a", -1))
        self.sink.emit_trade(ts_exch, ts_local, self.asset, side, tr["p"], tr["q"], trade_id, where=where)

    def finish(self, where: str) -> None:
        """End of input: diffs still buffered mean the book never synced."""
        if not self.synced and self.buffer:
            self.sink.count("binance_diffs_without_snapshot", len(self.buffer))

    # -- internals --------------------------------------------------------------------------

    def _on_synced_diff(self, ts_local: int, d: dict[str, Any], where: str) -> None:
        try:
            first, last = int(d["U"]), int(d["u"])
        except (KeyError, TypeError, ValueError):
            raise DataError("depthUpdate lacks U/u update ids", path=where, field="U") from None
        assert self.last_u is not None
        if self._bridge_pending:
            if (last <= self.last_u) if not self.futures else (last < self.last_u):
                self.stale_dropped += 1
                return
            ok = (first <= self.last_u + 1 <= last) if not self.futures else (first <= self.last_u <= last)
            self.checks.sequence_checks += 1
            if not ok:
                self.checks.sequence_mismatches += 1
                self._gap(ts_local, d, f"first diff after the snapshot (U={first}, u={last}) does not bridge "
                                       f"lastUpdateId={self.last_u}", where)
                return
            self._bridge_pending = False
        else:
            if last <= self.last_u:
                self.stale_dropped += 1
                return
            if self.futures:
                pu = d.get("pu")
                chained = pu is not None and int(pu) == self.last_u
            else:
                chained = first == self.last_u + 1
            self.checks.sequence_checks += 1
            if not chained:
                self.checks.sequence_mismatches += 1
                self._gap(ts_local, d, f"sequence break: previous u={self.last_u}, next U={first}"
                                       f"{', pu=' + str(d.get('pu')) if self.futures else ''}", where)
                return
        ts_exch = int(d["E"]) * NS_PER_MS if "E" in d else ts_local
        sink = self.sink
        sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, BID, d.get("b", ()), last, where=where)
        sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, ASK, d.get("a", ()), last, where=where)
        self.last_u = last
        self.diffs_applied += 1
        if self.check_bbo and self.chains:
            levels = [(BID, float(p), float(q)) for p, q in d.get("b", ())]
            levels += [(ASK, float(p), float(q)) for p, q in d.get("a", ())]
            self.chains[-1].diffs.append(_AppliedDiff(first, last, levels))

    def _gap(self, ts_local: int, d: dict[str, Any], why: str, where: str) -> None:
        ts_exch = int(d["E"]) * NS_PER_MS if "E" in d else ts_local
        self.sink.emit_gap(ts_exch, ts_local, self.asset, int(d.get("u", -1)))
        self.sink.warn(f"{where}: {self.symbol}: {why}; book marked GAP until the next snapshot")
        self.gaps += 1
        self.synced = False
        self._bridge_pending = False
        self.buffer = [(ts_local, d, where)]

    # -- verification -----------------------------------------------------------------------

    def bbo_check(self) -> dict[str, Any]:
        """Compare every bookTicker whose ``u`` falls between two applied diffs with the rebuilt top.

        The book after diff k is the venue's book for update ids in [u_k, U_{k+1}); a bookTicker
        with ``u`` in that range must show the same best bid/ask and quantities.
        """
        tickers = sorted(self.tickers)
        checked = mismatched = 0
        examples: list[dict[str, Any]] = []
        ti = 0
        for chain in self.chains:
            bids, asks = dict(chain.base_bids), dict(chain.base_asks)
            diffs = chain.diffs
            for k, diff in enumerate(diffs):
                for side, p, q in diff.levels:
                    book = bids if side == BID else asks
                    if q == 0.0:
                        book.pop(p, None)
                    else:
                        book[p] = q
                if k + 1 >= len(diffs):
                    break
                lo, hi = diff.last, diffs[k + 1].first
                while ti < len(tickers) and tickers[ti][0] < lo:
                    ti += 1
                while ti < len(tickers) and tickers[ti][0] < hi:
                    u, b, bq, a, aq = tickers[ti]
                    ti += 1
                    if not bids or not asks:
                        continue
                    bb, ba = max(bids), min(asks)
                    checked += 1
                    if (bb, bids[bb], ba, asks[ba]) != (b, bq, a, aq):
                        mismatched += 1
                        if len(examples) < 5:
                            examples.append({"u": u, "ticker": [b, bq, a, aq], "book": [bb, bids[bb], ba, asks[ba]]})
        return {"bbo_checked": checked, "bbo_mismatched": mismatched, "mismatch_examples": examples}

    def final_book(self) -> tuple[dict[float, float], dict[float, float]]:
        """The book rebuilt from the last chain's diffs (dict price -> qty), for tests and reports."""
        if not self.chains:
            return {}, {}
        chain = self.chains[-1]
        bids, asks = dict(chain.base_bids), dict(chain.base_asks)
        for diff in chain.diffs:
            for side, p, q in diff.levels:
                book = bids if side == BID else asks
                if q == 0.0:
                    book.pop(p, None)
                else:
                    book[p] = q
        return bids, asks


def symbol_meta(market: str, info: dict[str, Any]) -> dict[str, Any]:
    """Tick, lot and contract size / type of one ``exchangeInfo`` symbol entry."""
    meta: dict[str, Any] = {}
    for f in info.get("filters", ()):
        if f.get("filterType") == "PRICE_FILTER" and float(f.get("tickSize", 0)) > 0:
            meta["tick_size"] = float(f["tickSize"])
        elif f.get("filterType") == "LOT_SIZE" and float(f.get("stepSize", 0)) > 0:
            meta["lot_size"] = float(f["stepSize"])
    if info.get("quoteAsset"):
        meta["quote_currency"] = info["quoteAsset"]
    ctype = info.get("contractType")
    if market == "spot":
        meta["contract_type"] = "spot"
    elif ctype:
        kind = "perp" if ctype == "PERPETUAL" else "future"
        meta["contract_type"] = f"{'linear' if market == 'usdm' else 'inverse'}_{kind}"
    if market == "coinm" and info.get("contractSize"):
        meta["contract_size"] = float(info["contractSize"])
    return meta


class BinanceFeed(VenueFeed):
    """Binance frames (combined-stream envelopes or bare payloads) and REST bodies of one market."""

    sequence = "checked"

    def __init__(self, sink: EventSink, table: InstrumentTable, market: str, venue: str | None = None, *,
                 check_bbo: bool = False) -> None:
        super().__init__(sink, table)
        if market not in VENUE_NAMES:
            raise ConfigError(f"binance market must be one of {sorted(VENUE_NAMES)}, got {market!r}")
        self.market = market
        self.venue = venue or VENUE_NAMES[market]
        self.check_bbo = check_bbo
        self.syncs: dict[str, BinanceBookSync] = {}

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Contract type, quote currency and default fees."""
        return instrument_meta(self.market, symbol)

    def sync(self, symbol: str) -> BinanceBookSync:
        """The book sync of ``symbol`` (created on first use)."""
        s = self.syncs.get(symbol)
        if s is None:
            asset = self.asset(symbol)
            checks = self.table.checks(asset, sequence="checked", book="REST snapshot+delta")
            s = self.syncs[symbol] = BinanceBookSync(self.sink, asset, self.market, symbol, check_bbo=self.check_bbo,
                                                     checks=checks)
        return s

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``exchangeInfo``: every symbol's tick, lot and contract size."""
        if not path.endswith("/exchangeInfo") or not isinstance(data, dict):
            return ()
        return [(self.venue, s["symbol"], symbol_meta(self.market, s)) for s in data.get("symbols", ())
                if isinstance(s, dict) and "symbol" in s]

    def on_rest(self, ts: int, url: str, data: Any, where: str) -> None:
        """A REST depth snapshot syncs its symbol's book."""
        u = urlparse(url)
        if not u.path.endswith("/depth"):
            return
        symbol = parse_qs(u.query).get("symbol", [None])[0] or (data.get("symbol") if isinstance(data, dict) else None)
        if symbol and isinstance(data, dict):
            self.sync(symbol).on_snapshot(ts, data, where)

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """A websocket frame: depth diff, bookTicker, trade, or markPriceUpdate."""
        data = msg.get("data", msg) if isinstance(msg, dict) else None
        if not isinstance(data, dict):
            self.ignore()
            return
        e = data.get("e")
        if e == "depthUpdate":
            self.sync(data["s"]).on_diff(ts, data, where)
        elif e == "bookTicker" or (e is None and {"u", "s", "b", "B", "a", "A"} <= data.keys()):
            self.sync(data["s"]).on_book_ticker(ts, data, where)
        elif e in ("trade", "aggTrade"):
            self.sync(data["s"]).on_trade(ts, data, where)
        elif e == "markPriceUpdate":
            self.on_mark_price(ts, data, where)
        else:
            self.ignore()

    def on_mark_price(self, ts: int, d: dict[str, Any], where: str) -> None:
        """``markPriceUpdate``: MARK and FUNDING rows (see :func:`emit_mark_price`)."""
        emit_mark_price(self.sink, self.asset(d["s"]), ts, d, where)

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection: fresh book syncs (each waits for its next REST image)."""
        for sym in list(self.syncs):
            s = self.syncs[sym]
            self.syncs[sym] = BinanceBookSync(self.sink, s.asset, self.market, sym, check_bbo=self.check_bbo,
                                              checks=s.checks)

    def disconnected(self, ts: int, conn: str = "") -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for sync in self.syncs.values():
            if sync.synced:
                self.sink.emit_gap(ts, ts, sync.asset)

    def report(self) -> dict[str, Any]:
        """Per-symbol sync statistics and checks."""
        out = {}
        for sym, s in self.syncs.items():
            s.finish(sym)
            entry = {"snapshots": s.snapshots, "diffs_applied": s.diffs_applied, "gaps": s.gaps,
                     "stale_diffs_dropped": s.stale_dropped, **s.checks.as_dict()}
            if s.snapshots and self.check_bbo:
                entry.update(s.bbo_check())
            out[sym] = entry
        return out


class BinanceAdapter(Adapter):
    """Binance spot / USD-M / COIN-M: combined stream (depth diffs, bookTicker, trades, markPrice@1s on
    futures) + REST snapshots."""

    uses_rest_snapshots = True
    STREAMS = {"spot": "wss://stream.binance.com:9443", "usdm": "wss://fstream.binance.com",
               "coinm": "wss://dstream.binance.com"}
    REST = {"spot": ("https://api.binance.com", "/api/v3/depth"), "usdm": ("https://fapi.binance.com", "/fapi/v1/depth"),
            "coinm": ("https://dapi.binance.com", "/dapi/v1/depth")}

    def __init__(self, market: str, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None, *,
                 depth_speed: str = "100ms") -> None:
        if market not in VENUE_NAMES:
            raise ConfigError(f"binance market must be one of {sorted(VENUE_NAMES)}, got {market!r}")
        self.market = market
        self.venue = VENUE_NAMES[market]
        self.depth_speed = depth_speed
        self.feed = BinanceFeed(sink, table, market)
        super().__init__(sink, table, symbols, channels, endpoint, rest)
        self.syncs = self.feed.syncs

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        return self.feed.sync(symbol.upper()).asset

    def url(self) -> str:
        """This venue's websocket URL (the configured endpoint, else the public one)."""
        streams = []
        for s in self.symbols:
            low = s.lower()
            if "depth" in self.channels:
                streams.append(f"{low}@depth@{self.depth_speed}")
            if "bbo" in self.channels:
                streams.append(f"{low}@bookTicker")
            if "trades" in self.channels:
                streams.append(f"{low}@trade")
            if "funding" in self.channels and self.market != "spot":
                streams.append(f"{low}@markPrice@1s")
        return f"{self.endpoint or self.STREAMS[self.market]}/stream?streams={'/'.join(streams)}"

    def on_connect(self, ts: int) -> None:
        """A new connection: fresh book syncs (each waits for its next image)."""
        self.feed.connected(ts)

    def snapshot_urls(self) -> dict[str, str]:
        """REST depth snapshot URLs of the books not synced yet."""
        if "depth" not in self.channels:
            return {}
        host, path = self.REST[self.market]
        base = self.rest or host
        return {sym: f"{base}{path}?symbol={sym}&limit=1000" for sym, sync in self.feed.syncs.items()
                if not sync.synced}

    def on_snapshot(self, ts: int, symbol: str, text: str, where: str) -> None:
        """Apply a REST depth snapshot to ``symbol``'s book sync."""
        snap = parse_json(text)
        if not isinstance(snap, dict):
            raise MalformedMessage("REST snapshot is not a JSON object")
        try:
            self.feed.syncs[symbol].on_snapshot(ts, snap, where)
        except DataError as exc:
            raise MalformedMessage(str(exc)) from None

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame of this venue (see the class doc)."""
        msg = parse_json(text)
        data = msg.get("data") if isinstance(msg, dict) and "stream" in msg else msg
        if not isinstance(data, dict):
            raise MalformedMessage("frame is not a JSON object")
        if data.get("e") in ("depthUpdate", "bookTicker", "trade", "aggTrade", "markPriceUpdate") or "u" in data:
            if str(data.get("s", "")).upper() not in self.feed.syncs:
                raise MalformedMessage(f"message for an unsubscribed symbol {data.get('s')!r}")
        try:
            self.feed.on_frame(ts, data, where)
        except (KeyError, TypeError, ValueError, DataError) as exc:
            raise MalformedMessage(f"{data.get('e')}: {exc}") from None

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every book that was synced."""
        self.feed.disconnected(ts)


__all__ = ["BinanceAdapter", "BinanceBookSync", "BinanceFeed", "CRYPTOFEED_EXCHANGES", "VENUE_NAMES", "emit_mark_price",
           "instrument_meta", "market_of", "symbol_meta"]

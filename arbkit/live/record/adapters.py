"""Live venue adapters: endpoints, subscriptions and one normalisation into the event schema.

Each adapter turns a venue's websocket text frames (and, for Binance, REST depth
snapshots) into schema rows through the same book-sync classes the file converters use
(:class:`~arbkit.venues.binance.BinanceBookSync`, :class:`~arbkit.venues.bybit.BybitBookSync`,
:class:`~arbkit.venues.okx.OkxBooks`), so a recording made live and one converted
from the same raw messages hold the same books. Endpoints are configurable (tests point
them at a local server).
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from arbkit.core.errors import ConfigError, DataError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.binance import VENUE_NAMES, BinanceBookSync, instrument_meta
from arbkit.venues.bybit import BybitBookSync
from arbkit.venues.common import NS_PER_MS, EventSink, InstrumentTable
from arbkit.venues.okx import OkxBooks, okx_meta

CHANNELS = ("depth", "trades", "bbo")


class MalformedMessage(Exception):
    """A frame that is not JSON or not the shape its channel promises (counted, logged, skipped)."""


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MalformedMessage(f"not JSON ({exc})") from None


class Adapter:
    """One venue connection: URL, subscribe frames, message handling, GAPs on disconnect."""

    venue = ""
    uses_rest_snapshots = False
    heartbeat: tuple[float, str] | None = None  # (every seconds, text frame) some venues require

    def __init__(self, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None) -> None:
        if not symbols:
            raise ConfigError(f"{self.venue}: no symbols to record")
        bad = sorted(set(channels) - set(CHANNELS))
        if bad:
            raise ConfigError(f"{self.venue}: unknown channel(s) {bad}; known: {list(CHANNELS)}")
        self.sink, self.table = sink, table
        self.symbols = list(symbols)
        self.channels = tuple(channels)
        self.endpoint = endpoint
        self.rest = rest
        self.assets = {s: self.register(s) for s in self.symbols}

    # to implement per venue
    def register(self, symbol: str) -> int:
        """Register ``symbol`` as an instrument; its asset index."""
        raise NotImplementedError

    def url(self) -> str:
        """The websocket URL to connect to."""
        raise NotImplementedError

    def subscriptions(self) -> list[str]:
        """Frames to send right after connecting (subscribe requests)."""
        return []

    def on_connect(self, ts: int) -> None:
        """A new connection: book state starts over (the venue sends or we fetch a fresh image)."""

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame into schema rows; MalformedMessage when it cannot be read."""
        raise NotImplementedError

    def needs_resync(self) -> bool:
        """True when a book lost its sequence and only a new connection brings a fresh snapshot."""
        return False

    def snapshot_urls(self) -> dict[str, str]:
        """REST snapshots needed now, by symbol (venues that sync books from REST)."""
        return {}

    def on_snapshot(self, ts: int, symbol: str, text: str, where: str) -> None:
        """Apply a REST snapshot body for ``symbol``."""
        raise NotImplementedError

    def on_disconnect(self, ts: int) -> None:
        """The connection is gone: every asset's book is unknown until its next image (a GAP)."""
        for asset in self.assets.values():
            self.sink.emit_gap(ts, ts, asset)


class BinanceAdapter(Adapter):
    """Binance spot / USD-M / COIN-M: combined stream (depth diffs, bookTicker, trades) + REST snapshots."""

    uses_rest_snapshots = True
    STREAMS = {"spot": "wss://stream.binance.com:9443", "usdm": "wss://fstream.binance.com",
               "coinm": "wss://dstream.binance.com"}
    REST = {"spot": ("https://api.binance.com", "/api/v3/depth"), "usdm": ("https://fapi.binance.com", "/fapi/v1/depth"),
            "coinm": ("https://dapi.binance.com", "/dapi/v1/depth")}

    def __init__(self, market: str, *args: Any, depth_speed: str = "100ms", **kw: Any) -> None:
        if market not in VENUE_NAMES:
            raise ConfigError(f"binance market must be one of {sorted(VENUE_NAMES)}, got {market!r}")
        self.market = market
        self.venue = VENUE_NAMES[market]
        self.depth_speed = depth_speed
        super().__init__(*args, **kw)
        self.syncs: dict[str, BinanceBookSync] = {}
        self.on_connect(0)

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        return self.table.asset(self.venue, symbol.upper(), **instrument_meta(self.market, symbol.upper()))

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
        return f"{self.endpoint or self.STREAMS[self.market]}/stream?streams={'/'.join(streams)}"

    def on_connect(self, ts: int) -> None:
        """A new connection: fresh book syncs (each waits for its next image)."""
        self.syncs = {s.upper(): BinanceBookSync(self.sink, self.assets[s], self.market, s.upper()) for s in self.symbols}

    def snapshot_urls(self) -> dict[str, str]:
        """REST depth snapshot URLs of the books not synced yet."""
        if "depth" not in self.channels:
            return {}
        host, path = self.REST[self.market]
        base = self.rest or host
        return {sym: f"{base}{path}?symbol={sym}&limit=1000" for sym, sync in self.syncs.items() if not sync.synced}

    def on_snapshot(self, ts: int, symbol: str, text: str, where: str) -> None:
        """Apply a REST depth snapshot to ``symbol``'s book sync."""
        snap = _json(text)
        if not isinstance(snap, dict):
            raise MalformedMessage("REST snapshot is not a JSON object")
        try:
            self.syncs[symbol].on_snapshot(ts, snap, where)
        except DataError as exc:
            raise MalformedMessage(str(exc)) from None

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame of this venue (see the class doc)."""
        msg = _json(text)
        data = msg.get("data") if isinstance(msg, dict) and "stream" in msg else msg
        if not isinstance(data, dict):
            raise MalformedMessage("frame is not a JSON object")
        sync = self.syncs.get(str(data.get("s", "")).upper())
        e = data.get("e")
        if e == "depthUpdate":
            handler = "on_diff"
        elif e == "bookTicker" or (e is None and {"u", "s", "b", "B", "a", "A"} <= data.keys()):
            handler = "on_book_ticker"
        elif e in ("trade", "aggTrade"):
            handler = "on_trade"
        else:
            self.sink.count("messages_ignored")
            return
        if sync is None:
            raise MalformedMessage(f"message for an unsubscribed symbol {data.get('s')!r}")
        try:
            getattr(sync, handler)(ts, data, where)
        except (KeyError, TypeError, ValueError, DataError) as exc:
            raise MalformedMessage(f"{e}: {exc}") from None

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for sym, sync in self.syncs.items():
            if sync.synced:
                self.sink.emit_gap(ts, ts, sync.asset)


class BybitAdapter(Adapter):
    """Bybit v5 public streams: ``orderbook.50.S`` (snapshot + delta with ``u``), ``publicTrade.S``."""

    STREAMS = "wss://stream.bybit.com/v5/public/{category}"

    def __init__(self, category: str, *args: Any, depth: int = 50, **kw: Any) -> None:
        if category not in ("linear", "inverse", "spot"):
            raise ConfigError(f"bybit category must be linear, inverse or spot, got {category!r}")
        self.category = category
        self.venue = f"bybit-{category}"  # as the file converter names it
        self.depth = depth
        super().__init__(*args, **kw)
        self.on_connect(0)

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        ctype = {"linear": "linear_perp", "inverse": "inverse_perp", "spot": "spot"}[self.category]
        return self.table.asset(self.venue, symbol.upper(), contract_type=ctype)

    def url(self) -> str:
        """This venue's websocket URL (the configured endpoint, else the public one)."""
        return self.endpoint or self.STREAMS.format(category=self.category)

    def subscriptions(self) -> list[str]:
        """This venue's subscribe frames for the symbols and channels."""
        args = []
        for s in self.symbols:
            if "depth" in self.channels:
                args.append(f"orderbook.{self.depth}.{s.upper()}")
            if "trades" in self.channels:
                args.append(f"publicTrade.{s.upper()}")
        return [json.dumps({"op": "subscribe", "args": args})]

    def on_connect(self, ts: int) -> None:
        """A new connection: fresh book syncs (each waits for its next image)."""
        self.syncs = {s.upper(): BybitBookSync(self.sink, self.assets[s], s.upper()) for s in self.symbols}
        self._had_book = {s: False for s in self.syncs}

    def needs_resync(self) -> bool:
        """True when a book broke its sequence: reconnect for a fresh snapshot."""
        return any(self._had_book[s] and not sync.synced for s, sync in self.syncs.items())

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame of this venue (see the class doc)."""
        msg = _json(text)
        if not isinstance(msg, dict):
            raise MalformedMessage("frame is not a JSON object")
        topic = msg.get("topic", "")
        if not topic:
            self.sink.count("messages_ignored")  # subscription acks, pongs
            return
        sym = topic.rsplit(".", 1)[-1]
        if sym not in self.syncs:
            raise MalformedMessage(f"topic {topic!r} is not subscribed")
        try:
            if topic.startswith("orderbook."):
                self.syncs[sym].on_message(ts, msg, where)
                self._had_book[sym] = self._had_book[sym] or self.syncs[sym].synced
            elif topic.startswith("publicTrade."):
                for t in msg["data"]:
                    self.sink.emit_trade(int(t["T"]) * NS_PER_MS, ts, self.syncs[sym].asset,
                                         BUY if t["S"] == "Buy" else SELL, t["p"], t["v"], -1, where=where)
            else:
                self.sink.count("messages_ignored")
        except (KeyError, TypeError, ValueError, DataError) as exc:
            raise MalformedMessage(f"{topic}: {exc}") from None

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for sync in self.syncs.values():
            if sync.synced:
                self.sink.emit_gap(ts, ts, sync.asset)


class OkxAdapter(Adapter):
    """OKX v5 public: ``books`` (400 levels, CRC32 checksum per message), ``trades``, ``tickers``."""

    venue = "okx"
    STREAMS = "wss://ws.okx.com:8443/ws/v5/public"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.on_connect(0)

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        return self.table.asset("okx", symbol, **okx_meta(symbol))

    def url(self) -> str:
        """This venue's websocket URL (the configured endpoint, else the public one)."""
        return self.endpoint or self.STREAMS

    def subscriptions(self) -> list[str]:
        """This venue's subscribe frames for the symbols and channels."""
        names = {"depth": "books", "trades": "trades", "bbo": "tickers"}
        args = [{"channel": names[c], "instId": s} for s in self.symbols for c in self.channels]
        return [json.dumps({"op": "subscribe", "args": args})]

    def on_connect(self, ts: int) -> None:
        """A new connection: fresh book syncs (each waits for its next image)."""
        self.books = OkxBooks(self.sink, self.table)

    def needs_resync(self) -> bool:
        """True when a book broke its sequence: reconnect for a fresh snapshot."""
        return any(self.books.books.get(s) is not None and not ok for s, ok in self.books.synced.items())

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Normalise one frame of this venue (see the class doc)."""
        msg = _json(text)
        if not isinstance(msg, dict):
            raise MalformedMessage("frame is not a JSON object")
        if "event" in msg:  # subscribe / error acks
            self.sink.count("okx_events")
            return
        if msg.get("arg", {}).get("instId") not in self.assets:
            raise MalformedMessage(f"message for an unsubscribed instrument {msg.get('arg')!r}")
        try:
            self.books.recv(ts, msg, where)
        except (KeyError, TypeError, ValueError, DataError) as exc:
            raise MalformedMessage(f"okx: {exc}") from None

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for inst, ok in self.books.synced.items():
            if ok:
                self.sink.emit_gap(ts, ts, self.assets[inst])


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
        msg = _json(text)
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


VENUES = ("binance-spot", "binance-usdm", "binance-coinm", "bybit-linear", "bybit-inverse", "bybit-spot", "okx",
          "polymarket")


def make_adapter(venue: str, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None) -> Adapter:
    """The adapter for ``venue`` (one of :data:`VENUES`; ``binance`` means spot, ``bybit`` linear)."""
    kw = {"channels": channels, "endpoint": endpoint, "rest": rest}
    venue = {"binance": "binance-spot", "bybit": "bybit-linear"}.get(venue, venue)
    if venue.startswith("binance-"):
        return BinanceAdapter(venue.split("-", 1)[1], sink, table, symbols, **kw)
    if venue.startswith("bybit-"):
        return BybitAdapter(venue.split("-", 1)[1], sink, table, symbols, **kw)
    if venue == "okx":
        return OkxAdapter(sink, table, symbols, **kw)
    if venue == "polymarket":
        return PolymarketAdapter(sink, table, symbols, **kw)
    raise ConfigError(f"unknown venue {venue!r}; known: {list(VENUES)}")

"""Bybit v5 public streams (linear / inverse / spot): ``orderbook.N``, ``publicTrade``, ``tickers``.

Book rule (Bybit v5 docs, "Orderbook"): a ``snapshot`` (or a message with ``u == 1``, sent
after a service restart) replaces the book; each ``delta`` must carry ``u`` one above the
previous message's, else the book is a GAP until the next snapshot (live: a new
connection, Bybit sends a snapshot on subscribe). No checksum. ``tickers`` (snapshot, then
deltas of the changed fields) give ``fundingRate`` for ``nextFundingTime`` (FUNDING rows),
``markPrice`` / ``indexPrice`` (MARK rows) and the best bid / ask (BBO rows).
``/v5/market/instruments-info`` gives tick, lot, contract type.

One normaliser (:class:`BybitFeed`) serves the ``bybit`` capture converter, cryptofeed's
BYBIT captures and the recorder's :class:`BybitAdapter`.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from arbkit.core.errors import ConfigError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.adapter import CHANNELS, FeedAdapter
from arbkit.venues.common import NS_PER_MS, BookChecks, EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import VenueFeed

CATEGORIES = ("linear", "inverse", "spot")
CONTRACT = {"linear": "linear_perp", "inverse": "inverse_perp", "spot": "spot"}
FEES = {"linear": (2.0, 5.5), "inverse": (2.0, 5.5), "spot": (10.0, 10.0)}  # VIP0 list fees, bps


def venue_name(category: str) -> str:
    """The arbkit venue of a Bybit category ('bybit-linear', ...)."""
    return f"bybit-{category}"


class BybitBookSync:
    """One Bybit symbol's snapshot/delta stream to schema rows with the ``u`` continuity check."""

    def __init__(self, sink: EventSink, asset: int, symbol: str, checks: BookChecks | None = None) -> None:
        self.sink, self.asset, self.symbol = sink, asset, symbol
        self.checks = checks if checks is not None else BookChecks(sequence="checked")
        self.last_u: int | None = None
        self.synced = False
        self.ever_synced = False
        self.snapshots = self.deltas = self.gaps = 0

    def on_message(self, ts_local: int, msg: dict[str, Any], where: str) -> None:
        """One ``orderbook`` message: snapshot, delta, or a GAP on a broken ``u`` chain."""
        data = msg["data"]
        ts_exch = int(msg.get("ts", 0)) * NS_PER_MS or ts_local
        u = int(data.get("u", -1))
        if msg.get("type") == "snapshot" or u == 1:
            self.sink.emit_snapshot(ts_exch, ts_local, self.asset, data.get("b", ()), data.get("a", ()), u,
                                    where=where)
            self.synced = self.ever_synced = True
            self.last_u = u
            self.snapshots += 1
            return
        if not self.synced:
            self.sink.count("bybit_deltas_before_snapshot")
            return
        self.checks.sequence_checks += 1
        if self.last_u is not None and u != self.last_u + 1:
            self.checks.sequence_mismatches += 1
            self.sink.emit_gap(ts_exch, ts_local, self.asset, u)
            self.sink.warn(f"{where}: {self.symbol}: update id {u} does not follow {self.last_u}; GAP until the "
                           f"next snapshot")
            self.synced = False
            self.gaps += 1
            return
        self.sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, BID, data.get("b", ()), u, where=where)
        self.sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, ASK, data.get("a", ()), u, where=where)
        self.last_u = u
        self.deltas += 1


def instrument_entry(category: str, d: dict[str, Any]) -> dict[str, Any]:
    """Tick, lot and contract type of one ``instruments-info`` entry."""
    meta: dict[str, Any] = {"quote_currency": d.get("quoteCoin") or None}
    tick = (d.get("priceFilter") or {}).get("tickSize")
    lots = d.get("lotSizeFilter") or {}
    lot = lots.get("qtyStep") or lots.get("basePrecision")
    meta["tick_size"] = float(tick) if tick else None
    meta["lot_size"] = float(lot) if lot else None
    ct = d.get("contractType", "")
    if category == "spot":
        meta["contract_type"] = "spot"
    elif ct:
        inverse = ct.startswith("Inverse")
        meta["contract_type"] = f"{'inverse' if inverse else 'linear'}_{'perp' if ct.endswith('Perpetual') else 'future'}"
        if inverse:
            meta["contract_size"] = 1.0  # one contract = 1 USD
    return meta


class BybitFeed(VenueFeed):
    """Bybit v5 frames of one or more categories (a capture names each connection's category)."""

    sequence = "checked"

    def __init__(self, sink: EventSink, table: InstrumentTable, category: str = "linear") -> None:
        super().__init__(sink, table)
        if category not in CATEGORIES:
            raise ConfigError(f"bybit category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        self.category = category
        self.venue = venue_name(category)
        self.conn_category: dict[str, str] = {}
        self.syncs: dict[tuple[str, str], BybitBookSync] = {}
        self.tickers: dict[tuple[str, str], dict[str, Any]] = {}

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Contract type from the category, VIP0 list fees."""
        cat = venue.split("-", 1)[1]
        maker, taker = FEES[cat]
        return {"contract_type": CONTRACT[cat], "maker_fee_bps": maker, "taker_fee_bps": taker}

    def connection(self, conn: str, addr: str, ts: int) -> None:
        """A capture's connect line: the category is the last part of the URL (``/v5/public/linear``)."""
        super().connection(conn, addr, ts)
        cat = addr.rstrip("/").rsplit("/", 1)[-1]
        if cat in CATEGORIES:
            self.conn_category[conn] = cat

    def sync(self, symbol: str, category: str | None = None) -> BybitBookSync:
        """The book sync of ``symbol`` in ``category`` (made on first use)."""
        cat = category or self.category
        key = (cat, symbol)
        s = self.syncs.get(key)
        if s is None:
            asset = self.asset(symbol, venue_name(cat))
            s = self.syncs[key] = BybitBookSync(self.sink, asset, symbol, self.table.checks(asset, sequence="checked"))
        return s

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """``/v5/market/instruments-info``: tick, lot and contract type."""
        if not path.endswith("/instruments-info") or not isinstance(data, dict):
            return ()
        result = data.get("result") or {}
        cat = result.get("category") or self.category
        if cat not in CATEGORIES:
            return ()
        return [(venue_name(cat), d["symbol"], instrument_entry(cat, d)) for d in result.get("list", ())
                if isinstance(d, dict) and "symbol" in d]

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v5 frame (orderbook / publicTrade / tickers; acks and pongs are counted)."""
        if not isinstance(msg, dict) or not msg.get("topic"):
            self.sink.count("bybit_messages_ignored")
            return
        topic = str(msg["topic"])
        cat = self.conn_category.get(conn, self.category)
        if topic.startswith("orderbook."):
            data = msg.get("data")
            if not isinstance(data, dict) or "s" not in data:
                raise MalformedMessage("orderbook message without data.s")
            self.sync(data["s"], cat).on_message(ts, msg, where)
        elif topic.startswith("publicTrade."):
            for t in msg["data"]:
                asset = self.asset(t["s"], venue_name(cat))
                tid = str(t.get("i", ""))
                self.sink.emit_trade(int(t["T"]) * NS_PER_MS, ts, asset, BUY if t["S"] == "Buy" else SELL, t["p"],
                                     t["v"], int(tid) if tid.isdigit() else -1, where=where)
        elif topic.startswith("tickers."):
            self._ticker(ts, msg, cat, where)
        else:
            self.sink.count("bybit_messages_ignored")

    def _ticker(self, ts: int, msg: dict[str, Any], cat: str, where: str) -> None:
        d = msg["data"]
        sym = d.get("symbol") or str(msg["topic"]).rsplit(".", 1)[-1]
        key = (cat, sym)
        state = self.tickers.setdefault(key, {})
        if msg.get("type") == "snapshot":
            state.clear()
        state.update({k: v for k, v in d.items() if v not in (None, "")})
        asset = self.asset(sym, venue_name(cat))
        ts_exch = int(msg.get("ts", 0)) * NS_PER_MS or ts
        if ("fundingRate" in d or "nextFundingTime" in d) and state.get("fundingRate") not in (None, "") \
                and int(state.get("nextFundingTime") or 0) > 0:
            self.sink.emit_funding(ts_exch, ts, asset, state["fundingRate"], int(state["nextFundingTime"]) * NS_PER_MS,
                                   where=where)
        if ("markPrice" in d or "indexPrice" in d) and state.get("markPrice"):
            self.sink.emit_mark(ts_exch, ts, asset, state["markPrice"], state.get("indexPrice"), where=where)
        if any(k in d for k in ("bid1Price", "bid1Size", "ask1Price", "ask1Size")) and \
                all(state.get(k) for k in ("bid1Price", "bid1Size", "ask1Price", "ask1Size")):
            self.sink.emit_bbo(ts_exch, ts, asset, state["bid1Price"], state["bid1Size"], state["ask1Price"],
                               state["ask1Size"], -1, where=where)

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection: fresh book syncs (each waits for its snapshot), ticker state forgotten."""
        for key, s in list(self.syncs.items()):
            self.syncs[key] = BybitBookSync(self.sink, s.asset, s.symbol, s.checks)
        self.tickers.clear()

    def disconnected(self, ts: int, conn: str = "") -> None:
        """The connection dropped: a GAP for every book that was synced."""
        for s in self.syncs.values():
            if s.synced:
                self.sink.emit_gap(ts, ts, s.asset)

    def needs_resync(self) -> bool:
        """True when a book broke its sequence: reconnect for a fresh snapshot."""
        return any(s.ever_synced and not s.synced for s in self.syncs.values())

    def report(self) -> dict[str, Any]:
        """Per symbol: snapshots, deltas, gaps and checks."""
        return {f"{venue_name(cat)}:{sym}" if cat != self.category else sym:
                {"snapshots": s.snapshots, "deltas": s.deltas, "gaps": s.gaps, **s.checks.as_dict()}
                for (cat, sym), s in self.syncs.items()}


class BybitAdapter(FeedAdapter):
    """Bybit v5 public streams: ``orderbook.50.S`` (snapshot + delta with ``u``), ``publicTrade.S``, and
    ``tickers.S`` for BBO, funding and mark price (derivatives)."""

    STREAMS = "wss://stream.bybit.com/v5/public/{category}"

    def __init__(self, category: str, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None, *,
                 depth: int = 50) -> None:
        if category not in CATEGORIES:
            raise ConfigError(f"bybit category must be linear, inverse or spot, got {category!r}")
        self.category = category
        self.venue = venue_name(category)  # as the file converter names it
        self.depth = depth
        super().__init__(sink, table, [s.upper() for s in symbols], channels, endpoint, rest)

    def make_feed(self, sink: EventSink, table: InstrumentTable) -> BybitFeed:
        """The Bybit normaliser of this category."""
        return BybitFeed(sink, table, self.category)

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        return self.feed.sync(symbol.upper()).asset

    def url(self) -> str:
        """This venue's websocket URL (the configured endpoint, else the public one)."""
        return self.endpoint or self.STREAMS.format(category=self.category)

    def subscriptions(self) -> list[str]:
        """This venue's subscribe frames for the symbols and channels."""
        args = []
        for s in self.symbols:
            if "depth" in self.channels:
                args.append(f"orderbook.{self.depth}.{s}")
            if "trades" in self.channels:
                args.append(f"publicTrade.{s}")
            if "bbo" in self.channels or ("funding" in self.channels and self.category != "spot"):
                args.append(f"tickers.{s}")
        return [json.dumps({"op": "subscribe", "args": args})]

    def accept(self, msg: Any) -> bool:
        """Acks and pongs (no topic) are counted; topics of other symbols are malformed."""
        if not isinstance(msg, dict):
            raise MalformedMessage("frame is not a JSON object")
        topic = msg.get("topic", "")
        if not topic:
            self.sink.count("messages_ignored")
            return False
        if topic.rsplit(".", 1)[-1] not in self.assets:
            raise MalformedMessage(f"topic {topic!r} is not subscribed")
        return True

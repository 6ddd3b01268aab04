"""Polymarket CLOB market channel (live): ``book`` images, ``price_change`` level updates, trades.

Polymarket sends no sequence numbers or checksums: a disconnect is a GAP until the next
``book`` message. Each outcome token (Up / Down) is a ``binary_outcome`` instrument.

A symbol that is a market slug or ``0x`` condition id (or ``market:<either>``) names a whole market: its tokens are looked up
on Polymarket's public market REST endpoint (``GAMMA``, or the configured REST base) and both
are recorded, each with its market id, outcome, complement and resolution (end) time.
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from arbkit.core.errors import ConfigError, DataError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.adapter import Adapter, MalformedMessage, parse_json
from arbkit.venues.common import NS_PER_MS


#: Polymarket's public market lookup (Gamma API)
GAMMA = "https://gamma-api.polymarket.com"


def _listish(v: Any) -> list[Any]:
    """Gamma sends some lists as JSON text (``'["Up", "Down"]'``)."""
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            return []
    return list(v) if isinstance(v, list) else []


def _iso_ns(text: Any) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(round(when.timestamp())) * 1_000_000_000


def lookup_market(market: str, rest: str | None = None, timeout_s: float = 10.0) -> list[tuple[str, str, dict[str, Any]]]:
    """The tokens of a market (slug or ``0x`` condition id): ``(name, token id, instrument metadata)`` per outcome.

    One GET of ``<rest>/markets?slug=`` (or ``?condition_ids=``); a ConfigError in one line when
    the lookup fails or finds no market with two outcome tokens.
    """
    key = "condition_ids" if market.startswith("0x") else "slug"
    url = f"{(rest or GAMMA).rstrip('/')}/markets?{urllib.parse.urlencode({key: market})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (https or a configured base)
            data = json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConfigError(f"polymarket: market lookup {url} failed ({exc})") from None
    rows = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    for row in rows:
        if not isinstance(row, dict):
            continue
        outcomes = [str(o) for o in _listish(row.get("outcomes"))]
        tokens = [str(t) for t in _listish(row.get("clobTokenIds"))]
        if len(outcomes) != 2 or len(tokens) != 2:
            continue
        slug = str(row.get("slug") or market)
        names = [f"{slug}-{o.upper()}" for o in outcomes]
        out = []
        for k in range(2):
            out.append((names[k], tokens[k], {"market_id": str(row.get("conditionId") or slug), "outcome": outcomes[k],
                                              "complement": names[1 - k],
                                              "resolution_ts": _iso_ns(row.get("endDate") or row.get("end_date_iso"))}))
        return out
    raise ConfigError(f"polymarket: market {market!r}: the lookup {url} found no market with two outcome tokens")


class PolymarketAdapter(Adapter):
    """Polymarket CLOB market channel: ``book`` (full image), ``price_change`` (level updates),
    ``last_trade_price``; each token (Up / Down) a ``binary_outcome`` instrument.

    Symbols are token ids, optionally named: ``SOL-UP=<token id>``, or markets (a slug or a ``0x``
    condition id): both tokens, found with :func:`lookup_market`. Polymarket sends no
    sequence numbers; a disconnect is a GAP until the next ``book`` message.
    """

    venue = "polymarket"
    STREAMS = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    heartbeat = (10.0, "PING")

    def __init__(self, sink: Any, table: Any, symbols: Any, *args: Any, **kw: Any) -> None:
        self.tokens: dict[str, str] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        rest = kw.get("rest") if "rest" in kw else (args[2] if len(args) > 2 else None)
        expanded: list[str] = []
        for sym in symbols:
            market = sym[len("market:"):] if sym.startswith("market:") else (
                sym if "=" not in sym and not sym.isdigit() else None)  # token ids are digits; a slug or 0x id is not
            if market:  # a market: both of its tokens, found on the REST lookup
                for name, token, meta in lookup_market(market, rest):
                    self._meta[name] = meta
                    expanded.append(f"{name}={token}")
            else:
                expanded.append(sym)
        super().__init__(sink, table, expanded, *args, **kw)
        self.has_book: dict[str, bool] = {t: False for t in self.tokens}

    def register(self, symbol: str) -> int:
        """Register ``symbol`` as this venue's instrument; its asset index."""
        name, _, token = symbol.partition("=")
        token = token or name
        self.tokens[token] = name
        meta = {k: v for k, v in self._meta.get(name, {}).items() if v is not None}
        return self.table.asset("polymarket", name, contract_type="binary_outcome", quote_currency="USDC",
                                maker_fee_bps=0.0, taker_fee_bps=0.0, extra={"token_id": token}, **meta)

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
        msg = parse_json(text)
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

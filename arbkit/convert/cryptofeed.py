"""Convert cryptofeed's raw capture format (NDJSON: header / http / connect / send / recv lines).

This module reads the container only: the header names the exchange, whose normaliser
(:class:`~arbkit.venues.feed.VenueFeed`, one module per venue under :mod:`arbkit.venues`,
shared with the live recorder) gets every ``http`` body (instrument metadata, REST book
snapshots), ``connect`` address and ``recv`` frame. The venues' book rules (sequence
numbers, checksums, snapshot / delta semantics, GAP and re-sync) and what each instrument
could be checked for are in each venue module and in docs/venues.md; the conversion report
gives, per file and book, the counters and checks, and each instrument's ``extra`` holds
``book_checks`` and ``meta_source``.

Local time is the ``recv`` line's ``ts`` (unix seconds, float).
"""
from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

from arbkit.core.errors import DataError
from arbkit.convert.files import LocalClock, iter_lines, loads
from arbkit.venues.binance import BinanceFeed
from arbkit.venues.bitfinex import BitfinexFeed
from arbkit.venues.bitflyer import BitflyerFeed
from arbkit.venues.bitget import BitgetFeed
from arbkit.venues.bitstamp import BitstampFeed
from arbkit.venues.bybit import BybitFeed
from arbkit.venues.coinbase import CoinbaseFeed
from arbkit.venues.common import ConversionResult, EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.cryptocom import CryptoComFeed
from arbkit.venues.deribit import DeribitFeed
from arbkit.venues.feed import VenueFeed, ns_from_s
from arbkit.venues.gateio import GateioFeed
from arbkit.venues.gemini import GeminiFeed
from arbkit.venues.huobi import HuobiFeed
from arbkit.venues.kraken import KrakenFeed
from arbkit.venues.kraken_futures import KrakenFuturesFeed
from arbkit.venues.kucoin import KucoinFeed
from arbkit.venues.okx import OkxFeed
from arbkit.venues.phemex import PhemexFeed
from arbkit.venues.poloniex import PoloniexFeed
from arbkit.venues.upbit import UpbitFeed

Factory = Callable[[EventSink, InstrumentTable, bool], VenueFeed]


def _plain(cls: type[VenueFeed], *args: Any) -> Factory:
    return lambda sink, table, check_bbo: cls(sink, table, *args)


def _binance(market: str, venue: str) -> Factory:
    return lambda sink, table, check_bbo: BinanceFeed(sink, table, market, venue, check_bbo=check_bbo)


#: cryptofeed exchange id -> normaliser factory ``(sink, table, check_bbo)``
FEEDS: dict[str, Factory] = {
    "BINANCE": _binance("spot", "binance"),
    "BINANCE_US": _binance("spot", "binance-us"),
    "BINANCE_FUTURES": _binance("usdm", "binance-usdm"),
    "BINANCE_DELIVERY": _binance("coinm", "binance-coinm"),
    "BITFINEX": _plain(BitfinexFeed),
    "BITFLYER": _plain(BitflyerFeed),
    "BITGET": _plain(BitgetFeed),
    "BITSTAMP": _plain(BitstampFeed),
    "BYBIT": _plain(BybitFeed),
    "COINBASE": _plain(CoinbaseFeed),
    "CRYPTO.COM": _plain(CryptoComFeed),
    "DERIBIT": _plain(DeribitFeed),
    "GATEIO": _plain(GateioFeed, "spot"),
    "GATEIO_FUTURES": _plain(GateioFeed, "futures"),
    "GEMINI": _plain(GeminiFeed),
    "HUOBI": _plain(HuobiFeed, "spot"),
    "HUOBI_SWAP": _plain(HuobiFeed, "swap"),
    "KRAKEN": _plain(KrakenFeed),
    "KRAKEN_FUTURES": _plain(KrakenFuturesFeed),
    "KUCOIN": _plain(KucoinFeed),
    "OKX": _plain(OkxFeed),
    "PHEMEX": _plain(PhemexFeed),
    "POLONIEX": _plain(PoloniexFeed),
    "UPBIT": _plain(UpbitFeed),
}


def make_feed(exchange: Any, sink: EventSink, table: InstrumentTable, check_bbo: bool, where: Path) -> VenueFeed:
    """The normaliser of a capture's exchange (a DataError naming the supported ones)."""
    if exchange not in FEEDS:
        raise DataError(f"cryptofeed exchange {exchange!r} is not supported (supported: {', '.join(sorted(FEEDS))})",
                        path=where, field="exchange")
    return FEEDS[exchange](sink, table, check_bbo)


def frame_text(rec: dict[str, Any]) -> str | None:
    """The websocket frame of a ``recv`` line (text, or binary frames stored base64)."""
    text = rec.get("data")
    if text is None and "b64" in rec:
        raw = base64.b64decode(rec["b64"])
        if raw[:2] == b"\x1f\x8b":  # gzip-compressed frames (Huobi)
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8", "replace")
    return text


def convert_cryptofeed(sources: Sequence[str | Path], *, check_bbo: bool = True,
                       instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert cryptofeed raw captures (any mix of exchanges) into one event table."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    report: dict[str, Any] = {"format": "cryptofeed", "files": {}}
    for src in (Path(s) for s in sources):
        feed: VenueFeed | None = None
        exchange = None
        lines = 0
        clock = LocalClock(src, field="ts")  # per connection: connections are written block by block
        for lineno, line in iter_lines(src):
            rec = loads(line, path=src, row=lineno)
            if not isinstance(rec, dict) or "t" not in rec:
                raise DataError("not a cryptofeed capture line (no 't' field)", path=src, row=lineno, field="t")
            t = rec["t"]
            if t == "header":
                exchange = rec.get("exchange")
                feed = make_feed(exchange, sink, table, check_bbo, src)
                continue
            if feed is None:
                raise DataError("capture does not start with a header line", path=src, row=lineno)
            where = f"{src} line {lineno}"
            lines += 1
            try:
                if t in ("http", "recv") and "ts" in rec:
                    clock.check(ns_from_s(rec["ts"]), lineno, rec.get("conn"))
                if t == "http":
                    try:
                        feed.http(ns_from_s(rec["ts"]), rec.get("url", ""), rec.get("data", ""), where)
                    except MalformedMessage:
                        sink.count("cryptofeed_http_unparsed")
                elif t == "connect":
                    feed.connection(rec.get("conn", ""), rec.get("addr", ""), ns_from_s(rec.get("ts", 0)))
                elif t == "recv":
                    try:
                        feed.recv(ns_from_s(rec["ts"]), frame_text(rec), where, rec.get("conn", ""))
                    except MalformedMessage:
                        sink.count("cryptofeed_malformed_messages")
            except DataError as exc:
                if exc.path is None:
                    raise DataError(exc.problem, path=src, row=lineno, field=exc.field) from None
                raise
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise DataError(f"malformed {exchange} {t} message ({type(exc).__name__}: {exc})", path=src,
                                row=lineno) from None
        if feed is None:
            raise DataError("empty capture (no header line)", path=src)
        report["files"][src.name] = {"exchange": exchange, "lines": lines, "venue_report": feed.report()}
    report["counters"] = dict(sink.counters)
    report["warnings"] = list(sink.warnings)
    events = sink.columns()
    return ConversionResult(events=events, instruments=table.instruments(events), report=report,
                            sources=[str(s) for s in sources])


def venue_catalog(sources: Sequence[str | Path]) -> InstrumentTable:
    """An instrument table holding only the venue metadata (``http`` lines) of cryptofeed captures."""
    table = InstrumentTable()
    sink = EventSink(table)
    for src in (Path(s) for s in sources):
        feed = None
        for lineno, line in iter_lines(src):
            rec = loads(line, path=src, row=lineno)
            if not isinstance(rec, dict):
                continue
            if rec.get("t") == "header":
                feed = make_feed(rec.get("exchange"), sink, table, False, src)
            elif rec.get("t") == "http" and feed is not None:
                try:
                    data = feed.loads(rec.get("data", ""))
                except MalformedMessage:
                    continue
                path = urlparse(rec.get("url", "")).path
                for venue, symbol, meta in feed.catalog_from(path, rec.get("url", ""), data):
                    table.catalog(venue, symbol, f"venue:{path}", **meta)
        if feed is None:
            raise DataError("not a cryptofeed capture (no header line)", path=src)
    return table


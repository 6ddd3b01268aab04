"""Convert cryptofeed's raw capture format (NDJSON: header / http / connect / send / recv lines).

Venues handled, each with its own sequence or checksum rule:

- ``BINANCE``, ``BINANCE_US`` (spot), ``BINANCE_FUTURES`` (USD-M), ``BINANCE_DELIVERY`` (COIN-M):
  REST ``/depth`` snapshots from the ``http`` lines + ``depthUpdate`` diffs, synced by
  Binance's rules (:mod:`arbkit.venues.binance`); bookTicker and trades.
- ``OKX``: ``books`` snapshot + update with the CRC32 checksum of the top 25 levels checked
  after every message; a mismatch is a GAP and the book waits for the next snapshot.
- ``COINBASE`` (Advanced Trade): ``l2_data`` snapshot/update and ``market_trades``; the
  connection's ``sequence_num`` must step by one, a jump is a GAP for its books.
- ``UPBIT``: base64 frames; every ``orderbook`` message is a full snapshot; trades.
- ``KRAKEN``: v1 ``book-N`` snapshot + updates with the CRC32 checksum checked after every
  update (mismatch: GAP), the book held at the subscribed depth; trades.

Local time is the ``recv`` line's ``ts`` (unix seconds, float).
"""
from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs, urlparse

from arbkit.core.errors import DataError
from arbkit.convert.files import iter_lines, loads
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.binance import BinanceBookSync, instrument_meta
from arbkit.venues.common import NS_PER_MS, ChecksummedBooks, ConversionResult, EventSink, InstrumentTable
from arbkit.venues.okx import OkxBooks

_BINANCE = {"BINANCE": ("spot", "binance"), "BINANCE_US": ("spot", "binance-us"),
            "BINANCE_FUTURES": ("usdm", "binance-usdm"), "BINANCE_DELIVERY": ("coinm", "binance-coinm")}


def _ns(ts: Any) -> int:
    return int(round(float(ts) * 1e9))


def _iso_ns(text: str) -> int:
    """'2026-08-09T21:05:48.228568804Z' -> ns (sub-µs digits kept)."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = int(datetime.fromisoformat(head + "+00:00").timestamp()) * 1_000_000_000
    return base + int((frac + "000000000")[:9]) if frac else base


class _Binance:
    def __init__(self, sink: EventSink, table: InstrumentTable, exchange: str, check_bbo: bool) -> None:
        self.market, self.venue = _BINANCE[exchange]
        self.sink, self.table, self.check_bbo = sink, table, check_bbo
        self.syncs: dict[str, BinanceBookSync] = {}

    def sync(self, symbol: str) -> BinanceBookSync:
        """The book sync of ``symbol`` (created on first use)."""
        if symbol not in self.syncs:
            asset = self.table.asset(self.venue, symbol, **instrument_meta(self.market, symbol))
            self.syncs[symbol] = BinanceBookSync(self.sink, asset, self.market, symbol, check_bbo=self.check_bbo)
        return self.syncs[symbol]

    def http(self, ts: int, url: str, body: str, where: str) -> None:
        """A captured REST response (depth snapshots)."""
        u = urlparse(url)
        if not u.path.endswith("/depth"):
            return
        symbol = parse_qs(u.query).get("symbol", [None])[0]
        if symbol:
            self.sync(symbol).on_snapshot(ts, json.loads(body), where)

    def recv(self, ts: int, msg: Any, where: str) -> None:
        """A captured websocket frame."""
        data = msg.get("data", msg) if isinstance(msg, dict) else None
        if not isinstance(data, dict):
            self.sink.count("cryptofeed_messages_ignored")
            return
        e = data.get("e")
        if e == "depthUpdate":
            self.sync(data["s"]).on_diff(ts, data, where)
        elif e == "bookTicker" or (e is None and {"u", "s", "b", "B", "a", "A"} <= data.keys()):
            self.sync(data["s"]).on_book_ticker(ts, data, where)
        elif e in ("trade", "aggTrade"):
            self.sync(data["s"]).on_trade(ts, data, where)
        else:
            self.sink.count("cryptofeed_messages_ignored")

    def report(self) -> dict[str, Any]:
        """Per-symbol sync statistics for the manifest."""
        out = {}
        for sym, s in self.syncs.items():
            s.finish(sym)
            entry = {"snapshots": s.snapshots, "diffs_applied": s.diffs_applied, "gaps": s.gaps,
                     "stale_diffs_dropped": s.stale_dropped}
            if s.snapshots and self.check_bbo:
                entry.update(s.bbo_check())
            out[sym] = entry
        return out


class _Coinbase:
    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        self.sink, self.table = sink, table
        self.last_seq: dict[str, int] = {}
        self.synced: dict[str, bool] = {}
        self.stats: dict[str, Any] = {"sequence_gaps": 0, "snapshots": 0, "updates": 0}

    def http(self, ts: int, url: str, body: str, where: str) -> None:
        """REST responses carry nothing needed here."""
        return

    def recv(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """A Coinbase Advanced Trade frame (l2_data, sequence checked)."""
        if not isinstance(msg, dict) or "channel" not in msg:
            self.sink.count("cryptofeed_messages_ignored")
            return
        seq = msg.get("sequence_num")
        if seq is not None:
            prev = self.last_seq.get(conn)
            if prev is not None and seq != prev + 1:
                self.stats["sequence_gaps"] += 1
                for product, synced in self.synced.items():
                    if synced:
                        asset = self.table.asset("coinbase", product)
                        self.sink.emit_gap(ts, ts, asset, seq)
                        self.synced[product] = False
                self.sink.warn(f"{where}: Coinbase sequence_num {seq} after {prev}; books marked GAP")
            self.last_seq[conn] = seq
        channel = msg["channel"]
        ts_msg = _iso_ns(msg["timestamp"]) if "timestamp" in msg else ts
        for ev in msg.get("events", []):
            if channel == "l2_data":
                product = ev["product_id"]
                asset = self.table.asset("coinbase", product, contract_type="spot",
                                         quote_currency=product.split("-")[-1], maker_fee_bps=40.0, taker_fee_bps=60.0)
                if ev["type"] == "snapshot":
                    self.sink.emit_clear(ts_msg, ts, asset)
                    kind = Kind.SNAPSHOT
                    self.synced[product] = True
                    self.stats["snapshots"] += 1
                elif not self.synced.get(product):
                    continue
                else:
                    kind = Kind.DEPTH
                    self.stats["updates"] += 1
                for side_name, side in (("bid", BID), ("offer", ASK)):
                    levels = [(u["price_level"], u["new_quantity"]) for u in ev["updates"] if u["side"] == side_name]
                    self.sink.emit_levels(ts_msg, ts, asset, kind, side, levels, seq if seq is not None else -1,
                                          where=where)
            elif channel == "market_trades" and ev.get("type") == "update":
                for t in ev["trades"]:
                    asset = self.table.asset("coinbase", t["product_id"])
                    side = BUY if t["side"] == "BUY" else SELL
                    self.sink.emit_trade(_iso_ns(t["time"]), ts, asset, side, t["price"], t["size"],
                                         int(t["trade_id"]) if str(t["trade_id"]).isdigit() else -1, where=where)

    def report(self) -> dict[str, Any]:
        """Sequence statistics."""
        return self.stats


class _Upbit:
    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        self.sink, self.table = sink, table
        self.stats = {"orderbooks": 0, "trades": 0}

    def http(self, ts: int, url: str, body: str, where: str) -> None:
        """REST responses carry nothing needed here."""
        return

    def recv(self, ts: int, msg: Any, where: str) -> None:
        """An Upbit orderbook snapshot frame."""
        if not isinstance(msg, dict) or "ty" not in msg:
            self.sink.count("cryptofeed_messages_ignored")
            return
        code = msg["cd"]
        asset = self.table.asset("upbit", code, contract_type="spot", quote_currency=code.split("-")[0],
                                 maker_fee_bps=5.0, taker_fee_bps=5.0)
        ts_exch = int(msg.get("tms", 0)) * NS_PER_MS or ts
        if msg["ty"] == "orderbook":
            units = msg["obu"]
            bids = [(_num(u["bp"]), _num(u["bs"])) for u in units if u.get("bs")]
            asks = [(_num(u["ap"]), _num(u["as"])) for u in units if u.get("as")]
            self.sink.emit_snapshot(ts_exch, ts, asset, bids, asks, -1, where=where)
            self.stats["orderbooks"] += 1
        elif msg["ty"] == "trade":
            side = SELL if msg["ab"] == "ASK" else BUY
            self.sink.emit_trade(int(msg.get("ttms", msg.get("tms"))) * NS_PER_MS, ts, asset, side, _num(msg["tp"]),
                                 _num(msg["tv"]), int(msg.get("sid", -1)), where=where)
            self.stats["trades"] += 1
        else:
            self.sink.count("cryptofeed_messages_ignored")

    def report(self) -> dict[str, Any]:
        """Snapshot statistics."""
        return self.stats


def kraken_checksum(bids: dict[float, tuple[str, str]], asks: dict[float, tuple[str, str]]) -> int:
    """Kraken's CRC32: best 10 asks then best 10 bids, each price and volume without '.' and leading zeros."""
    def part(text: str) -> str:
        return text.replace(".", "").lstrip("0")
    out = [part(asks[p][0]) + part(asks[p][1]) for p in sorted(asks)[:10]]
    out += [part(bids[p][0]) + part(bids[p][1]) for p in sorted(bids, reverse=True)[:10]]
    return zlib.crc32("".join(out).encode())


class _Kraken(ChecksummedBooks):
    """Kraken v1 ``book-N``: snapshot (as/bs) then updates (a/b, checksum ``c``); the book is kept
    at the subscribed depth (levels pushed past it are removed, as Kraken's docs require)."""

    venue = "Kraken"

    def recv(self, ts: int, msg: Any, where: str) -> None:
        """A Kraken book frame (snapshot or update, CRC32 checked)."""
        if not (isinstance(msg, list) and len(msg) >= 4 and isinstance(msg[-2], str)):
            self.sink.count("cryptofeed_messages_ignored")
            return
        channel, pair = msg[-2], msg[-1]
        asset = self.table.asset("kraken", pair, contract_type="spot", quote_currency=pair.split("/")[-1],
                                 maker_fee_bps=25.0, taker_fee_bps=40.0)
        if channel.startswith("book-"):
            self._book(ts, msg, int(channel.split("-")[1]), pair, asset, where)
        elif channel == "trade":
            for t in msg[1]:
                side = BUY if t[3] == "b" else SELL
                self.sink.emit_trade(_ns(t[2]), ts, asset, side, t[0], t[1], -1, where=where)
        else:
            self.sink.count("cryptofeed_messages_ignored")

    def _book(self, ts: int, msg: list, depth: int, pair: str, asset: int, where: str) -> None:
        st = self._stats(pair)
        parts = [m for m in msg[1:-2] if isinstance(m, dict)]
        if any("as" in m or "bs" in m for m in parts):
            d = parts[0]
            ts_exch = max((_ns(lv[2]) for lv in d.get("as", []) + d.get("bs", [])), default=ts)
            self.sink.emit_clear(ts_exch, ts, asset)
            bids, asks = {}, {}
            for side, key, book in ((BID, "bs", bids), (ASK, "as", asks)):
                self.sink.emit_levels(ts_exch, ts, asset, Kind.SNAPSHOT, side, d.get(key, []), -1, where=where)
                for lv in d.get(key, []):
                    book[float(lv[0])] = (lv[0], lv[1])
            self.books[pair] = (bids, asks)
            self.synced[pair] = True
            st["snapshots"] += 1
            return
        if not self.synced.get(pair):
            self.sink.count("kraken_updates_while_unsynced")
            return
        bids, asks = self.books[pair]
        checksum = None
        for m in parts:
            for side, key, book in ((BID, "b", bids), (ASK, "a", asks)):
                levels = m.get(key, [])
                if not levels:
                    continue
                ts_exch = max(_ns(lv[2]) for lv in levels)
                self.sink.emit_levels(ts_exch, ts, asset, Kind.DEPTH, side, [lv[:2] for lv in levels], -1,
                                      where=where)
                self._apply_levels(book, levels)
                excess = sorted(book, reverse=(side == ASK))[: max(0, len(book) - depth)]
                for p in excess:  # worst levels beyond the subscribed depth leave the book
                    self.sink.emit(ts_exch, ts, asset, Kind.DEPTH, side, p, 0.0, -1)
                    del book[p]
            checksum = m.get("c", checksum)
        st["updates"] += 1
        if checksum is not None:
            self._checksum(pair, asset, kraken_checksum(bids, asks) == int(checksum), ts, ts, where)


def _num(v: Any) -> str:
    """Upbit sends JSON numbers; keep a decimal string so tick inference sees the digits."""
    return format(v, ".12f").rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def _adapter(exchange: str, sink: EventSink, table: InstrumentTable, check_bbo: bool):
    if exchange in _BINANCE:
        return _Binance(sink, table, exchange, check_bbo)
    makers: dict[str, Callable[[], Any]] = {"OKX": lambda: OkxBooks(sink, table),
                                            "COINBASE": lambda: _Coinbase(sink, table),
                                            "UPBIT": lambda: _Upbit(sink, table),
                                            "KRAKEN": lambda: _Kraken(sink, table)}
    if exchange not in makers:
        raise DataError(f"cryptofeed exchange {exchange!r} is not supported (supported: "
                        f"{', '.join(sorted([*_BINANCE, *makers]))})")
    return makers[exchange]()


def convert_cryptofeed(sources: Sequence[str | Path], *, check_bbo: bool = True,
                       instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """Convert cryptofeed raw captures into one event table."""
    table = InstrumentTable(overrides=instruments)
    sink = EventSink(table)
    report: dict[str, Any] = {"format": "cryptofeed", "files": {}}
    for src in (Path(s) for s in sources):
        adapter = None
        exchange = None
        lines = 0
        for lineno, line in iter_lines(src):
            rec = loads(line, path=src, row=lineno)
            if not isinstance(rec, dict) or "t" not in rec:
                raise DataError("not a cryptofeed capture line (no 't' field)", path=src, row=lineno, field="t")
            t = rec["t"]
            if t == "header":
                exchange = rec.get("exchange")
                adapter = _adapter(exchange, sink, table, check_bbo)
                continue
            if adapter is None:
                raise DataError("capture does not start with a header line", path=src, row=lineno)
            where = f"{src} line {lineno}"
            lines += 1
            if t == "http":
                try:
                    adapter.http(_ns(rec["ts"]), rec.get("url", ""), rec.get("data", ""), where)
                except json.JSONDecodeError:
                    sink.count("cryptofeed_http_unparsed")
            elif t == "recv":
                text = rec.get("data")
                if text is None and "b64" in rec:
                    text = base64.b64decode(rec["b64"]).decode("utf-8", "replace")
                try:
                    msg = json.loads(text)
                except (TypeError, json.JSONDecodeError):
                    sink.count("cryptofeed_malformed_messages")
                    continue
                if isinstance(adapter, _Coinbase):
                    adapter.recv(_ns(rec["ts"]), msg, where, rec.get("conn", ""))
                else:
                    adapter.recv(_ns(rec["ts"]), msg, where)
        if adapter is None:
            raise DataError("empty capture (no header line)", path=src)
        report["files"][src.name] = {"exchange": exchange, "lines": lines, "venue_report": adapter.report()}
    report["counters"] = dict(sink.counters)
    report["warnings"] = list(sink.warnings)
    return ConversionResult(events=sink.columns(), instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])

"""Bitfinex websocket v2: ``book`` (P0, snapshot + level updates), ``trades``, ``ticker``.

Book rules (Bitfinex docs, "Books" and "Configuration"): a book channel starts with a
snapshot ``[[price, count, amount], ...]``; each update ``[price, count, amount]`` sets the
level (``count > 0``; ``amount > 0`` a bid, ``< 0`` an ask of ``|amount|``) or removes it
(``count == 0``; ``amount`` 1 a bid, -1 an ask). With the ``SEQ_ALL`` flag (65536, sent in
the capture's ``conf``) every message of the connection ends with a sequence number one
above the previous one; a jump gaps every book of the connection until it is
re-subscribed. A checksum is sent only with the ``OB_CHECKSUM`` flag (131072), which the
capture did not set. Trade snapshots (history) are not written; ``te`` messages are the
trades. Tickers give the best bid / ask with sizes (BBO rows).
"""
from __future__ import annotations

from typing import Any

from arbkit.core.schema import BUY, SELL
from arbkit.venues.common import EventSink, InstrumentTable
from arbkit.venues.feed import VenueFeed

VENUE = "bitfinex"
SEQ_ALL = 65536
OB_CHECKSUM = 131072


class BitfinexFeed(VenueFeed):
    """Bitfinex v2 frames to schema rows; channels are known from their ``subscribed`` events."""

    venue = VENUE
    sequence = "absent"
    parse_float = str

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        super().__init__(sink, table)
        self.channels: dict[tuple[str, int], tuple[str, str]] = {}  # (conn, chanId) -> (channel, pair)
        self.flags: dict[str, int] = {}
        self.last_seq: dict[str, int] = {}
        self.sequence_gaps = 0
        self.checksum_frames = 0

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """Spot, quote currency from the pair name, list fees."""
        quote = symbol.split(":")[-1] if ":" in symbol else symbol[-3:]
        return {"contract_type": "spot", "quote_currency": quote, "maker_fee_bps": 10.0, "taker_fee_bps": 20.0}

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One v2 frame: an event (dict) or a channel message (list)."""
        if isinstance(msg, dict):
            ev = msg.get("event")
            if ev == "conf" and msg.get("status") == "OK":
                self.flags[conn] = int(msg.get("flags", 0))
            elif ev == "subscribed":
                self.channels[(conn, int(msg["chanId"]))] = (msg["channel"], msg.get("pair") or msg["symbol"][1:])
            self.ignore("events")
            return
        if not isinstance(msg, list) or len(msg) < 2:
            self.ignore()
            return
        chan = self.channels.get((conn, int(msg[0])))
        seq = None
        if self.flags.get(conn, 0) & SEQ_ALL:
            seq = int(msg[-1])
            msg = msg[:-1]
        if seq is not None:
            self._sequence(ts, conn, seq, where)
        if chan is None or msg[1] == "hb":
            self.ignore()
            return
        channel, pair = chan
        if msg[1] == "cs":
            self.checksum_frames += 1
            self.book(pair).checks.checksum = "unverifiable"
            self.book(pair).checks.note = "checksum frames not checked by this normaliser"
            return
        if channel == "book":
            self._book(ts, pair, msg[1], seq, where)
        elif channel == "trades":
            if msg[1] == "te":
                tid, mts, amount, price = msg[2][:4]
                side = BUY if float(amount) > 0 else SELL
                self.sink.emit_trade(int(mts) * 1_000_000, ts, self.asset(pair), side, price,
                                     str(amount).lstrip("-"), int(tid), where=where)
            elif msg[1] == "tu":
                self.ignore("trade_updates")
            elif isinstance(msg[1], list):
                self.skip_history(len(msg[1]))
        elif channel == "ticker":
            bid, bid_size, ask, ask_size = msg[1][:4]
            if float(bid) > 0 and float(ask) > 0:
                self.sink.emit_bbo(ts, ts, self.asset(pair), bid, bid_size, ask, ask_size, -1, where=where)
        else:
            self.ignore()

    def _sequence(self, ts: int, conn: str, seq: int, where: str) -> None:
        prev = self.last_seq.get(conn)
        self.last_seq[conn] = seq
        if prev is None or seq == prev + 1:
            return
        self.sequence_gaps += 1
        for (c, _), (channel, pair) in self.channels.items():
            b = self.books.get(pair)
            if c == conn and channel == "book" and b is not None and b.synced:
                b.checks.sequence_mismatches += 1
                b.gap(ts, ts, f"sequence {seq} after {prev}", where, seq)

    def _book(self, ts: int, pair: str, data: list, seq: int | None, where: str) -> None:
        book = self.book(pair)
        if seq is not None:
            book.checks.sequence = "checked"
            book.checks.note = "the sequence is per connection (all channels): a jump gaps every book of it"
        s = seq if seq is not None else -1
        if data and isinstance(data[0], list):
            bids = [(p, a) for p, c, a in data if float(a) > 0]
            asks = [(p, str(a).lstrip("-")) for p, c, a in data if float(a) < 0]
            book.snapshot(ts, ts, bids, asks, s, where=where)
            return
        if seq is not None and book.synced:
            book.checks.sequence_checks += 1
        price, count, amount = data
        qty = "0" if int(count) == 0 else str(amount).lstrip("-")
        is_bid = float(amount) > 0
        book.update(ts, ts, [(price, qty)] if is_bid else [], [] if is_bid else [(price, qty)], s, where=where)

    def connected(self, ts: int, conn: str = "") -> None:
        """A new connection: its channels and sequence start over."""
        super().connected(ts, conn)
        self.last_seq.pop(conn, None)
        self.channels = {k: v for k, v in self.channels.items() if k[0] != conn}

    def report(self) -> dict[str, Any]:
        """Per pair: counters and checks; the connections' sequence breaks."""
        return {**super().report(), "sequence_gaps": self.sequence_gaps}

"""The normaliser one venue module provides: raw frames and REST bodies in, schema rows out.

A :class:`VenueFeed` keeps one :class:`L2Book` per instrument (synced or not, its levels
when a checksum needs them, its :class:`~arbkit.venues.common.BookChecks`). The cryptofeed
converter drives a feed with the ``http`` and ``recv`` lines of a capture; the live
recorder's adapters drive the same feed with websocket frames, so a recording made live
and one converted from the same frames hold the same rows.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from arbkit.core.schema import ASK, BID, Kind
from arbkit.venues.common import BookChecks, EventSink, InstrumentTable, MalformedMessage, number_text

Levels = Iterable[Any]  # [(price, qty), ...] as the venue sends them (text or JSON numbers)


class L2Book:
    """One instrument's book as its feed keeps it: whether it is synced, its levels (``keep_levels``,
    for checksums over the venue's own strings), its last sequence id and its counters."""

    def __init__(self, sink: EventSink, asset: int, key: str, checks: BookChecks, *, keep_levels: bool = False) -> None:
        self.sink, self.asset, self.key, self.checks = sink, asset, key, checks
        self.keep_levels = keep_levels
        self.synced = False
        self.ever_synced = False
        self.bids: dict[float, tuple[str, str]] = {}
        self.asks: dict[float, tuple[str, str]] = {}
        self.last_seq: Any = None
        self.snapshots = self.updates = self.gaps = self.ignored = 0
        self.buffer: list[tuple[int, Any, str]] = []  # diffs waiting for a REST image (venues that use one)

    # -- rows --------------------------------------------------------------------------------

    def snapshot(self, ts_exch: int, ts: int, bids: Levels, asks: Levels, seq: int = -1, *, where: str) -> None:
        """A full image: CLEAR, then a SNAPSHOT row per level; the book is synced from here."""
        bids, asks = list(bids), list(asks)
        self.sink.emit_snapshot(ts_exch, ts, self.asset, bids, asks, seq, where=where)
        if self.keep_levels:
            self.bids, self.asks = {}, {}
            self._apply(self.bids, bids)
            self._apply(self.asks, asks)
        self.synced = self.ever_synced = True
        self.snapshots += 1

    def update(self, ts_exch: int, ts: int, bids: Levels, asks: Levels, seq: int = -1, *, where: str) -> bool:
        """Level changes (qty 0 removes a level) as DEPTH rows; ignored (and counted) while not synced."""
        if not self.synced:
            self.ignored += 1
            return False
        bids, asks = list(bids), list(asks)
        self.sink.emit_levels(ts_exch, ts, self.asset, Kind.DEPTH, BID, bids, seq, where=where)
        self.sink.emit_levels(ts_exch, ts, self.asset, Kind.DEPTH, ASK, asks, seq, where=where)
        if self.keep_levels:
            self._apply(self.bids, bids)
            self._apply(self.asks, asks)
        self.updates += 1
        return True

    def gap(self, ts_exch: int, ts: int, why: str, where: str, seq: int = -1) -> None:
        """The book lost its thread: a GAP row (once), a warning; unsynced until the next image."""
        if self.synced:
            self.sink.emit_gap(ts_exch, ts, self.asset, seq)
            self.gaps += 1
            self.sink.warn(f"{where}: {self.key}: {why}; GAP until the next image")
        self.synced = False
        self.last_seq = None

    def reset(self) -> None:
        """A new connection: nothing known until the next image (counters kept)."""
        self.synced = self.ever_synced = False
        self.last_seq = None
        self.bids, self.asks = {}, {}
        self.buffer = []

    # -- checks ------------------------------------------------------------------------------

    def check_sequence(self, ok: bool, ts_exch: int, ts: int, why: str, where: str, seq: int = -1) -> bool:
        """Count a sequence check; a mismatch is a GAP."""
        self.checks.sequence_checks += 1
        if not ok:
            self.checks.sequence_mismatches += 1
            self.gap(ts_exch, ts, why, where, seq)
        return ok

    def check_checksum(self, ok: bool, ts_exch: int, ts: int, where: str, seq: int = -1) -> bool:
        """Count a checksum check; a mismatch is a GAP."""
        self.checks.checksum_checks += 1
        if not ok:
            self.checks.checksum_mismatches += 1
            self.gap(ts_exch, ts, "checksum mismatch", where, seq)
        return ok

    # -- levels ------------------------------------------------------------------------------

    def best(self, side: int, n: int) -> list[tuple[str, str]]:
        """The best ``n`` levels of a side as the venue's (price, qty) strings, best first."""
        book = self.bids if side == BID else self.asks
        return [book[p] for p in sorted(book, reverse=side == BID)[:n]]

    @staticmethod
    def _apply(book: dict[float, tuple[str, str]], levels: list) -> None:
        for lv in levels:
            p_text, q_text = number_text(lv[0]), number_text(lv[1])
            p = float(lv[0])
            if float(lv[1]) == 0.0:
                book.pop(p, None)
            else:
                book[p] = (p_text, q_text)  # type: ignore[assignment]

    def counts(self) -> dict[str, int]:
        """The book's counters for the conversion report."""
        return {"snapshots": self.snapshots, "updates": self.updates, "gaps": self.gaps,
                "updates_while_unsynced": self.ignored}


class VenueFeed:
    """A venue's normaliser. Subclasses set ``venue`` and the book-check defaults and implement :meth:`recv`
    (one websocket frame); REST bodies go to :meth:`http` (instrument metadata, snapshots)."""

    venue = ""
    sequence = "absent"  #: default BookChecks.sequence of this venue's books
    checksum = "absent"  #: default BookChecks.checksum
    book_model = "snapshot+delta"  #: BookChecks.book
    check_note = ""
    parse_float: Callable[[str], Any] | None = None  #: str keeps the digits of venues sending JSON numbers
    keep_levels = False  #: books keep their levels (checksum venues)

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        self.sink, self.table = sink, table
        self.books: dict[str, L2Book] = {}
        self.opened: dict[str, int] = {}  # connection -> local time it was opened (ns)

    # -- instruments and books ---------------------------------------------------------------

    def instrument_meta(self, symbol: str, venue: str) -> dict[str, Any]:
        """What the module knows of ``symbol`` without the venue's metadata (contract type, fees)."""
        return {}

    def asset(self, symbol: str, venue: str | None = None) -> int:
        """The asset index of ``symbol`` on this feed's venue (registered on first use)."""
        venue = venue or self.venue
        idx = self.table.find(venue, symbol)
        if idx is None:
            idx = self.table.asset(venue, symbol, **self.instrument_meta(symbol, venue))
        return idx

    def book(self, symbol: str, venue: str | None = None, **checks: Any) -> L2Book:
        """The book of ``symbol`` (made on first use with this venue's check defaults, or ``checks``)."""
        key = f"{venue}:{symbol}" if venue and venue != self.venue else symbol
        b = self.books.get(key)
        if b is None:
            asset = self.asset(symbol, venue)
            defaults = {"sequence": self.sequence, "checksum": self.checksum, "book": self.book_model,
                        "note": self.check_note, **checks}
            b = self.books[key] = L2Book(self.sink, asset, key, self.table.checks(asset, **defaults),
                                         keep_levels=self.keep_levels)
        return b

    # -- input -------------------------------------------------------------------------------

    def loads(self, text: str | bytes) -> Any:
        """Parse a frame (MalformedMessage when it is not JSON)."""
        try:
            return json.loads(text, parse_float=self.parse_float) if self.parse_float else json.loads(text)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise MalformedMessage(f"not JSON ({exc})") from None

    def http(self, ts: int, url: str, body: str, where: str) -> None:
        """A REST response: the venue's instrument metadata goes to the catalog, then :meth:`on_rest`."""
        data = self.loads(body)
        path = urlparse(url).path
        for venue, symbol, meta in self.catalog_from(path, url, data):
            self.table.catalog(venue, symbol, f"venue:{path}", **meta)
        self.on_rest(ts, url, data, where)

    def catalog_from(self, path: str, url: str, data: Any) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """(venue, symbol, metadata) of every instrument a REST response describes (none by default)."""
        return ()

    def on_rest(self, ts: int, url: str, data: Any, where: str) -> None:
        """A REST response besides instrument metadata (book snapshots, funding); nothing by default."""

    def recv(self, ts: int, text: str, where: str, conn: str = "") -> None:
        """One websocket frame (text), received on connection ``conn``."""
        self.on_frame(ts, self.loads(text), where, conn)

    def on_frame(self, ts: int, msg: Any, where: str, conn: str = "") -> None:
        """One parsed websocket frame."""
        raise NotImplementedError

    def connection(self, conn: str, addr: str, ts: int) -> None:
        """A capture's ``connect`` line: connection ``conn`` to ``addr`` opened at ``ts``."""
        self.opened[conn] = ts

    def before_connection(self, conn: str, ts_exch: int) -> bool:
        """True for an exchange time before connection ``conn`` was opened (a replayed, historical trade)."""
        opened = self.opened.get(conn)
        return opened is not None and ts_exch < opened

    def ignore(self, what: str = "messages_ignored") -> None:
        """Count a frame the feed has no use for (acks, heartbeats, candles, ...)."""
        self.sink.count(f"{self.venue or 'venue'}_{what}")

    def skip_history(self, n: int) -> None:
        """Count trades a venue replays on subscribe (older than the connection): not written."""
        self.sink.count("trades_history_skipped", n)

    # -- connection --------------------------------------------------------------------------

    def connected(self, ts: int, conn: str = "") -> None:
        """A (re)connection: every book waits for its next image."""
        self.opened[conn] = ts
        for b in self.books.values():
            b.reset()

    def disconnected(self, ts: int, conn: str = "") -> None:
        """The connection is gone: a GAP for every synced book."""
        for b in self.books.values():
            if b.synced:
                b.gap(ts, ts, "disconnected", conn or self.venue)

    def needs_resync(self) -> bool:
        """True when a book synced on this connection lost its thread and only a new connection re-images it."""
        return any(b.ever_synced and not b.synced for b in self.books.values())

    # -- report ------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """Per book: counters and checks (the conversion report's ``venue_report``)."""
        return {key: {**b.counts(), **b.checks.as_dict()} for key, b in self.books.items()}


def ns_from_s(value: Any) -> int:
    """Unix seconds (float or text) as ns."""
    return int(round(float(value) * 1e9))


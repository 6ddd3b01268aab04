"""The live side of a venue module: endpoint, subscribe frames, and frames handed to the venue's feed.

The recorder (:mod:`arbkit.live.record.recorder`) keeps the connections; an :class:`Adapter`
says where to connect, what to send, and turns every frame into schema rows through the
same normaliser the file converters use. Endpoints are configurable (tests point them at
a local server).
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from arbkit.core.errors import ConfigError, DataError
from arbkit.venues.common import EventSink, InstrumentTable, MalformedMessage
from arbkit.venues.feed import VenueFeed

#: The connection name live frames are handed to the feed with.
LIVE = "live"
#: What a recording can subscribe to; a venue without a channel (funding on spot) skips it.
CHANNELS = ("depth", "trades", "bbo", "funding")

__all__ = ["CHANNELS", "Adapter", "FeedAdapter", "MalformedMessage", "parse_json"]


def parse_json(text: str) -> Any:
    """A frame's JSON (MalformedMessage when it is not JSON)."""
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


class FeedAdapter(Adapter):
    """An adapter whose frames go to a :class:`~arbkit.venues.feed.VenueFeed` (the converter's normaliser).

    Subclasses make the feed (:meth:`make_feed`) and say where to connect and what to send.
    """

    STREAMS = ""

    def __init__(self, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None) -> None:
        self.feed = self.make_feed(sink, table)
        super().__init__(sink, table, symbols, channels, endpoint, rest)

    def make_feed(self, sink: EventSink, table: InstrumentTable) -> VenueFeed:
        """The venue's normaliser."""
        raise NotImplementedError

    def register(self, symbol: str) -> int:
        """Register ``symbol``'s book with the feed; its asset index."""
        return self.feed.book(symbol).asset

    def url(self) -> str:
        """The configured endpoint, else the venue's public one."""
        return self.endpoint or self.STREAMS

    def on_connect(self, ts: int) -> None:
        """A new connection: every book waits for its next image."""
        self.feed.connected(ts, LIVE)

    def accept(self, msg: Any) -> bool:
        """False for frames to count and skip (acks); MalformedMessage for frames about unsubscribed symbols."""
        return True

    def on_message(self, ts: int, text: str, where: str) -> None:
        """Hand the frame to the feed; a frame it cannot read is a MalformedMessage."""
        msg = self.feed.loads(text)
        try:
            if self.accept(msg):
                self.feed.on_frame(ts, msg, where, LIVE)
        except MalformedMessage:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, DataError) as exc:
            raise MalformedMessage(f"{self.venue}: {type(exc).__name__}: {exc}") from None

    def needs_resync(self) -> bool:
        """True when a book lost its thread: a new connection brings a fresh image."""
        return self.feed.needs_resync()

    def on_disconnect(self, ts: int) -> None:
        """The connection dropped: a GAP for every synced book."""
        self.feed.disconnected(ts, LIVE)

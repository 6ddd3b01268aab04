"""The recorder's registry of live venue adapters (each adapter lives in its venue's module).

An adapter (:class:`~arbkit.venues.adapter.Adapter`) says where to connect and what to
subscribe to, and hands every frame to its venue's normaliser, the one the file
converters use, so a recording made live and one converted from the same frames hold
the same books.
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

from arbkit.core.errors import ConfigError
from arbkit.venues.adapter import CHANNELS, Adapter, MalformedMessage
from arbkit.venues.binance import BinanceAdapter
from arbkit.venues.bybit import BybitAdapter
from arbkit.venues.coinbase import CoinbaseAdapter
from arbkit.venues.common import EventSink, InstrumentTable
from arbkit.venues.kraken import KrakenAdapter
from arbkit.venues.okx import OkxAdapter
from arbkit.venues.polymarket import PolymarketAdapter

__all__ = ["ADAPTERS", "CHANNELS", "VENUES", "Adapter", "MalformedMessage", "make_adapter"]

#: venue name -> adapter factory ``(sink, table, symbols, channels, endpoint, rest)``
ADAPTERS: dict[str, Callable[..., Adapter]] = {
    "binance-spot": partial(BinanceAdapter, "spot"), "binance-usdm": partial(BinanceAdapter, "usdm"),
    "binance-coinm": partial(BinanceAdapter, "coinm"),
    "bybit-linear": partial(BybitAdapter, "linear"), "bybit-inverse": partial(BybitAdapter, "inverse"),
    "bybit-spot": partial(BybitAdapter, "spot"),
    "okx": OkxAdapter,
    "coinbase": CoinbaseAdapter,
    "kraken": KrakenAdapter,
    "polymarket": PolymarketAdapter,
}
VENUES = tuple(ADAPTERS)
ALIASES = {"binance": "binance-spot", "bybit": "bybit-linear"}


def make_adapter(venue: str, sink: EventSink, table: InstrumentTable, symbols: Sequence[str],
                 channels: Sequence[str] = CHANNELS, endpoint: str | None = None, rest: str | None = None) -> Adapter:
    """The adapter for ``venue`` (one of :data:`VENUES`; ``binance`` means spot, ``bybit`` linear)."""
    venue = ALIASES.get(venue, venue)
    if venue not in ADAPTERS:
        raise ConfigError(f"unknown venue {venue!r}; known: {list(VENUES)}")
    return ADAPTERS[venue](sink, table, symbols, channels, endpoint, rest)

"""Shared pieces of venue normalisation: the event sink, the instrument table, time units.

Venue adapters (Binance, OKX, Kraken, ...) turn raw messages into schema rows through an
:class:`EventSink`; converters (files) and the live recorder (websockets) both drive them.
"""
from __future__ import annotations

import math
import warnings
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.core.schema import ASK, BID, Instrument, Kind

NS_PER_MS = 1_000_000
NS_PER_US = 1_000
NS_PER_S = 1_000_000_000

# Plausible epoch ranges (2000-01-01 .. 2100-01-01) in each unit, to detect what a file uses.
_EPOCH_LO_S, _EPOCH_HI_S = 946_684_800, 4_102_444_800
TS_UNITS = {"s": NS_PER_S, "ms": NS_PER_MS, "us": NS_PER_US, "ns": 1}


def detect_ts_unit(value: float, *, where: str) -> str:
    """Name the unit (s, ms, us, ns) in which ``value`` is a plausible 2000–2100 epoch timestamp."""
    for unit, mult in TS_UNITS.items():
        seconds = value * mult / NS_PER_S
        if _EPOCH_LO_S <= seconds < _EPOCH_HI_S:
            return unit
    raise DataError(f"timestamp {value!r} is not an epoch time in s, ms, us or ns between 2000 and 2100", path=where)


def to_ns(value: float | int, unit: str) -> int:
    """A timestamp in ``unit`` as ns."""
    if unit == "ns":
        return int(value)
    if isinstance(value, int):
        return value * TS_UNITS[unit]
    return int(round(value * TS_UNITS[unit]))


def decimals(text: str) -> int:
    """Number of significant decimal places of a decimal string ('61737.63000000' -> 2)."""
    if "e" in text or "E" in text:
        mant, _, exp = text.lower().partition("e")
        return max(0, decimals(mant) - int(exp))
    dot = text.find(".")
    if dot < 0:
        return 0
    frac = text[dot + 1:].rstrip("0")
    return len(frac)


def parse_number(text: Any, *, where: str, field: str, row: int | None = None) -> float:
    """Parse a price/quantity given as string or number; NaN, inf and garbage raise a DataError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise DataError(f"not a number: {text!r}", path=where, row=row, field=field) from None
    if not math.isfinite(value):
        raise DataError(f"not a finite number: {text!r}", path=where, row=row, field=field)
    return value


@dataclass
class _InstrumentEntry:
    venue: str
    symbol: str
    meta: dict[str, Any]
    price_decimals: int = 0
    qty_decimals: int = 0
    seen_price: bool = False


class InstrumentTable:
    """Assigns asset ids to (venue, symbol) in order of first sight and infers tick/lot sizes.

    Unless given explicitly, ``tick_size`` is 10^-d with d the most decimals seen in any
    price of the instrument, and ``lot_size`` likewise from quantities: a grid every
    observed price lies on (the venue's true tick may be coarser).
    """

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self._entries: list[_InstrumentEntry] = []
        self._index: dict[tuple[str, str], int] = {}
        self.overrides = overrides or {}

    def asset(self, venue: str, symbol: str, **meta: Any) -> int:
        """The asset index of (venue, symbol), registering it on first use."""
        key = (venue, symbol)
        idx = self._index.get(key)
        if idx is None:
            idx = len(self._entries)
            self._index[key] = idx
            self._entries.append(_InstrumentEntry(venue, symbol, dict(meta)))
        elif meta:
            self._entries[idx].meta.update(meta)
        return idx

    def set_meta(self, asset: int, **meta: Any) -> None:
        """Update an instrument's metadata."""
        self._entries[asset].meta.update(meta)

    def observe(self, asset: int, price_text: str | None, qty_text: str | None) -> None:
        """Note the decimals of a price/quantity string (tick and lot inference)."""
        e = self._entries[asset]
        if price_text is not None:
            d = decimals(price_text)
            if d > e.price_decimals:
                e.price_decimals = d
            e.seen_price = True
        if qty_text is not None:
            d = decimals(qty_text)
            if d > e.qty_decimals:
                e.qty_decimals = d

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        """The instruments' ``venue:symbol`` keys."""
        return [f"{e.venue}:{e.symbol}" for e in self._entries]

    def instruments(self) -> list[Instrument]:
        """The instruments with inferred tick/lot sizes and overrides."""
        out = []
        for e in self._entries:
            meta = dict(e.meta)
            meta.setdefault("tick_size", round(10.0 ** -e.price_decimals, e.price_decimals))
            meta.setdefault("lot_size", round(10.0 ** -e.qty_decimals, e.qty_decimals))
            meta.update(self.overrides.get(f"{e.venue}:{e.symbol}", {}))
            meta.update(self.overrides.get(e.symbol, {}))
            out.append(Instrument(venue=e.venue, symbol=e.symbol, **meta))
        return out


class EventSink:
    """Collects schema rows from venue adapters; ``columns()`` returns them sorted by ts_local (stable)."""

    def __init__(self, instruments: InstrumentTable | None = None) -> None:
        self.instruments = instruments if instruments is not None else InstrumentTable()
        self._ts_exch = array("q")
        self._ts_local = array("q")
        self._asset = array("i")
        self._kind = array("B")
        self._side = array("b")
        self._price = array("d")
        self._qty = array("d")
        self._seq = array("q")
        self.counters: dict[str, int] = {}
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return len(self._ts_local)

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter."""
        self.counters[name] = self.counters.get(name, 0) + n

    def warn(self, message: str) -> None:
        """Record and emit a warning."""
        self.warnings.append(message)
        warnings.warn(message, stacklevel=3)

    def emit(self, ts_exch: int, ts_local: int, asset: int, kind: int, side: int, price: float, qty: float,
             seq: int = -1) -> None:
        """Append one schema row."""
        self._ts_exch.append(ts_exch)
        self._ts_local.append(ts_local)
        self._asset.append(asset)
        self._kind.append(kind)
        self._side.append(side)
        self._price.append(price)
        self._qty.append(qty)
        self._seq.append(seq)

    def emit_levels(self, ts_exch: int, ts_local: int, asset: int, kind: int, side: int,
                    levels: Iterable[Any], seq: int, *, where: str) -> int:
        """Emit one row per ``[price, qty, ...]`` level; strings are checked and feed tick inference."""
        n = 0
        observe = self.instruments.observe
        for level in levels:
            p_text, q_text = level[0], level[1]
            price = parse_number(p_text, where=where, field="price")
            qty = parse_number(q_text, where=where, field="qty")
            if price <= 0 or qty < 0:
                raise DataError(f"level [{p_text}, {q_text}] has a non-positive price or negative qty",
                                path=where, field="price" if price <= 0 else "qty")
            if isinstance(p_text, str):
                observe(asset, p_text, q_text if isinstance(q_text, str) else None)
            self.emit(ts_exch, ts_local, asset, kind, side, price, qty, seq)
            n += 1
        return n

    def emit_clear(self, ts_exch: int, ts_local: int, asset: int, seq: int = -1) -> None:
        """A CLEAR row (a full image follows)."""
        self.emit(ts_exch, ts_local, asset, Kind.CLEAR, 0, 0.0, 0.0, seq)

    def emit_gap(self, ts_exch: int, ts_local: int, asset: int, seq: int = -1) -> None:
        """A GAP row (the book is unknown until the next image), counted."""
        self.emit(ts_exch, ts_local, asset, Kind.GAP, 0, 0.0, 0.0, seq)
        self.count("gaps")

    def emit_snapshot(self, ts_exch: int, ts_local: int, asset: int, bids: Iterable[Any], asks: Iterable[Any],
                      seq: int, *, where: str) -> None:
        """CLEAR then one SNAPSHOT row per level of both sides."""
        self.emit_clear(ts_exch, ts_local, asset, seq)
        self.emit_levels(ts_exch, ts_local, asset, Kind.SNAPSHOT, BID, bids, seq, where=where)
        self.emit_levels(ts_exch, ts_local, asset, Kind.SNAPSHOT, ASK, asks, seq, where=where)

    def emit_bbo(self, ts_exch: int, ts_local: int, asset: int, bid: Any, bid_qty: Any, ask: Any, ask_qty: Any,
                 seq: int, *, where: str) -> None:
        """Two BBO rows (bid, ask)."""
        self.emit_levels(ts_exch, ts_local, asset, Kind.BBO, BID, [(bid, bid_qty)], seq, where=where)
        self.emit_levels(ts_exch, ts_local, asset, Kind.BBO, ASK, [(ask, ask_qty)], seq, where=where)

    def emit_trade(self, ts_exch: int, ts_local: int, asset: int, side: int, price: Any, qty: Any, seq: int, *,
                   where: str) -> None:
        """One TRADE row (``side`` = the aggressor's)."""
        self.emit_levels(ts_exch, ts_local, asset, Kind.TRADE, side, [(price, qty)], seq, where=where)

    def take(self) -> EventColumns:
        """The rows collected so far (sorted by ts_local), leaving the sink empty: the live recorder's drain."""
        cols = self.columns()
        for name in ("_ts_exch", "_ts_local", "_asset", "_kind", "_side", "_price", "_qty", "_seq"):
            setattr(self, name, array(getattr(self, name).typecode))
        return cols

    def columns(self) -> EventColumns:
        """All rows so far as EventColumns, sorted by ts_local (stable)."""
        cols = EventColumns(
            np.frombuffer(self._ts_exch, dtype=np.int64).copy(),
            np.frombuffer(self._ts_local, dtype=np.int64).copy(),
            np.frombuffer(self._asset, dtype=np.int32).copy(),
            np.frombuffer(self._kind, dtype=np.uint8).copy(),
            np.frombuffer(self._side, dtype=np.int8).copy(),
            np.frombuffer(self._price, dtype=np.float64).copy(),
            np.frombuffer(self._qty, dtype=np.float64).copy(),
            np.frombuffer(self._seq, dtype=np.int64).copy(),
        )
        if len(cols) and np.any(cols.ts_local[1:] < cols.ts_local[:-1]):
            cols = cols.take(np.argsort(cols.ts_local, kind="stable"))
        return cols


@dataclass
class ConversionResult:
    """What a converter produced: events, instruments and a report for the manifest."""

    events: EventColumns
    instruments: list[Instrument]
    report: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


class ChecksummedBooks:
    """Shared state of venues whose book messages carry a checksum of the top levels (OKX, Kraken)."""

    venue = ""

    def __init__(self, sink: EventSink, table: InstrumentTable) -> None:
        self.sink, self.table = sink, table
        self.books: dict[str, tuple[dict, dict]] = {}
        self.synced: dict[str, bool] = {}
        self.stats: dict[str, dict[str, int]] = {}

    def http(self, ts: int, url: str, body: str, where: str) -> None:
        """REST responses carry nothing these venues need."""
        return

    def report(self) -> dict[str, Any]:
        """Per-book checksum statistics."""
        return self.stats

    def _stats(self, key: str) -> dict[str, int]:
        return self.stats.setdefault(key, {"snapshots": 0, "updates": 0, "checksum_ok": 0, "checksum_mismatch": 0,
                                           "gaps": 0})

    @staticmethod
    def _apply_levels(book: dict[float, tuple[str, str]], levels: list) -> None:
        """Keep the venue's own price/size strings per level (checksums are over the strings); size 0 removes."""
        for lv in levels:
            p = float(lv[0])
            if float(lv[1]) == 0:
                book.pop(p, None)
            else:
                book[p] = (lv[0], lv[1])

    def _checksum(self, key: str, asset: int, ok: bool, ts_exch: int, ts: int, where: str) -> None:
        """Count a checksum result; a mismatch writes a GAP and stops applying updates until a snapshot."""
        st = self._stats(key)
        if ok:
            st["checksum_ok"] += 1
            return
        st["checksum_mismatch"] += 1
        st["gaps"] += 1
        self.synced[key] = False
        self.sink.emit_gap(ts_exch, ts, asset)
        self.sink.warn(f"{where}: {self.venue} {key}: checksum mismatch; GAP until the next snapshot")

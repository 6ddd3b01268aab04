"""Shared pieces of venue normalisation: the event sink, the instrument table, book checks, time units.

Venue normalisers (Binance, OKX, Kraken, ...) turn raw messages into schema rows through an
:class:`EventSink`; converters (files) and the live recorder (websockets) both drive them.
The :class:`InstrumentTable` resolves each instrument's metadata (user overrides, the
venue's own instrument responses, the module's knowledge, inference) and records where
each value came from; :class:`BookChecks` says what a book could be checked for.
"""
from __future__ import annotations

import math
import warnings
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import numpy as np

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.core.schema import ASK, BID, Instrument, Kind


class MalformedMessage(Exception):
    """A frame that is not JSON or not the shape its channel promises (counted, logged, skipped)."""


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


def number_text(value: Any) -> str | None:
    """The decimal text of a price/quantity as the venue sent it (JSON numbers via their shortest repr)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return repr(value)
    return str(value)


def parse_number(text: Any, *, where: str, field: str, row: int | None = None) -> float:
    """Parse a price/quantity given as string or number; NaN, inf and garbage raise a DataError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise DataError(f"not a number: {text!r}", path=where, row=row, field=field) from None
    if not math.isfinite(value):
        raise DataError(f"not a finite number: {text!r}", path=where, row=row, field=field)
    return value


#: Instrument fields whose origin the manifest records (``extra["meta_source"]``).
SOURCED_FIELDS = ("tick_size", "lot_size", "contract_size", "contract_type", "quote_currency", "maker_fee_bps",
                  "taker_fee_bps")
#: Values of ``book_checks["sequence"]`` / ``["checksum"]`` (see docs/venues.md).
CHECK_STATES = ("checked", "monotonic", "absent", "unverifiable")


@dataclass
class BookChecks:
    """What a venue's book rules allowed to be checked for one instrument, and how it went.

    ``sequence`` / ``checksum``: ``checked`` (the venue sends it and every message was
    checked), ``monotonic`` (the venue's sequence does not step by one per message of a
    book, e.g. it is shared by several books: it is only checked never to go back, so a
    lost message cannot be told), ``absent`` (the feed carries none), or
    ``unverifiable`` (the venue sends one but the capture does not allow checking it; ``note``
    says why). ``book`` names the venue's book model.
    """

    sequence: str = "absent"
    checksum: str = "absent"
    book: str = "snapshot+delta"
    note: str = ""
    sequence_checks: int = 0
    sequence_mismatches: int = 0
    checksum_checks: int = 0
    checksum_mismatches: int = 0

    def __post_init__(self) -> None:
        for name in ("sequence", "checksum"):
            if getattr(self, name) not in CHECK_STATES:
                raise ValueError(f"book check {name}={getattr(self, name)!r} is not one of {CHECK_STATES}")

    def as_dict(self) -> dict[str, Any]:
        """The checks as the manifest stores them."""
        d = asdict(self)
        if not d["note"]:
            del d["note"]
        return d


@dataclass
class CatalogEntry:
    """Instrument metadata a venue published (an instruments / exchangeInfo / products response)."""

    meta: dict[str, Any]
    source: str  # "venue:<url path>"


@dataclass
class _InstrumentEntry:
    venue: str
    symbol: str
    meta: dict[str, Any]
    price_decimals: int = 0
    qty_decimals: int = 0
    seen_price: bool = False
    checks: BookChecks | None = None


class InstrumentTable:
    """Assigns asset ids to (venue, symbol) in order of first sight and resolves their metadata.

    Each value comes, by precedence, from ``overrides`` (the user), the venue's own instrument
    metadata when a capture holds it (:meth:`catalog`), what the venue module knows
    (registration keywords: contract type, default fees), or inference: ``tick_size`` is
    10^-d with d the most decimals seen in any price of the instrument, and ``lot_size``
    likewise from quantities (a grid every observed price lies on; the venue's true tick may
    be coarser). ``extra["meta_source"]`` records which, per field: ``override``,
    ``venue:<url path>``, ``static``, ``inferred`` or ``default``.
    """

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self._entries: list[_InstrumentEntry] = []
        self._index: dict[tuple[str, str], int] = {}
        self._catalog: dict[tuple[str, str], CatalogEntry] = {}
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

    def find(self, venue: str, symbol: str) -> int | None:
        """The asset index of (venue, symbol) if registered."""
        return self._index.get((venue, symbol))

    def set_meta(self, asset: int, **meta: Any) -> None:
        """Update an instrument's metadata."""
        self._entries[asset].meta.update(meta)

    def catalog(self, venue: str, symbol: str, source: str, **meta: Any) -> None:
        """Record what the venue publishes about (venue, symbol); used if the instrument appears."""
        meta = {k: v for k, v in meta.items() if v is not None}
        if meta:
            self._catalog[(venue, symbol)] = CatalogEntry(meta, source)

    def catalog_entry(self, venue: str, symbol: str) -> CatalogEntry | None:
        """The venue's published metadata of (venue, symbol), if a capture held it."""
        return self._catalog.get((venue, symbol))

    def merge_catalog(self, other: "InstrumentTable") -> None:
        """Take every catalog entry of ``other`` this table does not have."""
        for key, entry in other._catalog.items():
            self._catalog.setdefault(key, entry)

    def checks(self, asset: int, **defaults: Any) -> BookChecks:
        """The book checks of ``asset`` (created with ``defaults`` on first use)."""
        e = self._entries[asset]
        if e.checks is None:
            e.checks = BookChecks(**defaults)
        return e.checks

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

    def instruments(self, events: EventColumns | None = None) -> list[Instrument]:
        """The instruments with their metadata resolved (see the class doc).

        With ``events``, a venue tick some recorded price is not a multiple of (resting orders
        from before a tick change, deep in a REST image) gives way to the inferred grid, which
        holds every price: ``extra`` keeps ``venue_tick_size`` and ``off_venue_tick_rows``.
        """
        out = []
        for a, e in enumerate(self._entries):
            meta = dict(e.meta)
            extra = dict(meta.pop("extra", None) or {})
            source = {k: "static" for k in meta if k in SOURCED_FIELDS}
            cat = self._catalog.get((e.venue, e.symbol))
            if cat is not None:
                cat_meta = dict(cat.meta)
                extra.update(cat_meta.pop("extra", None) or {})
                meta.update(cat_meta)
                source.update({k: cat.source for k in cat_meta if k in SOURCED_FIELDS})
            if "tick_size" not in meta:
                meta["tick_size"] = round(10.0 ** -e.price_decimals, e.price_decimals)
                source["tick_size"] = "inferred"
            if "lot_size" not in meta:
                meta["lot_size"] = round(10.0 ** -e.qty_decimals, e.qty_decimals)
                source["lot_size"] = "inferred"
            for over in (self.overrides.get(f"{e.venue}:{e.symbol}", {}), self.overrides.get(e.symbol, {})):
                over = dict(over)
                extra.update(over.pop("extra", None) or {})
                meta.update(over)
                source.update({k: "override" for k in over if k in SOURCED_FIELDS})
            if events is not None and source["tick_size"].startswith("venue:"):
                off = off_grid_rows(events, a, float(meta["tick_size"]))
                if off:
                    extra.update(venue_tick_size=meta["tick_size"], off_venue_tick_rows=off)
                    meta["tick_size"] = round(10.0 ** -e.price_decimals, e.price_decimals)
                    source["tick_size"] = "inferred"
            for k in ("contract_size", "contract_type"):
                source.setdefault(k, "default")
            extra["meta_source"] = {k: source[k] for k in SOURCED_FIELDS if k in source}
            if e.checks is not None:
                extra["book_checks"] = e.checks.as_dict()
            out.append(Instrument(venue=e.venue, symbol=e.symbol, extra=extra, **meta))
        return out


def apply_catalog(instruments: list[Instrument], catalog: "InstrumentTable",
                  events: EventColumns | None = None) -> list[Instrument]:
    """``instruments`` with the venue metadata ``catalog`` holds for them (from another capture's REST
    responses) in place of inferred, static or default values; user overrides are kept. With
    ``events``, a venue tick some price is off falls back as in :meth:`InstrumentTable.instruments`."""
    out = []
    for a, inst in enumerate(instruments):
        entry = catalog.catalog_entry(inst.venue, inst.symbol)
        if entry is None:
            out.append(inst)
            continue
        d = inst.to_dict()
        extra = dict(d.pop("extra") or {})
        source = dict(extra.get("meta_source") or {})
        cat_meta = dict(entry.meta)
        extra.update(cat_meta.pop("extra", None) or {})
        for k, v in cat_meta.items():
            if k in d and source.get(k) != "override":
                old_tick = d["tick_size"]
                d[k] = v
                source[k] = entry.source
                if k == "tick_size" and events is not None:
                    off = off_grid_rows(events, a, float(v))
                    if off:
                        extra.update(venue_tick_size=v, off_venue_tick_rows=off)
                        d[k], source[k] = old_tick, "inferred"
        extra["meta_source"] = source
        out.append(Instrument(extra=extra, **d))
    return out


_PRICED_KINDS = np.array([Kind.SNAPSHOT, Kind.DEPTH, Kind.TRADE, Kind.BBO], dtype=np.uint8)


def off_grid_rows(events: EventColumns, asset: int, tick: float) -> int:
    """How many priced rows of ``asset`` are not on a multiple of ``tick`` (the tolerance of ``arbkit validate``)."""
    m = (events.asset == asset) & np.isin(events.kind, _PRICED_KINDS) & (events.price > 0)
    if not m.any():
        return 0
    ticks = events.price[m] / tick
    return int(np.count_nonzero(np.abs(ticks - np.round(ticks)) > 1e-6 + 1e-12 * np.abs(ticks)))


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
            observe(asset, number_text(p_text), number_text(q_text))
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

    def emit_funding(self, ts_exch: int, ts_local: int, asset: int, rate: Any, funding_time_ns: int, *,
                     where: str) -> None:
        """A FUNDING row: ``rate`` (fraction per interval, may be negative) applying at ``funding_time_ns``."""
        value = parse_number(rate, where=where, field="funding_rate")
        self.emit(ts_exch, ts_local, asset, Kind.FUNDING, 0, value, 0.0, int(funding_time_ns))

    def emit_mark(self, ts_exch: int, ts_local: int, asset: int, mark: Any, index: Any = None, *, where: str) -> None:
        """A MARK row: the venue's mark price and (when sent) its index price."""
        m = parse_number(mark, where=where, field="mark_price")
        i = parse_number(index, where=where, field="index_price") if index not in (None, "") else 0.0
        if m <= 0 or i < 0:
            raise DataError(f"mark {mark!r} / index {index!r} price is not positive", path=where, field="mark_price")
        self.emit(ts_exch, ts_local, asset, Kind.MARK, 0, m, i, -1)

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


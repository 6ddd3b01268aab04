"""The one event schema: columns, kinds, numpy dtype and Arrow schema from one definition.

A recording is a table of events sorted by ``ts_local``, one row per change.
Everything that reads or writes events (io, engine, recorder) takes its column
names, types and kind codes from here.

Schema version 2 adds two kinds that carry no book change:

* ``FUNDING``: ``price`` = the perpetual's funding rate (a fraction per funding
  interval, e.g. 0.0001 = 0.01 %; may be negative), ``seq`` = the funding time it
  applies at (ns since epoch), ``side`` = 0, ``qty`` = 0. The venue's latest rate for
  that time as known at ``ts_local``: the last one before the funding time is the rate paid.
* ``MARK``: ``price`` = the venue's mark price, ``qty`` = its index price (0 when the
  venue sends none), ``side`` = 0, ``seq`` = -1.

Version-1 recordings (no such rows) read unchanged. Version 2 also adds the ``option``
contract type.
"""
from __future__ import annotations

import difflib
import numbers
from dataclasses import asdict, dataclass, field, fields
from enum import IntEnum
from typing import Any

import numpy as np
import pyarrow as pa

from arbkit.core.errors import ConfigError

SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)  #: versions this arbkit reads (version 1 lacks FUNDING / MARK rows)


class Kind(IntEnum):
    """What a row means. Codes are stored in the ``kind`` column (uint8)."""

    SNAPSHOT = 1  #: one level of a full book image; preceded by a CLEAR row of the same asset
    DEPTH = 2  #: incremental level update: ``qty`` is the new total at ``price`` (0 removes it)
    TRADE = 3  #: a public trade; ``side`` is the aggressor (+1 buyer took the ask, -1 seller hit the bid)
    BBO = 4  #: best bid (side +1) or best ask (side -1) quote with its quantity
    CLEAR = 5  #: drop every level of the asset's book (side 0) before a snapshot or after a gap
    GAP = 6  #: feed gap / resync marker: the book is unreliable until the next CLEAR + SNAPSHOT
    FUNDING = 7  #: perpetual funding rate: ``price`` = rate, ``seq`` = funding time (ns); side 0, qty 0
    MARK = 8  #: mark / index price: ``price`` = mark, ``qty`` = index (0 when not sent); side 0


#: the kinds about funding and marking, which change no book (the engine pays funding from them: docs/engine.md)
FUNDING_KINDS = (Kind.FUNDING, Kind.MARK)


KIND_NAMES: dict[int, str] = {int(k): k.name for k in Kind}

BID = 1
ASK = -1
BUY = 1
SELL = -1


@dataclass(frozen=True)
class Column:
    """One column of the event table."""

    name: str
    numpy: str
    arrow: pa.DataType
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("ts_exch", "int64", pa.int64(), "exchange timestamp, ns since epoch (= ts_local when the venue stamps nothing)"),
    Column("ts_local", "int64", pa.int64(), "local receive timestamp, ns since epoch; the sort key"),
    Column("asset", "int32", pa.int32(), "index into the manifest's instruments"),
    Column("kind", "uint8", pa.uint8(), "Kind code"),
    Column("side", "int8", pa.int8(), "+1 bid/buy, -1 ask/sell, 0 both (CLEAR/GAP) or none (FUNDING/MARK)"),
    Column("price", "float64", pa.float64(),
           "price in quote units (engine converts to integer ticks); FUNDING: the rate; MARK: the mark price"),
    Column("qty", "float64", pa.float64(),
           "new total qty at the level (SNAPSHOT/DEPTH/BBO), traded qty (TRADE); MARK: the index price"),
    Column("seq", "int64", pa.int64(), "exchange sequence / update id where the venue has one, else -1; FUNDING: the "
                                       "funding time (ns)"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
EVENT_DTYPE = np.dtype([(c.name, c.numpy) for c in COLUMNS])
ARROW_SCHEMA = pa.schema([pa.field(c.name, c.arrow, nullable=False) for c in COLUMNS])

CONTRACT_TYPES = ("spot", "linear_perp", "inverse_perp", "linear_future", "inverse_future", "binary_outcome", "equity",
                  "option")


@dataclass
class Instrument:
    """Static metadata of one tradable book: where it lives and how it is priced and charged.

    Fees are in basis points of notional; a negative fee is a rebate. ``contract_size`` is
    the quote-currency face value of one contract for inverse contracts (e.g. 100 USD on
    Binance COIN-M BTCUSD_PERP) and the base quantity per contract for linear ones.
    """

    venue: str
    symbol: str
    tick_size: float
    lot_size: float
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    quote_currency: str = ""
    contract_type: str = "spot"
    contract_size: float = 1.0
    depth_usable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    #: binary outcomes: the market this token belongs to, its outcome name ("Up"), the symbol of the other outcome's
    #: token, and where known the resolution time (ns since epoch) and the market's winning outcome name
    market_id: str = ""
    outcome: str = ""
    complement: str = ""
    resolution_ts: int | None = None
    winner: str | None = None

    def __post_init__(self) -> None:
        if self.contract_type not in CONTRACT_TYPES:
            raise ConfigError(
                f"instrument {self.venue}:{self.symbol}: contract_type {self.contract_type!r} "
                f"is not one of {', '.join(CONTRACT_TYPES)}"
            )
        for name in ("tick_size", "lot_size", "contract_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, numbers.Real) and np.isfinite(value) and value > 0):
                raise ConfigError(f"instrument {self.venue}:{self.symbol}: {name} must be a positive number, "
                                  f"got {value!r}")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, numbers.Real) and np.isfinite(value)):
                raise ConfigError(f"instrument {self.venue}:{self.symbol}: {name} must be a finite number, got {value!r}")
        for name in ("venue", "symbol", "quote_currency"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"instrument {self.venue}:{self.symbol}: {name} must be text, got "
                                  f"{getattr(self, name)!r}")
        for name in ("market_id", "outcome", "complement"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"instrument {self.venue}:{self.symbol}: {name} must be text, got "
                                  f"{getattr(self, name)!r}")
        rts = self.resolution_ts
        if rts is not None and (isinstance(rts, bool) or not isinstance(rts, numbers.Integral) or rts < 0):
            raise ConfigError(f"instrument {self.venue}:{self.symbol}: resolution_ts must be ns since epoch (an integer "
                              f">= 0) or null, got {rts!r}")
        if self.winner is not None and not isinstance(self.winner, str):
            raise ConfigError(f"instrument {self.venue}:{self.symbol}: winner must be an outcome name or null, got "
                              f"{self.winner!r}")
        if not isinstance(self.depth_usable, (bool, np.bool_)) or not isinstance(self.extra, dict):
            raise ConfigError(f"instrument {self.venue}:{self.symbol}: depth_usable must be true/false and extra an "
                              "object")

    @property
    def key(self) -> str:
        """``venue:symbol``, unique inside a recording."""
        return f"{self.venue}:{self.symbol}"

    @property
    def payoff(self) -> float | None:
        """What one token pays at resolution (1.0 won, 0.0 lost); None when the winner is not known."""
        if self.contract_type != "binary_outcome" or self.winner is None:
            return None
        return 1.0 if self.winner.lower() == self.outcome.lower() else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The instrument as plain data (the manifest's form; the outcome fields only where set)."""
        d = asdict(self)
        for name in OUTCOME_FIELDS:
            if d[name] in ("", None):
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Instrument":
        """An instrument from the manifest's form (a ConfigError naming the field that is wrong)."""
        if not isinstance(d, dict):
            raise ConfigError(f"an instrument must be an object of {', '.join(f.name for f in fields(cls))}, got {d!r}")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"instrument {d.get('venue')}:{d.get('symbol')}: unknown fields {sorted(unknown)}"
                              f"{_did_you_mean(sorted(unknown)[0])}")
        missing = [n for n in ("venue", "symbol", "tick_size", "lot_size") if n not in d]
        if missing:
            raise ConfigError(f"instrument {d.get('venue')}:{d.get('symbol')}: missing field(s) {missing}")
        return cls(**d)

    @classmethod
    def check_overrides(cls, overrides: Any, where: str) -> None:
        """Per-instrument overrides ({'venue:symbol' or 'symbol': {field: value}}): every field one an
        instrument has, every value one it accepts; a ConfigError naming ``where``, the entry and the field."""
        if not isinstance(overrides, dict):
            raise ConfigError(f"{where}: expected an object of 'venue:symbol' or 'symbol' -> {{field: value}}")
        settable = [f.name for f in fields(cls) if f.name not in ("venue", "symbol")]
        for key, entry in overrides.items():
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: {key}: expected an object of {{field: value}}, got {entry!r}")
            for name in entry:
                if name not in settable:
                    raise ConfigError(f"{where}: {key}: unknown field {name!r}{_did_you_mean(name)}; fields: "
                                      f"{', '.join(settable)}")
            try:
                cls(**{"venue": "override", "symbol": str(key), "tick_size": 1.0, "lot_size": 1.0, **entry})
            except ConfigError as exc:
                raise ConfigError(f"{where}: {key}: {str(exc).split(': ', 1)[-1]}") from None


#: the fields only binary-outcome instruments carry (left out of the manifest when unset)
OUTCOME_FIELDS = ("market_id", "outcome", "complement", "resolution_ts", "winner")


def market_key(inst: Any) -> str:
    """A binary instrument's market: its market id, else its symbol and its complement's."""
    return inst.market_id or "/".join(sorted((inst.symbol, inst.complement)))


#: outcome names taken as the YES side of a pair (net exposure = YES − NO)
YES_NAMES = ("up", "yes")


def markets_of(instruments: Any) -> dict[str, list[int]]:
    """Binary instruments grouped by market (YES first: the outcome named Up / Yes, else the first listed)."""
    out: dict[str, list[int]] = {}
    for a, inst in enumerate(instruments):
        if inst.contract_type != "binary_outcome":
            continue
        out.setdefault(market_key(inst), []).append(a)
    for key, assets in out.items():  # YES first: the outcome named Up / Yes, else the first listed
        assets.sort(key=lambda a: instruments[a].outcome.lower() not in YES_NAMES)
    return out


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, [f.name for f in fields(Instrument)], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def empty_events(n: int = 0) -> np.ndarray:
    """A zeroed structured event array of ``n`` rows."""
    return np.zeros(n, dtype=EVENT_DTYPE)

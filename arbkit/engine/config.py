"""Run settings for the engine: fill model, latency, strategy schedule — validated, explicit.

Each is a frozen dataclass with defaults; ``from_dict`` builds one from a plain mapping
(hydra / YAML) and names the key of any bad value in a :class:`~arbkit.core.errors.ConfigError`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

import numpy as np

from arbkit.engine import codes as c
from arbkit.engine.latency import MODE_CONSTANT, MODE_EMPIRICAL, MODE_SERIES, LatencyTable, build_table
from arbkit.core.errors import ConfigError
from arbkit.core.schema import Instrument, market_key

#: The longest latency a model may hold, ns (one day): beyond it an order's arrival time would leave any recording.
MAX_LATENCY_NS = 86_400 * 10**9


def _from_dict(cls, section: str, d: Mapping[str, Any] | None):
    if d is None:
        return cls()
    if isinstance(d, cls):
        return d
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{section}: unknown key(s) {unknown}; known: {sorted(names)}")
    return cls(**dict(d))


def _check_number(section: str, key: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                  lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        rng = f" in {'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'}]" if lo is not None else ""
        raise ConfigError(f"{section}.{key} must be a finite number{rng}, got {value!r}")


@dataclass(frozen=True)
class FillModel:
    """How orders fill. Every assumption is one field (see :mod:`arbkit.engine.matching`)."""

    queue: str = "risk_averse"  #: risk_averse | power | log
    queue_power: float = 2.0  #: exponent of the power queue model
    fill_probability: float = 1.0  #: keep each maker fill with this probability (calibration knob)
    #: a trade beyond our price fills us: at most the quantity traded beyond it (volume), all we have left (all),
    #: or not at all (none)
    trade_through: str = "volume"
    cross_fill: bool = True  #: the opposite best reaching our price fills us completely
    taker_consumes_book: bool = False  #: own takes stay off a level until the feed updates it
    max_taker_levels: int = 0  #: stop a taker walk after this many levels (0 = no limit)

    def __post_init__(self) -> None:
        if self.queue not in c.QUEUE_MODEL_CODES:
            raise ConfigError(f"fill.queue must be one of {sorted(c.QUEUE_MODEL_CODES)}, got {self.queue!r}")
        _check_number("fill", "queue_power", self.queue_power, lo=0.0, lo_open=True)
        _check_number("fill", "fill_probability", self.fill_probability, lo=0.0, hi=1.0, lo_open=True)
        if not isinstance(self.max_taker_levels, int) or self.max_taker_levels < 0:
            raise ConfigError(f"fill.max_taker_levels must be an integer >= 0, got {self.max_taker_levels!r}")
        if isinstance(self.trade_through, bool):
            raise ConfigError(f"fill.trade_through is now one of volume | all | none, got {self.trade_through!r} "
                              "(true meant 'all', false 'none'; the default 'volume' fills at most what traded "
                              "beyond the price)")
        if self.trade_through not in c.THROUGH_CODES:
            raise ConfigError(f"fill.trade_through must be one of {sorted(c.THROUGH_CODES)}, got {self.trade_through!r}")
        for key in ("cross_fill", "taker_consumes_book"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"fill.{key} must be true or false, got {getattr(self, key)!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "FillModel":
        """A FillModel from a mapping (unknown keys and bad values are a ConfigError)."""
        return _from_dict(cls, "fill", d)

    def to_dict(self) -> dict[str, Any]:
        """The fill model as plain data (for configs and reports)."""
        return asdict(self)


@dataclass(frozen=True)
class LatencySpec:
    """One direction's latency for one venue: constant, empirical samples, or a time series (all ns)."""

    constant_ns: int = 0
    samples_ns: Sequence[float] | None = None  #: empirical distribution: each message draws one (seeded)
    series_ts: Sequence[int] | None = None  #: series: times, ns since epoch …
    series_ns: Sequence[float] | None = None  #: … and latencies, interpolated linearly in time

    def check(self, where: str) -> None:
        """Validate the spec; a ConfigError naming ``where``."""
        _check_number(where, "constant_ns", self.constant_ns, lo=0)
        _check_latency_range(f"{where}.constant_ns", [self.constant_ns])
        if self.samples_ns is not None:
            arr = np.asarray(self.samples_ns, np.float64)
            if arr.ndim != 1 or len(arr) == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ConfigError(f"{where}.samples_ns must be a non-empty list of finite latencies >= 0")
            _check_latency_range(f"{where}.samples_ns", arr)
        if (self.series_ts is None) != (self.series_ns is None):
            raise ConfigError(f"{where}: series_ts and series_ns go together")
        if self.series_ts is not None:
            ts = np.asarray(self.series_ts, np.int64)
            vs = np.asarray(self.series_ns, np.float64)
            if len(ts) == 0 or len(ts) != len(vs):
                raise ConfigError(f"{where}: series_ts and series_ns must be non-empty and the same length")
            if np.any(np.diff(ts) <= 0):
                raise ConfigError(f"{where}.series_ts must be strictly increasing")
            if not np.all(np.isfinite(vs)) or np.any(vs < 0):
                raise ConfigError(f"{where}.series_ns must be finite latencies >= 0")
            _check_latency_range(f"{where}.series_ns", vs)
        if self.samples_ns is not None and self.series_ts is not None:
            raise ConfigError(f"{where}: give samples_ns or a series, not both")

    @classmethod
    def from_feed(cls, cols: Any, asset: int, *, bucket_ms: float = 1000.0, quantile: float = 0.5,
                  scale: float = 1.0) -> "LatencySpec":
        """A latency series from the recording's own feed delay (``ts_local - ts_exch``) of one asset.

        Rows where the venue gave no exchange time (``ts_exch == ts_local``) are skipped; each
        ``bucket_ms`` window contributes its ``quantile`` delay (times ``scale``), clipped at 0.
        Only meaningful when the recorder's clock was synchronised with the venue's.
        """
        mask = (cols.asset == asset) & (cols.ts_exch != cols.ts_local)
        if not mask.any():
            raise ConfigError(f"latency from feed: asset {asset} has no rows with an exchange timestamp")
        ts = cols.ts_local[mask]
        delay = (cols.ts_local[mask] - cols.ts_exch[mask]).astype(np.float64)
        width = max(int(bucket_ms * 1e6), 1)
        bucket = ts // width
        starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
        ends = np.append(starts[1:], len(ts))
        times = bucket[starts] * width + width // 2
        values = np.array([np.quantile(delay[a:b], quantile) for a, b in zip(starts, ends)]) * scale
        return cls(series_ts=times.tolist(), series_ns=np.maximum(values, 0.0).tolist())

    def table_entry(self) -> tuple[int, int, np.ndarray, np.ndarray]:
        """This spec's entry in the engine's latency table."""
        if self.series_ts is not None:
            return MODE_SERIES, int(self.constant_ns), np.asarray(self.series_ns, np.float64), np.asarray(self.series_ts, np.int64)
        if self.samples_ns is not None:
            return MODE_EMPIRICAL, int(self.constant_ns), np.asarray(self.samples_ns, np.float64), np.zeros(0, np.int64)
        return MODE_CONSTANT, int(self.constant_ns), np.zeros(0), np.zeros(0, np.int64)


def _check_latency_range(where: str, values: Any) -> None:
    worst = max((float(v) for v in values), default=0.0)
    if worst > MAX_LATENCY_NS:
        raise ConfigError(f"{where} = {worst:g} ns is out of range: allowed 0 .. {MAX_LATENCY_NS} ns (one day)")


def _spec(d: Any, where: str) -> LatencySpec:
    if isinstance(d, LatencySpec):
        spec = d
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        if not math.isfinite(d) or d < 0:
            raise ConfigError(f"{where} = {d!r} is out of range: allowed a finite number of ns, 0 .. {MAX_LATENCY_NS} "
                              "(one day)")
        _check_latency_range(where, [d])
        spec = LatencySpec(constant_ns=int(d))
    elif isinstance(d, Mapping):
        spec = _from_dict(LatencySpec, where, d)
    else:
        raise ConfigError(f"{where} must be a number of ns or a mapping, got {d!r}")
    spec.check(where)
    return spec


@dataclass(frozen=True)
class LatencyModel:
    """Order entry (strategy → exchange) and response (exchange → strategy) latency.

    ``entry`` / ``response`` apply to every venue; ``venues`` overrides them per venue name
    (``{"binance-usdm": {"entry": {...}, "response": 2_000_000}}``). Feed latency needs no
    setting: the strategy sees each event at its recorded ``ts_local``.
    """

    entry: Any = 0
    response: Any = 0
    venues: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _spec(self.entry, "latency.entry")
        _spec(self.response, "latency.response")
        for v, d in self.venues.items():
            if not isinstance(d, Mapping) or set(d) - {"entry", "response"}:
                raise ConfigError(f"latency.venues.{v} must be a mapping with entry and/or response")
            for k, x in d.items():
                _spec(x, f"latency.venues.{v}.{k}")

    @classmethod
    def constant(cls, entry_ns: int = 0, response_ns: int = 0) -> "LatencyModel":
        """The same constant entry and response latency everywhere."""
        return cls(entry=int(entry_ns), response=int(response_ns))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "LatencyModel":
        """A LatencyModel from a mapping (``entry``, ``response``, ``venues``)."""
        return _from_dict(cls, "latency", d)

    def tables(self, instruments: Sequence[Instrument]) -> tuple[LatencyTable, LatencyTable]:
        """The engine's entry and response latency tables for ``instruments``."""
        out = []
        for direction in ("entry", "response"):
            entries = []
            for inst in instruments:
                d = self.venues.get(inst.venue, {}).get(direction, getattr(self, direction))
                entries.append(_spec(d, f"latency.{direction}").table_entry())
            out.append(build_table(entries))
        return out[0], out[1]

    def to_dict(self) -> dict[str, Any]:
        """The model as plain data."""
        def plain(x: Any) -> Any:
            if isinstance(x, LatencySpec):
                return {k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else v) for k, v in asdict(x).items()
                        if v is not None}
            return x
        return {"entry": plain(self.entry), "response": plain(self.response),
                "venues": {v: {k: plain(x) for k, x in d.items()} for v, d in self.venues.items()}}


@dataclass(frozen=True)
class Schedule:
    """When the engine calls the strategy: after every message, every ``interval_ms``, on a top change, on a response.

    Timers run between events (see :mod:`arbkit.engine.loop`); ``max_silence_s`` bounds them:
    once no event has come for that long, interval calls, wake-ups and equity samples pause,
    and what fell due meanwhile fires once at the next event (0: never pause). It keeps a
    recording whose feeds are years apart from firing timers for years; the kill switch's
    deadlines, requests and responses are not paused.
    """

    every_event: bool = False
    interval_ms: float = 0.0
    on_top_change: bool = False
    on_response: bool = False
    max_silence_s: float = 3600.0

    def __post_init__(self) -> None:
        _check_number("schedule", "interval_ms", self.interval_ms, lo=0.0)
        _check_number("schedule", "max_silence_s", self.max_silence_s, lo=0.0)
        if not (self.every_event or self.interval_ms > 0 or self.on_top_change or self.on_response):
            raise ConfigError("schedule: nothing would call the strategy (set every_event, interval_ms, "
                              "on_top_change or on_response)")

    @property
    def bits(self) -> int:
        """The schedule as the engine's call-reason bit set."""
        return ((c.CALL_EVERY_EVENT if self.every_event else 0) | (c.CALL_INTERVAL if self.interval_ms > 0 else 0)
                | (c.CALL_TOP_CHANGE if self.on_top_change else 0) | (c.CALL_RESPONSE if self.on_response else 0))

    @property
    def interval_ns(self) -> int:
        """The call interval in ns (0 = none)."""
        return int(round(self.interval_ms * 1e6))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Schedule":
        """A Schedule from a mapping."""
        return _from_dict(cls, "schedule", d)


@dataclass(frozen=True)
class RiskGuards:
    """Risk guards for any strategy (see :mod:`arbkit.engine.guards`); 0 switches a guard off."""

    budget: float = 0.0  #: quote currency: gross exposure plus a new order may not exceed it (orders are cut)
    max_position_notional: float = 0.0  #: quote currency, per instrument
    max_total_notional: float = 0.0  #: quote currency, all instruments
    cooldown_after_fill_ms: float = 0.0
    cooldown_after_loss_ms: float = 0.0
    max_daily_loss: float = 0.0  #: quote currency, since the start of the UTC day
    max_drawdown: float = 0.0  #: quote currency, from the equity peak
    max_gap_ms: float = 0.0  #: a GAP or a silent instrument this long trips the kill switch
    stale_book_ms: float = 0.0  #: a book with no update this long trips the kill switch
    stuck_window_ms: float = 60_000.0  #: a guard blocking every entry this long is reported stuck
    #: an order may be at most this share of its instrument's recent traded volume (or displayed depth); 0: off
    max_volume_share: float = 0.0
    volume_window_ms: float = 60_000.0  #: the traded-volume window (kept in 64 buckets of a 64th of it)
    volume_basis: str = "traded"  #: traded (volume over the window) | depth (displayed at the touch the order takes)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "volume_basis":
                _check_number("guards", f.name, getattr(self, f.name), lo=0.0)
        _check_number("guards", "max_volume_share", self.max_volume_share, lo=0.0, hi=1.0)
        _check_number("guards", "volume_window_ms", self.volume_window_ms, lo=1.0)  # buckets of >= 15.6 µs
        if self.volume_basis not in c.VOL_BASIS_CODES:
            raise ConfigError(f"guards.volume_basis must be one of {sorted(c.VOL_BASIS_CODES)}, got {self.volume_basis!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "RiskGuards":
        """RiskGuards from a mapping (0 switches a guard off)."""
        return _from_dict(cls, "guards", d)

    @property
    def active(self) -> bool:
        """True when any guard is on."""
        return any(getattr(self, f.name) > 0 for f in fields(self)
                   if f.name not in ("stuck_window_ms", "volume_window_ms", "volume_basis"))

    def vector(self) -> np.ndarray:
        """The guard settings as the engine's float vector."""
        g = np.zeros(c.NRG)
        g[c.RG_ON] = 1.0 if self.active else 0.0
        g[c.RG_BUDGET] = self.budget
        g[c.RG_MAX_POS_NOTIONAL] = self.max_position_notional
        g[c.RG_MAX_TOTAL_NOTIONAL] = self.max_total_notional
        g[c.RG_COOLDOWN_FILL_MS] = self.cooldown_after_fill_ms
        g[c.RG_COOLDOWN_LOSS_MS] = self.cooldown_after_loss_ms
        g[c.RG_MAX_DAILY_LOSS] = self.max_daily_loss
        g[c.RG_MAX_DRAWDOWN] = self.max_drawdown
        g[c.RG_MAX_GAP_MS] = self.max_gap_ms
        g[c.RG_STALE_MS] = self.stale_book_ms
        g[c.RG_STUCK_MS] = self.stuck_window_ms
        g[c.RG_VOL_SHARE] = self.max_volume_share
        g[c.RG_VOL_WINDOW_MS] = self.volume_window_ms
        g[c.RG_VOL_BASIS] = float(c.VOL_BASIS_CODES[self.volume_basis])
        return g

    def to_dict(self) -> dict[str, Any]:
        """The guards as plain data."""
        return asdict(self)


_REWARD_TERMS = ("rate", "max_spread", "min_size", "scale")


def _check_reward_terms(where: str, d: Mapping[str, Any]) -> None:
    _check_number(where, "rate", d["rate"], lo=0.0)
    _check_number(where, "max_spread", d["max_spread"], lo=0.0, hi=1.0, lo_open=True)
    _check_number(where, "min_size", d["min_size"], lo=0.0)
    _check_number(where, "scale", d["scale"], lo=1.0)


@dataclass(frozen=True)
class Rewards:
    """Liquidity rewards of binary-outcome markets (:mod:`arbkit.engine.rewards`); off by default (rate 0).

    ``rate``: cash per unit of score per day, credited pro rata at each sample; ``max_spread``: the
    farthest an order may rest from the mid and still score (price units: 0.03 = 3 cents);
    ``min_size``: the least order size that scores (tokens); ``scale``: c, the divisor of a
    one-sided quote's score; ``interval_ms``: time between two samples. ``markets``: market id ->
    any of rate / max_spread / min_size / scale for that market; when given, only those markets
    earn (the top-level terms fill in what an entry leaves out); else every outcome instrument does.
    """

    rate: float = 0.0
    max_spread: float = 0.03
    min_size: float = 0.0
    scale: float = 3.0
    interval_ms: float = 60_000.0
    markets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_reward_terms("rewards", asdict(self))
        _check_number("rewards", "interval_ms", self.interval_ms, lo=0.0, lo_open=True)
        if int(round(self.interval_ms * 1e6)) < 1:
            raise ConfigError(f"rewards.interval_ms must be at least 1e-6 (one ns), got {self.interval_ms!r}")
        if not isinstance(self.markets, Mapping):
            raise ConfigError(f"rewards.markets must map market ids to reward terms, got {self.markets!r}")
        for market, terms in self.markets.items():
            where = f"rewards.markets.{market}"
            if not isinstance(terms, Mapping):
                raise ConfigError(f"{where} must be a mapping of {list(_REWARD_TERMS)}, got {terms!r}")
            unknown = sorted(set(terms) - set(_REWARD_TERMS))
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(_REWARD_TERMS)}")
            _check_reward_terms(where, self.terms(str(market)))

    def terms(self, market: str) -> dict[str, float]:
        """rate / max_spread / min_size / scale of ``market`` (rate 0 when ``markets`` is given and lacks it)."""
        base = {k: getattr(self, k) for k in _REWARD_TERMS}
        if not self.markets:
            return base
        if market not in self.markets:
            return {**base, "rate": 0.0}
        return {**base, **dict(self.markets[market])}

    @property
    def active(self) -> bool:
        """True when some market may earn (a positive rate somewhere)."""
        return self.rate > 0 if not self.markets else any(self.terms(m)["rate"] > 0 for m in self.markets)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Rewards":
        """Rewards from a mapping (unknown keys and bad values are a ConfigError)."""
        return _from_dict(cls, "rewards", d)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for run.yaml and the result's config)."""
        return {**{k: getattr(self, k) for k in (*_REWARD_TERMS, "interval_ms")},
                "markets": {str(m): dict(t) for m, t in self.markets.items()}}

    def apply(self, matrix: np.ndarray, instruments: Sequence[Instrument]) -> np.ndarray:
        """Write the reward columns of ``matrix`` (:func:`instrument_matrix`) for the outcome instruments; unknown
        market ids in ``markets`` are a ConfigError."""
        if self.markets:
            known = {market_key(i) for i in instruments if i.contract_type == "binary_outcome"}
            missing = sorted(set(map(str, self.markets)) - known)
            if missing:
                raise ConfigError(f"rewards.markets: no outcome instrument of market(s) {missing}; "
                                  f"the run's markets: {sorted(known)}")
        for a, inst in enumerate(instruments):
            if inst.contract_type != "binary_outcome":
                continue
            t = self.terms(market_key(inst))
            if t["rate"] <= 0:
                continue
            matrix[a, c.I_RW_RATE] = t["rate"]
            matrix[a, c.I_RW_SPREAD] = t["max_spread"]
            matrix[a, c.I_RW_MIN] = t["min_size"]
            matrix[a, c.I_RW_SCALE] = t["scale"]
        return matrix


#: contract types that may go short by default (``allow_short`` unset): perpetuals and futures
SHORTABLE_BY_DEFAULT = ("linear_perp", "inverse_perp", "linear_future", "inverse_future", "option")


def check_allow_short(allow_short: Any) -> None:
    """``allow_short``: None (by contract type), true / false for every instrument."""
    if allow_short is not None and not isinstance(allow_short, (bool, np.bool_)):
        raise ConfigError(f"allow_short must be true, false or null (by contract type), got {allow_short!r}")


def complement_index(instruments: Sequence[Instrument], a: int) -> int:
    """Index of instrument ``a``'s complement (same venue, ``complement`` symbol or key); -1 when none."""
    want = instruments[a].complement
    if not want:
        return -1
    for b, other in enumerate(instruments):
        if b != a and (other.key == want or (other.venue == instruments[a].venue and other.symbol == want)):
            return b
    return -1


def instrument_matrix(instruments: Sequence[Instrument], allow_short: bool | None = None) -> np.ndarray:
    """Per-asset float columns the engine reads (fees, contract size, inverse/binary flags, lot, short rule,
    complement, payoff and resolution time)."""
    check_allow_short(allow_short)
    m = np.zeros((len(instruments), c.NI))
    for a, inst in enumerate(instruments):
        shortable = inst.contract_type in SHORTABLE_BY_DEFAULT if allow_short is None else bool(allow_short)
        m[a, c.I_NO_SHORT] = 0.0 if shortable else 1.0
        m[a, c.I_COMPLEMENT] = complement_index(instruments, a)
        m[a, c.I_PAYOFF] = np.nan if inst.payoff is None else inst.payoff
        rts = inst.resolution_ts
        m[a, c.I_RES_S] = -1.0 if rts is None else float(rts // 1_000_000_000)
        m[a, c.I_RES_NS] = 0.0 if rts is None else float(rts % 1_000_000_000)
        m[a, c.I_MAKER_BPS] = inst.maker_fee_bps
        m[a, c.I_TAKER_BPS] = inst.taker_fee_bps
        m[a, c.I_CSIZE] = inst.contract_size
        m[a, c.I_INVERSE] = 1.0 if inst.contract_type.startswith("inverse") else 0.0
        m[a, c.I_LOT] = inst.lot_size
        m[a, c.I_UNIT] = inst.lot_size if inst.lot_size > 0 else 1.0
        m[a, c.I_BINARY] = 1.0 if inst.contract_type == "binary_outcome" else 0.0
    return m


def check_equity_interval(equity_interval_ms: Any) -> None:
    """Equity samples need a positive interval (they are for plots; drawdown and time in market are exact)."""
    ok = isinstance(equity_interval_ms, (int, float)) and not isinstance(equity_interval_ms, bool) \
        and math.isfinite(equity_interval_ms) and int(round(equity_interval_ms * 1e6)) >= 1
    if not ok:
        raise ConfigError(f"equity_interval_ms must be a number > 0 (at least 1e-6, one ns), got {equity_interval_ms!r}: "
                          "equity samples are for plots; drawdown and time in market are exact at any interval")


def check_mark(mark: Any) -> str:
    """``mark``: what equity and unrealised PnL mark positions at, ``mid`` or ``mark_price``."""
    if not isinstance(mark, str) or mark not in c.MARK_CODES:
        raise ConfigError(f"mark must be one of {', '.join(c.MARK_CODES)}, got {mark!r}")
    return mark


def engine_config(fill: FillModel, schedule: Schedule, equity_interval_ms: float,
                  allow_crossed: bool = False, mark: str = "mid",
                  rewards: Rewards | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The int64 and float64 configuration vectors of the numba state."""
    check_equity_interval(equity_interval_ms)
    check_mark(mark)
    if not isinstance(allow_crossed, (bool, np.bool_)):
        raise ConfigError(f"allow_crossed must be true or false, got {allow_crossed!r}")
    gi = np.zeros(c.NG, np.int64)
    gi[c.G_SCHEDULE] = schedule.bits
    gi[c.G_INTERVAL] = max(schedule.interval_ns, 1)
    gi[c.G_QUEUE] = c.QUEUE_MODEL_CODES[fill.queue]
    gi[c.G_THROUGH] = c.THROUGH_CODES[fill.trade_through]
    gi[c.G_CROSS] = int(fill.cross_fill)
    gi[c.G_CONSUME] = int(fill.taker_consumes_book)
    gi[c.G_EQ_INTERVAL] = int(round(equity_interval_ms * 1e6))
    gi[c.G_MAX_LEVELS] = fill.max_taker_levels
    gi[c.G_ALLOW_CROSSED] = int(bool(allow_crossed))
    gi[c.G_MAX_SILENCE] = int(round(schedule.max_silence_s * 1e9))
    gi[c.G_MARK] = c.MARK_CODES[mark]
    gi[c.G_RW_INTERVAL] = int(round((rewards or Rewards()).interval_ms * 1e6))
    gf = np.zeros(c.NH)
    gf[c.H_QUEUE_POWER] = fill.queue_power
    gf[c.H_FILL_PROB] = fill.fill_probability
    return gi, gf

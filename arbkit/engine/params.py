"""What each strategy parameter may be, declared once and checked against the recording before a kernel runs.

A :class:`ParamSpec` names one parameter's kind and range: an instrument index of the
recording (:func:`asset`), a whole number (:func:`integer`), a number in a range
(:func:`number`, :func:`positive`, :func:`non_negative`, :func:`bps`) or one of a few values
(:func:`choice`, :func:`flag`). A parameter a strategy does not declare may be any finite
number. :func:`param_problem` says, in one line, what is wrong with a value and what is allowed;
the engine refuses a parameter vector with a problem, so no kernel ever reads an index
outside the books.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from arbkit.core.schema import Instrument

#: Basis points beyond which a bps parameter is a typo (±100 %).
BPS_LIMIT = 10_000.0
#: How many instruments an error message lists by name.
LISTED_INSTRUMENTS = 6


@dataclass(frozen=True)
class ParamSpec:
    """One parameter's kind (``asset``, ``int``, ``float``, ``choice``) and range."""

    kind: str = "float"
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  #: ``lo`` itself is not allowed (a strictly positive size)
    choices: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()  #: what each choice means, in the same order (may be empty)
    distinct_from: str | None = None  #: an asset that must differ from this other asset parameter
    unit: str = ""
    #: a size: at least one lot of each instrument these asset parameters name (else it rounds to nothing)
    lot_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("asset", "int", "float", "choice"):
            raise ValueError(f"ParamSpec kind {self.kind!r} is not asset, int, float or choice")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a choice ParamSpec needs its choices")
        if self.labels and len(self.labels) != len(self.choices):
            raise ValueError("ParamSpec labels must match the choices one for one")

    def allowed(self, instruments: Sequence[Instrument] | None = None) -> str:
        """What this parameter may be, in words (with the recording's instruments for an asset)."""
        if self.kind == "asset":
            if instruments is None:
                return "an instrument index (a whole number >= 0)"
            n = len(instruments)
            if n == 0:
                return "an instrument index, but the recording has no instruments"
            names = ", ".join(f"{i} {inst.key}" for i, inst in enumerate(instruments[:LISTED_INSTRUMENTS]))
            more = f", … {n - LISTED_INSTRUMENTS} more" if n > LISTED_INSTRUMENTS else ""
            return f"an instrument index 0..{n - 1} ({names}{more})"
        if self.kind == "choice":
            return "one of " + ", ".join(
                f"{_num(v)} ({lab})" if lab else _num(v)
                for v, lab in zip(self.choices, self.labels or ("",) * len(self.choices)))
        what = "a whole number" if self.kind == "int" else "a finite number"
        unit = f" {self.unit}" if self.unit else ""
        if self.lo is not None and self.hi is not None:
            return f"{what} {'>' if self.lo_open else '>='} {_num(self.lo)} and <= {_num(self.hi)}{unit}"
        if self.lo is not None:
            return f"{what} {'>' if self.lo_open else '>='} {_num(self.lo)}{unit}"
        if self.hi is not None:
            return f"{what} <= {_num(self.hi)}{unit}"
        return what + unit

    def problem(self, value: float, instruments: Sequence[Instrument] | None = None) -> str | None:
        """None when ``value`` is allowed, else a short phrase saying why not."""
        if not math.isfinite(value):
            return "not a finite number"
        if self.kind == "choice":
            return None if value in self.choices else "not one of the choices"
        if self.kind in ("asset", "int") and value != math.floor(value):
            return "not a whole number"
        if self.kind == "asset":
            if value < 0:
                return "not an instrument index"
            if instruments is not None and value >= len(instruments):
                n = len(instruments)
                return f"the recording has {n} instrument{'s' if n != 1 else ''}"
            return None
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return "too small"
        if self.hi is not None and value > self.hi:
            return "too large"
        return None


FINITE = ParamSpec()


def asset(distinct_from: str | None = None) -> ParamSpec:
    """An instrument index of the recording (optionally a different instrument than ``distinct_from``)."""
    return ParamSpec("asset", distinct_from=distinct_from)


def integer(lo: int | None = None, hi: int | None = None) -> ParamSpec:
    """A whole number in [lo, hi]."""
    return ParamSpec("int", lo=lo, hi=hi)


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, unit: str = "") -> ParamSpec:
    """A finite number in [lo, hi] (``lo_open``: lo itself excluded)."""
    return ParamSpec("float", lo=lo, hi=hi, lo_open=lo_open, unit=unit)


def positive(hi: float | None = None, *, unit: str = "") -> ParamSpec:
    """A number > 0 (intervals, scales)."""
    return ParamSpec("float", lo=0.0, hi=hi, lo_open=True, unit=unit)


def order_size(*assets: str) -> ParamSpec:
    """An order size > 0 and at least one lot of each instrument the asset parameters ``assets`` name
    (strategies round sizes down to the lot, so a smaller one would never trade)."""
    return ParamSpec("float", lo=0.0, lo_open=True, lot_of=tuple(assets))


def non_negative(hi: float | None = None, *, unit: str = "") -> ParamSpec:
    """A number >= 0."""
    return ParamSpec("float", lo=0.0, hi=hi, unit=unit)


def bps(lo: float = -BPS_LIMIT, hi: float = BPS_LIMIT) -> ParamSpec:
    """Basis points in [lo, hi] (default ±10 000, i.e. ±100 %)."""
    return ParamSpec("float", lo=lo, hi=hi, unit="bps")


def choice(*values: float, labels: Sequence[str] = ()) -> ParamSpec:
    """One of ``values`` (an enum stored as a number), with optional names for the message."""
    return ParamSpec("choice", choices=tuple(float(v) for v in values), labels=tuple(labels))


def flag() -> ParamSpec:
    """0 (off) or 1 (on)."""
    return choice(0, 1, labels=("off", "on"))


def param_problem(strategy: str, names: Sequence[str], values: Sequence[float], specs: dict[str, ParamSpec],
                  instruments: Sequence[Instrument] | None = None) -> str | None:
    """The first parameter of ``values`` that its spec refuses, as one line; None when all are allowed."""
    by_name = dict(zip(names, values))
    for name, value in zip(names, values):
        spec = specs.get(name, FINITE)
        why = spec.problem(float(value), instruments)
        if why is None and spec.distinct_from is not None and by_name.get(spec.distinct_from) == value:
            return (f"strategy {strategy}: parameter {name} = {_num(value)} is the same instrument as "
                    f"{spec.distinct_from}; allowed: an instrument other than {spec.distinct_from} "
                    f"(the two legs must differ)")
        if why is not None:
            return (f"strategy {strategy}: parameter {name} = {_num(value)} is not allowed ({why}); "
                    f"allowed: {spec.allowed(instruments)}")
        below = _below_lot(spec, float(value), by_name, instruments)
        if below:
            return f"strategy {strategy}: parameter {name} = {_num(value)} is {below}"
    return None


def _below_lot(spec: ParamSpec, value: float, by_name: dict[str, float],
               instruments: Sequence[Instrument] | None) -> str | None:
    """Why a size is below one lot of an instrument it trades (None when it is not, or unknown)."""
    if not spec.lot_of or instruments is None:
        return None
    for leg in spec.lot_of:
        idx = by_name.get(leg)
        if idx is None or idx != math.floor(idx) or not 0 <= idx < len(instruments):
            continue
        inst = instruments[int(idx)]
        lot = float(inst.lot_size)
        if lot > 0 and value < lot * (1.0 - 1e-9):
            return (f"below one lot of {leg} ({int(idx)} {inst.key}: lot {_num(lot)}); allowed: at least "
                    f"{_num(lot)} (sizes are rounded down to the lot, so it would never trade)")
    return None


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)

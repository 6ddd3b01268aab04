"""What a strategy's edge hook returns: its paper trader's round trips and the spreads it saw.

A strategy with an edge model (``Strategy(edge=...)``) turns a replay's Result into a
:class:`PaperEdge`; :func:`arbkit.kpi.edge.edge_report` prices it under the cost profiles
and the report draws its :class:`SpreadHistogram`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpreadHistogram:
    """Counts of the spreads seen (bps) in fixed bins from ``lo_bps``, one row per direction.

    ``counts[d]`` holds the bins of direction ``d``; ``below[d]`` / ``above[d]`` count the
    spreads outside the binned range.
    """
    lo_bps: float
    bin_bps: float
    counts: np.ndarray  # [2, bins]
    below: np.ndarray  # [2]
    above: np.ndarray  # [2]
    directions: tuple[str, str]

    @property
    def edges(self) -> np.ndarray:
        """The bin edges, bps (bins + 1 of them)."""
        return self.lo_bps + self.bin_bps * np.arange(self.counts.shape[1] + 1)


@dataclass(frozen=True)
class PaperEdge:
    """A cost-free paper trader's round trips over a replay, with what a round trip pays under costs.

    ``round_trips`` and ``gross_bps_sum`` include a round trip still open at the end (closed
    at its last mark). ``fee_bps``: the taker fees of one round trip at the instruments' fees;
    ``fills``: how many fills one round trip has (each pays the profile's slippage).
    ``realised_bps``: the replay's own round trips, net, in bps of their entry notional.
    ``carry_bps_sum``: the perpetual funding those paper round trips carried over their holding
    times, at the recorded rates (0 with no funding rows).
    """
    round_trips: int
    gross_bps_sum: float
    fee_bps: float
    fills: int
    realised_bps: tuple[float, ...] = ()
    spreads: SpreadHistogram | None = None
    #: funding the paper round trips paid (-) or received (+) across funding times, bps sum (same trips)
    carry_bps_sum: float = 0.0

    @property
    def gross_edge_bps(self) -> float:
        """Mean gross bps of the paper round trips (NaN when there were none)."""
        return self.gross_bps_sum / self.round_trips if self.round_trips else float("nan")

    @property
    def carry_edge_bps(self) -> float:
        """Mean funding carry of the paper round trips, bps (NaN when there were none)."""
        return self.carry_bps_sum / self.round_trips if self.round_trips else float("nan")

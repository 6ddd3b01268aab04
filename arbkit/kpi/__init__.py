"""KPIs of a replay: one definition of each name and unit, computed from a Result."""
from arbkit.kpi.compute import CHECKPOINTS_S, checkpoints, compute_kpis, round_trips_from_fills
from arbkit.kpi.definitions import KPI_DEFINITIONS

__all__ = ["CHECKPOINTS_S", "KPI_DEFINITIONS", "checkpoints", "compute_kpis", "round_trips_from_fills"]

"""KPIs of a replay: one definition of each name and unit, computed from a Result; one evaluation path."""
from arbkit.kpi.compute import CHECKPOINTS_S, checkpoints, compute_kpis, round_trips_from_fills
from arbkit.kpi.definitions import KPI_DEFINITIONS
from arbkit.kpi.evaluation import Evaluation, evaluate

__all__ = ["CHECKPOINTS_S", "KPI_DEFINITIONS", "Evaluation", "checkpoints", "compute_kpis", "evaluate",
           "round_trips_from_fills"]

"""Parameter sweeps: grids, a resumable local runner, ranking and the candidate / manifest files."""
from arbkit.sweep.grid import expand_grid, param_id, random_grid
from arbkit.sweep.runner import SweepResult, sweep

__all__ = ["SweepResult", "expand_grid", "param_id", "random_grid", "sweep"]

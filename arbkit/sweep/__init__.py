"""Parameter sweeps: grids, job plans, a resumable local runner, ranking, the candidate / manifest / tuning files."""
from arbkit.sweep.grid import expand_grid, param_id, random_grid
from arbkit.sweep.runner import SweepResult, run_plan, sweep

__all__ = ["SweepResult", "expand_grid", "param_id", "random_grid", "run_plan", "sweep"]

"""Reports and figures: markdown run / sweep reports with PNG figures (matplotlib, no display needed)."""
from arbkit.report.markdown import run_report, sweep_markdown, sweep_report

__all__ = ["run_report", "sweep_markdown", "sweep_report"]

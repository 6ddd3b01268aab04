"""The live dashboard for paper runs: a small local web page fed by live_state.json and trades.jsonl."""
from arbkit.live.dashboard.server import serve

__all__ = ["serve"]

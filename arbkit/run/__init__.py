"""Runs over recordings: open them, replay one or many parameter sets, the run config, results with their analysis."""

"""Campaigns: a series of runs, each testing one hypothesis, with verdicts, bounded adjustment and a budget."""

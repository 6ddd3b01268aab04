"""Foundations every layer may use: the event schema and columns, errors, terminal checks, numba cache upkeep."""

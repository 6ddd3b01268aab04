"""Shared test helpers: repository paths and real-data lookup, event builders, the plain-Python reference engine,
a scripted strategy, independent oracles and book probes."""

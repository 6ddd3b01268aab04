"""Strategy kernels for the engine (each module one strategy)."""

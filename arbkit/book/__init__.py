"""Order books below the engine: integer-tick ladders (numba) and a plain scanner that rebuilds them from events."""

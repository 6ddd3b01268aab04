"""The live parts: the recorder (websockets to a recording), paper trading on the live feed, its dashboard."""

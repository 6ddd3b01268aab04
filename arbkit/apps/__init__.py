"""Applications on top of the library: the ``arbkit`` command line, the demo, the benchmark."""

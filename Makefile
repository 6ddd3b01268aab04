# The two commands that matter: `make demo` and `make test`. Both build the
# virtualenv from nothing (python3 -m venv + pip install -e ".[dev]").
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m arbkit.demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_load.py --json benchmarks/results/load.json
	$(PY) benchmarks/bench_engine.py --json benchmarks/results/engine.json --markdown benchmarks/results/engine.md
	$(PY) benchmarks/bench_sweep.py --json benchmarks/results/sweep.json --markdown benchmarks/results/sweep.md
	$(PY) benchmarks/bench_recorder.py --times 100 --json benchmarks/results/recorder.json --markdown benchmarks/results/recorder.md

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

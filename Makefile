# The two commands that matter: `make demo` and `make test`. Both build the
# virtualenv from nothing (python3 -m venv + pip install -e ".[dev]", then the
# engine compiled into the JIT cache so the first run starts at once).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-slow-sample test-boundscheck bench clean venv browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,peer]"  # peer: the hftbacktest rule tests run too
	$(PY) -m arbkit.apps.warm
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m arbkit.apps.demo

# Debian's Chromium for the dashboard's browser test (installed when missing and we are root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) ; } || \
	  echo "chromium is not installed: the dashboard browser test will be skipped"

test: $(STAMP) browser
	$(PY) -m pytest -q -m "not slow" --durations=30

# Tests marked slow: long paper runs on the recording's clock (the twelve-hour acceptance run), campaign crash
# and live runs, Optuna property tests. CI runs the campaign sample; `make test-slow` runs them all.
test-slow: $(STAMP) browser
	$(PY) -m pytest -q -m slow --durations=10

SLOW_SAMPLE := tests/campaign/test_live_campaign.py tests/campaign/test_polymarket_campaign.py tests/campaign/test_example.py
test-slow-sample: $(STAMP)
	$(PY) -m pytest -q -m slow --durations=10 $(SLOW_SAMPLE)

# The engine's differential, batched and strategy tests (and the reader's row checks) again with numba's
# bounds checks compiled in, so an index outside an array fails a test instead of corrupting memory. Its own
# numba cache (the checks change the machine code); property tests capped by the boundscheck profile.
BOUNDSCHECK_TESTS := tests/engine tests/strategies tests/io/test_read_checks.py
test-boundscheck: $(STAMP)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(CURDIR)/$(VENV)/numba-cache-boundscheck \
	  $(PY) -m pytest -q -p no:cacheprovider --hypothesis-profile=boundscheck $(BOUNDSCHECK_TESTS)

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[peer]"
	$(PY) benchmarks/bench_load.py --json benchmarks/results/load.json
	$(PY) benchmarks/bench_engine.py --json benchmarks/results/engine.json --markdown benchmarks/results/engine.md
	$(PY) benchmarks/bench_breakdown.py --json benchmarks/results/breakdown.json --markdown benchmarks/results/breakdown.md
	$(PY) benchmarks/bench_scanner.py --json benchmarks/results/scanner.json --markdown benchmarks/results/scanner.md
	$(PY) benchmarks/bench_sweep.py --json benchmarks/results/sweep.json --markdown benchmarks/results/sweep.md
	$(PY) benchmarks/bench_sweep_bound.py --json benchmarks/results/sweep_bound.json --markdown benchmarks/results/sweep_bound.md
	$(PY) benchmarks/bench_scaleout.py --json benchmarks/results/scaleout.json
	$(PY) benchmarks/bench_recorder.py --times 100 --json benchmarks/results/recorder.json --markdown benchmarks/results/recorder.md
	$(PY) benchmarks/bench_peer.py --json benchmarks/results/peer.json --markdown benchmarks/results/peer.md
	$(PY) benchmarks/bench_reference.py --json benchmarks/results/reference.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

# The whole set-up is two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test install install-dev lint format bench clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[samples]"
	$(BIN)/python -m research.warmup   # compile + cache numba kernels once (~40 s)
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEVSTAMP)

demo: $(STAMP)
	$(BIN)/research run experiments/quickstart.yaml

test: $(DEVSTAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory docs

# the API reference from the docstrings + the guides; strict: a broken link or reference fails.
# (never pass -q: mkdocs then hides the warnings that strict mode counts, and passes)
docs: $(DEVSTAMP)
	$(BIN)/mkdocs build --strict --site-dir site

lint: $(DEVSTAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(DEVSTAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(DEVSTAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info site

# The README's quick start is `make demo` and `make test`; .ci/run runs `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test bench model clean

# The demo needs only the runtime dependencies (no pytest, mypy or ruff).
demo: $(VENV)/.runtime
	$(BIN)/tracker demo

test: $(VENV)/.installed
	$(BIN)/ruff check --quiet --select F tracker tests bench
	$(BIN)/mypy tracker
	$(BIN)/python -m pytest -q

# The shipped labeller, trained on the hand-labelled posts (deterministic: the same labels give
# the same file): make model LABELS_DIR=folder-with-train.jsonl-and-dev.jsonl.
# tests/test_model.py retrains it and compares.
model: $(VENV)/.installed
	@test -n "$(LABELS_DIR)" || { echo "make model needs LABELS_DIR=<folder with train.jsonl and dev.jsonl>"; exit 2; }
	$(BIN)/tracker train --cv 5 --labels $(LABELS_DIR)/train.jsonl --labels $(LABELS_DIR)/dev.jsonl --out tracker/data/labeller.npz

# Benchmarks are run by hand (minutes each); their figures go in the closing notes.
bench: $(VENV)/.installed
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

$(VENV)/.runtime: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.runtime $@

clean:
	rm -rf $(VENV) build *.egg-info demo

# Two commands on a fresh machine: `make run` (a real search) and `make test` (the suite).
# Both build the virtual environment .venv first; it is rebuilt only when pyproject.toml changes.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CPU build, installed before the package so that no CUDA build of torch is ever downloaded.
TORCH := torch==2.13.0

.PHONY: run test lint clean

run: $(STAMP)
	$(PYTHON) examples/quickstart.py

test: $(STAMP)
	$(PYTHON) -m pytest -n 2

# ruff (pyflakes, pycodestyle, import order, formatting) and mypy, as configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --progress-bar off $(TORCH)
	$(VENV)/bin/pip install --quiet --progress-bar off -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) runs

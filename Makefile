# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format openapi check bench bench-smoke image-smoke clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' || \
		{ echo "Python 3.11 or 3.12 is needed (durable_rules does not build on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@

## Serve the API with the shipped knowledge on 127.0.0.1:8000 (HOST, PORT, WORKERS override).
run: $(INSTALLED)
	$(BIN)/guidance serve

## The whole suite: lint, format check, knowledge check, tests (with the benchmark smoke run).
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/guidance check knowledge
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Regenerate the committed OpenAPI document from the app.
openapi: $(INSTALLED)
	$(BIN)/guidance openapi --output openapi/openapi.json

check: $(INSTALLED)
	$(BIN)/guidance check knowledge

## Measure throughput, latency, engine cost, scaling and memory (takes several minutes).
bench: $(INSTALLED)
	$(BIN)/python -m bench

## The seconds-long version of the benchmark that the test suite also runs.
bench-smoke: $(INSTALLED)
	$(BIN)/python -m bench --smoke

## Build the container image and smoke-test it: root, buildah and debootstrap, several minutes, not in CI.
image-smoke: $(INSTALLED)
	$(BIN)/python -m pytest -s -m slow tests/container

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The two commands a fresh clone needs: `make run` and `make test`, with Python 3.11, 3.12 or 3.13.
#
# `make run`'s standard output is the service's audit trail, so nothing on its path echoes a
# command or prints to standard output: recipes there are silent (@) and report on standard error.
PYTHON ?= python3
VENV ?= .venv
EXTRAS ?= test,bench,deploy
BIN := $(VENV)/bin
# The interpreter PYTHON names (a pyenv shim for an installed but unselected version is resolved)
# and its version. The stamp names the version, so `PYTHON=python3.13 make test` after a 3.11
# run rebuilds the venv with 3.13 instead of quietly reusing the 3.11 one.
PY := $(shell sh tools/pythons.sh resolve '$(PYTHON)')
PYVER := $(if $(PY),$(shell '$(PY)' -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
INSTALLED := $(VENV)/.installed-py$(PYVER)
# durable-rules 2.0.28 is built from its sdist with this patch (see the patch's header).
ENGINE_WHEEL := tools/durable_rules_wheel.py patches/durable-rules-2.0.28-py313.patch
# What the second Python runs: the build-marker test, the engine's differential and thread tests
# and the HTTP tests (tests/integration, so new ones are included), less the benchmark smoke run
# and the command-line tests, which the whole suite runs.
# The engine's differential and thread tests and the HTTP tests; not the benchmark, the CLI, nor
# the fault-injection tests of the audit file and of killed workers (the kernel's behaviour, the
# same under every Python), which the whole suite runs.
SECOND_TESTS := tests/platform tests/unit/test_engine_differential.py tests/unit/test_engine_threads.py \
	tests/integration --ignore=tests/integration/test_bench_smoke.py \
	--ignore=tests/integration/test_cli.py --ignore=tests/integration/test_audit_cli.py \
	--ignore=tests/integration/test_audit_faults.py --ignore=tests/integration/test_worker_killed.py
SECOND_LOG := .cache/second-python.log

.PHONY: run test test-suite test-second-python-logged test-second-python venv lint format openapi check bench bench-smoke image-smoke clean

$(INSTALLED): pyproject.toml constraints.txt $(ENGINE_WHEEL)
	@[ -n "$(PY)" ] || { echo "cannot run $(PYTHON); Python 3.11, 3.12 or 3.13 is needed" >&2; exit 1; }
	@'$(PY)' -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)))' || \
		{ echo "$(PYTHON) is Python $(PYVER); Python 3.11, 3.12 or 3.13 is needed (PYTHON=python3.13 make ..., for example)" >&2; exit 1; }
	@echo "setting up $(VENV) with Python $(PYVER) ($(PY))" >&2
	@[ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$(PYVER)" ] || \
		'$(PY)' -m venv --clear $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@wheel=$$($(BIN)/python tools/durable_rules_wheel.py) && \
		$(BIN)/python -m pip install --quiet --no-deps --force-reinstall "$$wheel" >&2
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]' >&2
	@touch $@

venv: $(INSTALLED)

## Serve the API with the shipped knowledge on 127.0.0.1:8000 (HOST, PORT, WORKERS override).
run: $(INSTALLED)
	@$(BIN)/guidance serve

## The whole suite (lint, format check, type check, the tests: every pack's scenarios once, through the API,
## the benchmark smoke run, Schemathesis, the fuzzing) and,
## alongside it on the other core, SECOND_TESTS under a second Python; that run's output is kept
## in SECOND_LOG and shown after the suite's (straight away if it fails).
test: $(INSTALLED)
	@mkdir -p $(dir $(SECOND_LOG))
	@$(MAKE) --no-print-directory -j2 test-suite test-second-python-logged
	@cat $(SECOND_LOG)

test-suite: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-second-python-logged:
	@echo "== a second Python runs alongside; its output comes after this suite's ($(SECOND_LOG)) =="
	@$(MAKE) --no-print-directory test-second-python > $(SECOND_LOG) 2>&1 || \
		{ echo "== the second Python's run failed: =="; cat $(SECOND_LOG); exit 1; }

## SECOND_TESTS under another supported Python than PYTHON's, in its own .venv-pyX.Y: the one
## furthest from it that this machine has (SECOND_PYTHON=python3.12 chooses, =none skips).
test-second-python:
	@if [ "$(SECOND_PYTHON)" = none ]; then \
		echo "== second Python: skipped (SECOND_PYTHON=none); only Python $(PYVER) ran =="; \
	elif [ -n "$(SECOND_PYTHON)" ]; then \
		second=$$(sh tools/pythons.sh resolve '$(SECOND_PYTHON)') || { echo "cannot run SECOND_PYTHON=$(SECOND_PYTHON)"; exit 1; }; \
	else \
		second=$$(sh tools/pythons.sh second '$(PYVER)'); \
		[ -n "$$second" ] || echo "== second Python: none found (looked for python3.11, python3.12 and python3.13 on PATH and in pyenv); only Python $(PYVER) ran =="; \
	fi; \
	if [ -n "$$second" ]; then \
		ver=$$("$$second" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		full=$$("$$second" -c 'import platform; print(platform.python_version())'); \
		echo "== second Python: $$full ($$second), venv .venv-py$$ver: $(SECOND_TESTS) =="; \
		$(MAKE) --no-print-directory PYTHON="$$second" VENV=.venv-py$$ver EXTRAS=test venv && \
		.venv-py$$ver/bin/python -m pytest $(SECOND_TESTS) && \
		echo "== second Python: $$full passed (the whole suite ran on Python $(PYVER)) =="; \
	fi

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

## The venvs, the tool caches and the patched durable-rules wheels.
clean:
	rm -rf $(VENV) .venv-py3.* .pytest_cache .ruff_cache .cache

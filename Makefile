# sslcourse — thin wrappers, nothing hidden. `make help` lists them.
#   make run    set up .venv, execute every lesson (quick profile) into build/, print the results table
#   make test   set up .venv, run the unit tests, the graders and every notebook under nbval

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sslcourse-installed
BUILD  ?= build
# Tests and `make run` use their own cache, so they never depend on what a learner ran before.
TEST_CACHE := $(CURDIR)/$(BUILD)/test-cache
PROFILE ?= quick

.PHONY: help setup run test unit notebooks lab sync exercises bench clean

help:
	@sed -n 's/^#   //p' Makefile
	@echo "  make lab        open JupyterLab on the lessons"
	@echo "  make sync       rebuild notebooks' .ipynb from their .py (the source)"
	@echo "  make exercises  regenerate exercises/ from solutions/"
	@echo "  make bench      run the benchmarks (figures for BENCHMARKS.md)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,otter]"
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	SSLCOURSE_PROFILE=$(PROFILE) $(PY) -m sslcourse course --out $(BUILD)

test: $(STAMP)
	rm -rf $(TEST_CACHE)
	SSLCOURSE_CACHE=$(TEST_CACHE) SSLCOURSE_PROFILE=quick TQDM_MININTERVAL=10 \
		$(PY) -m pytest -q tests notebooks solutions exercises \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider

unit: $(STAMP)
	SSLCOURSE_CACHE=$(TEST_CACHE) SSLCOURSE_PROFILE=quick $(PY) -m pytest -q tests

notebooks: $(STAMP)
	SSLCOURSE_CACHE=$(TEST_CACHE) SSLCOURSE_PROFILE=quick TQDM_MININTERVAL=10 \
		$(PY) -m pytest -q notebooks solutions exercises --nbval-lax --nbval-current-env -p no:cacheprovider

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

sync: $(STAMP)
	$(PY) -m sslcourse.grading.generate --sync

exercises: $(STAMP)
	$(PY) -m sslcourse.grading.generate

bench: $(STAMP)
	$(PY) benchmarks/augment.py
	$(PY) benchmarks/models.py
	$(PY) benchmarks/train_loop.py

clean:
	rm -rf $(BUILD) .pytest_cache

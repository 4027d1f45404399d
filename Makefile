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

.PHONY: help setup run site test test-gpu-check test-full-smoke test-folder unit notebooks lab sync exercises bench clean

help:
	@sed -n 's/^#   //p' Makefile
	@echo "  make lab        open JupyterLab on your own copy of the lessons (my-course/)"
	@echo "  make sync       rebuild notebooks' .ipynb from their .py (the source)"
	@echo "  make exercises  regenerate exercises/ from solutions/"
	@echo "  make bench      run the benchmarks (figures for BENCHMARKS.md)"
	@echo "  make site       the course as a website in build/site, from the lessons make run executed"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,otter,site]"
	$(PY) -m sslcourse record-course
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	SSLCOURSE_PROFILE=$(PROFILE) SSLCOURSE_CLAIMS=strict $(PY) -m sslcourse course --out $(BUILD)

# The course as a static website (docs/build_site.py): the lessons as `make run` left them (nothing runs again),
# the exercises, the results, BENCHMARKS.md and the API reference. `make run PROFILE=gpu && make site` for a GPU run's.
site: $(STAMP)
	$(PY) docs/build_site.py $(BUILD)/notebooks --out $(BUILD)/site

# ipywidgets 7.7.1 (what Colab ships) beside the venv, for tests/test_widgets.py
IPYWIDGETS7 := $(BUILD)/ipywidgets7
$(IPYWIDGETS7):
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --target $(IPYWIDGETS7) \
		ipywidgets==7.7.1 ipython_genutils==0.2.0

# The small datasets the smoke and own-photo runs read, in the real on-disk formats (tests/datasets.py): CIFAR-10's
# pickles and a 300-image folder, from ../shared/data's CIFAR-10 JPEGs where present, else from shapes.
TEST_DATA := $(CURDIR)/$(BUILD)/test-data
REPORTS := $(BUILD)/test-reports
NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider
# Every core runs a pytest worker with one thread (a notebook is one scope: its cells stay in order on one worker).
# xdist's own order (the files with the most tests first) is kept: longest-first by measured seconds was tried and
# measured slower (BENCHMARKS.md, "`make test`: where its time goes").
XDIST := -n auto --dist loadscope
TEST_ENV := SSLCOURSE_CACHE=$(TEST_CACHE) SSLCOURSE_CLAIMS=strict TQDM_MININTERVAL=10 OMP_NUM_THREADS=1
SMOKE_ENV := SSLCOURSE_SMOKE=1 SSLCOURSE_DEVICE=cpu SSLCOURSE_ROOT=$(TEST_DATA)/cifar10 SSLCOURSE_NO_DOWNLOAD=1

test: $(STAMP) $(IPYWIDGETS7)
	rm -rf $(TEST_CACHE) $(REPORTS)
	# on the tests' cache: where the files are made from shapes, the tests then find shapes generated already
	SSLCOURSE_CACHE=$(TEST_CACHE) $(PY) tests/datasets.py cifar10 $(TEST_DATA)/cifar10
	SSLCOURSE_CACHE=$(TEST_CACHE) $(PY) tests/datasets.py photos $(TEST_DATA)/photos
	@echo "== 1/2 unit tests, graders, and every lesson, exercise and solution in the quick profile"
	$(TEST_ENV) SSLCOURSE_PROFILE=quick SSLCOURSE_CLAIMS_LOG=$(CURDIR)/$(REPORTS)/claims-quick.jsonl \
		$(PY) -m pytest -q $(XDIST) tests notebooks solutions exercises $(NBVAL) \
		--durations=25 --junitxml=$(REPORTS)/1-quick.xml
	@echo "== 2/2 three runs side by side (one worker each; each ends on one long lesson, so two of them fill the cores"
	@echo "       while the third waits less): the GPU check's dry run, the full profile's smoke run, 300 photos"
	$(MAKE) --no-print-directory -j3 --output-sync=target test-gpu-check test-full-smoke test-folder

# The gpu profile's smoke run on the CPU (fp16, narrow ResNet-18, CIFAR-10 files): every method, then every lesson,
# exercise and solution under nbval: benchmarks/gpu_check.sh's dry run (on a GPU the script executes the same
# notebooks with benchmarks/run_notebooks.py, which keeps their outputs).
test-gpu-check: $(STAMP)
	$(TEST_ENV) GPU_CHECK_DRY=1 PYTHON=$(PY) OUT=$(REPORTS)/2-gpu-check SSLCOURSE_ROOT=$(TEST_DATA)/cifar10 \
		NBVAL_ARGS="-n 1" bash benchmarks/gpu_check.sh

# The full profile's smoke run on the CPU (bf16): every lesson, exercise and solution.
test-full-smoke: $(STAMP)
	$(TEST_ENV) $(SMOKE_ENV) SSLCOURSE_PROFILE=full $(PY) -m pytest -q -n 1 notebooks solutions exercises $(NBVAL) \
		--junitxml=$(REPORTS)/3-full-smoke.xml

# Every lesson on a folder of 300 photos (SSLCOURSE_DATASET=folder, split 240/60), the quick profile.
test-folder: $(STAMP)
	$(TEST_ENV) SSLCOURSE_PROFILE=quick SSLCOURSE_DATASET=folder SSLCOURSE_ROOT=$(TEST_DATA)/photos \
		$(PY) -m pytest -q -n 1 notebooks $(NBVAL) --junitxml=$(REPORTS)/4-folder.xml

unit: $(STAMP)
	SSLCOURSE_CACHE=$(TEST_CACHE) SSLCOURSE_PROFILE=quick $(PY) -m pytest -q tests

notebooks: $(STAMP)
	$(TEST_ENV) SSLCOURSE_PROFILE=quick $(PY) -m pytest -q notebooks solutions exercises $(NBVAL)

# Learners work in their own copies (git-ignored, made on first use, never overwritten): the tracked
# lessons stay clean, so `make test` keeps passing after a learner has used the course.
WORKSPACE ?= my-course
lab: $(STAMP)
	$(PY) -m sslcourse workspace $(WORKSPACE)
	$(VENV)/bin/jupyter lab $(WORKSPACE)

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

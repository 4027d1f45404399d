#!/usr/bin/env bash
# Every lesson in the gpu profile on a CUDA machine without network (the device tool's GPU box): executes the
# lessons (per-lesson seconds and the protocol table, as `make run` does), then nbval over notebooks, solutions
# and exercises. Figures for BENCHMARKS.md ("The gpu profile").
#
# Prepare here (with network to the package registry), then carry `wheelhouse` and `data` to the GPU machine:
#   .venv/bin/pip download -d wheelhouse nbval nbclient nbconvert nbformat ipykernel jupytext pytest ipywidgets \
#       tqdm scikit-learn matplotlib --python-version 3.12 --only-binary=:all:
#   mkdir -p data && cp ../shared/data/cifar10-full-jpeg.tar.gz data/
# There:
#   bash benchmarks/gpu_lessons.sh [OUT_DIR]
set -u
out=${1:-build/gpu-lessons}
mkdir -p "$out" data
python3 -m pip install -q --no-index --find-links wheelhouse nbval nbclient nbconvert nbformat ipykernel jupytext \
    pytest ipywidgets tqdm scikit-learn matplotlib 2>&1 | tail -2
[ -d data/cifar10/train ] || { mkdir -p data/cifar10 && tar xzf data/cifar10-full-jpeg.tar.gz -C data/cifar10; }
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 SSLCOURSE_PROFILE=gpu \
       SSLCOURSE_DATASET=folder SSLCOURSE_ROOT=$PWD/data/cifar10 SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-/tmp/sslcourse-gpu}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -m sslcourse info | tee -a "$out/gpu.txt"
# 1. the lessons in order, as a learner runs them: per-lesson seconds and the results table
python3 -m sslcourse course --out "$out/course" 2>&1 | tee "$out/course.txt"
# 2. nbval, with the checkpoints of step 1 in the cache (the per-notebook durations are printed at the end)
python3 -m pytest -q notebooks solutions exercises --nbval-lax --nbval-current-env -p no:cacheprovider \
    --nbval-cell-timeout=900 2>&1 | tail -25 | tee "$out/nbval.txt"

#!/usr/bin/env bash
# The course's GPU check, one script for a bare CUDA machine with torch and no network (the device tool's H100/H200):
#   1. every method trains in the gpu profile through `sslcourse train all` (seconds and accuracy per method);
#   2. every lesson, exercise and solution runs under nbval in the gpu profile (seconds per notebook);
#   3. lesson 04 once more with fp16 forced: a Colab T4's path (gradient scaler).
# Results in $OUT (default build/gpu-check): env.txt, train-all.json, nbval.xml, fp16.xml, *.log, summary.txt.
# It goes on after a failed step and exits 1 at the end if any step failed. Budget: under 10 minutes on an H100.
#
# Prepare here, then carry .whl and data to the GPU machine (64 MiB at most with the checkout):
#   bash benchmarks/gpu_wheels.sh                                               # .whl/, about 13 MB
#   mkdir -p data && cp ../shared/data/cifar10-full-jpeg.tar.gz data/             # 19 MB
#   then there: bash benchmarks/gpu_check.sh
# Dry run on a CPU (`make test` runs it): GPU_CHECK_DRY=1 — the same steps in smoke mode (SSLCOURSE_SMOKE=1) on a
# small CIFAR-10 written by tests/datasets.py; step 3 is then step 2's own precision (the gpu profile's smoke run on a
# CPU is fp16 already).
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-build/gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 SSLCOURSE_PROFILE=gpu SSLCOURSE_CLAIMS=strict SSLCOURSE_NO_DOWNLOAD=1

if [ "$DRY" = 1 ]; then
  export SSLCOURSE_SMOKE=1 SSLCOURSE_DEVICE=cpu
  export SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-$PWD/build/test-cache} SSLCOURSE_ROOT=${SSLCOURSE_ROOT:-$PWD/build/test-data/cifar10}
  "$PY" tests/datasets.py cifar10 "$SSLCOURSE_ROOT"
else
  if [ -d .whl ]; then  # the packages the image lacks (benchmarks/gpu_wheels.sh)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-check-site .whl/*.whl
    export PYTHONPATH=/tmp/gpu-check-site:$PWD
  else
    export PYTHONPATH=$PWD
  fi
  export SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-/tmp/sslcourse-gpu-check} SSLCOURSE_ROOT=${SSLCOURSE_ROOT:-/tmp/sslcourse-cifar10}
  [ -f data/cifar10-full-jpeg.tar.gz ] || { echo "data/cifar10-full-jpeg.tar.gz is missing: copy ../shared/data/cifar10-full-jpeg.tar.gz there"; exit 2; }
  "$PY" tests/datasets.py cifar10 "$SSLCOURSE_ROOT" --archive data/cifar10-full-jpeg.tar.gz --train 50000 --test 10000
fi

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  "$PY" -m sslcourse info; } 2>&1 | tee "$OUT/env.txt"

failed=()
step() {  # step NAME COMMAND...: run it, log it, remember a failure and go on
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name: $*"
  if "$@" > "$OUT/$name.log" 2>&1; then status=ok; else status=FAILED; failed+=("$name"); fi
  echo "=== $name: $status in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"
  tail -n 15 "$OUT/$name.log"
}
NBVAL=(--nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider -q ${NBVAL_ARGS:-})

step train-all "$PY" -m sslcourse train all --quiet --out "$OUT/train-all.json"
step nbval "$PY" -m pytest notebooks exercises solutions "${NBVAL[@]}" --junitxml="$OUT/nbval.xml"
if [ "$DRY" = 1 ]; then
  echo "=== fp16: the smoke run of the gpu profile on a CPU was fp16 already" | tee -a "$OUT/steps.txt"
else
  step fp16 env SSLCOURSE_PRECISION=fp16 "$PY" -m pytest notebooks/04_simclr.ipynb "${NBVAL[@]}" --junitxml="$OUT/fp16.xml"
fi
"$PY" benchmarks/gpu_summary.py "$OUT" | tee "$OUT/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]} (logs in $OUT)"
  exit 1
fi
echo "all steps passed (results in $OUT)"

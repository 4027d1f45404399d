#!/usr/bin/env bash
# The course's GPU check, one script for a bare CUDA machine with torch and no network (the device tool's H100/H200):
#   1. every lesson, exercise and solution executed in the gpu profile on all of CIFAR-10, side by side
#      (benchmarks/run_notebooks.py: each executed copy kept with its outputs, saved after every cell, so a run stopped
#      at its deadline still brings back every number it reached; seconds and failed cells per notebook);
#   2. beside it, lesson 04 with fp16 forced, on its own cache so that it trains: a Colab T4's path (gradient scaler).
# Every claim's number is logged (claims.jsonl): the quick profile's claims are printed, not judged, in the gpu
# profile, and the log says which would hold here. Results in $OUT (default build/gpu-check): env.txt, steps.txt,
# summary.txt, claims.jsonl, notebooks/ (executed copies, logs); with PACK_TO=DIR, also DIR/summary.txt and all of
# $OUT as DIR/gpu-check.tar.gz.part-*, the archive in parts of 15 MB (the device tool brings back at most 8 files).
# It goes on after a failed step and exits 1 at the end if any step failed. DEADLINE (seconds, default 480) stops
# notebooks still running.
#
# Prepare here, then carry .whl and data to the GPU machine (64 MiB at most with the checkout):
#   bash benchmarks/gpu_wheels.sh                                               # .whl/, about 15 MB
#   mkdir -p data && cp ../shared/data/cifar10-full-jpeg.tar.gz data/             # 19 MB
#   then there: OUT=/tmp/gpu-check PACK_TO=$OUT_OF_THE_TOOL bash benchmarks/gpu_check.sh
# Dry run on a CPU (`make test` runs it): GPU_CHECK_DRY=1 — every method through `sslcourse train all`, then every
# notebook under nbval, in smoke mode (SSLCOURSE_SMOKE=1) on a small CIFAR-10 written by tests/datasets.py (the gpu
# profile's smoke run on a CPU is fp16 already).
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-build/gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 SSLCOURSE_PROFILE=gpu SSLCOURSE_CLAIMS=strict SSLCOURSE_NO_DOWNLOAD=1

source benchmarks/gpu_prepare.sh
gpu_prepare /tmp/sslcourse-gpu-check

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

if [ "$DRY" = 1 ]; then
  step train-all "$PY" -m sslcourse train all --quiet --out "$OUT/train-all.json"
  step nbval "$PY" -m pytest notebooks exercises solutions "${NBVAL[@]}" --junitxml="$OUT/nbval.xml"
  echo "=== fp16: the smoke run of the gpu profile on a CPU was fp16 already" | tee -a "$OUT/steps.txt"
  "$PY" benchmarks/gpu_summary.py "$OUT" | tee "$OUT/summary.txt"
else
  # lessons first (08 last of them: it loads what 01-07 train), then exercises and solutions; OMP threads shared out
  NOTEBOOKS=(notebooks/0[1-7]_*.ipynb notebooks/08_*.ipynb notebooks/00_*.ipynb exercises/*.ipynb solutions/*.ipynb)
  export OMP_NUM_THREADS=2 SSLCOURSE_STATIC=1 SSLCOURSE_CLAIMS_LOG=$OUT/claims.jsonl SSLCOURSE_RESULTS=$OUT/results
  if command -v nvidia-smi > /dev/null; then  # the GPU's load while the notebooks run, every 5 s
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$OUT/gpu-load.csv" 2>&1 &
    load_pid=$!
  fi
  t0=$SECONDS
  echo "=== fp16: lesson 04 with SSLCOURSE_PRECISION=fp16, its own cache (in the background)"
  env SSLCOURSE_PRECISION=fp16 SSLCOURSE_CACHE="$SSLCOURSE_CACHE-fp16" SSLCOURSE_CLAIMS_LOG="$OUT/claims-fp16.jsonl" \
      SSLCOURSE_RESULTS="$OUT/fp16-results" "$PY" benchmarks/run_notebooks.py "$OUT/fp16" notebooks/04_*.ipynb \
      --deadline "${DEADLINE:-480}" > "$OUT/fp16.log" 2>&1 &
  fp16_pid=$!
  step notebooks "$PY" benchmarks/run_notebooks.py "$OUT/notebooks" "${NOTEBOOKS[@]}" --jobs "${JOBS:-10}" \
      --deadline "${DEADLINE:-480}"
  if wait $fp16_pid; then status=ok; else status=FAILED; failed+=(fp16); fi
  echo "=== fp16: $status in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"
  [ -z "${load_pid:-}" ] || kill "$load_pid" 2> /dev/null || true
  { cat "$OUT/steps.txt"; echo; tail -n 40 "$OUT/notebooks.log"; echo; echo "fp16:"; tail -n 5 "$OUT/fp16.log"; } \
      > "$OUT/summary.txt"
  if [ -n "${PACK_TO:-}" ]; then
    # in parts of 15 MB: the device tool brings back files of 16 MB at most (cat the parts, then tar -xzf)
    tar -czf - -C "$OUT" . | split -b 15M - "$PACK_TO/gpu-check.tar.gz.part-" && cp "$OUT/summary.txt" "$PACK_TO/"
  fi
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]} (logs in $OUT)"
  exit 1
fi
echo "all steps passed (results in $OUT)"

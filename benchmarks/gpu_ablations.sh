#!/usr/bin/env bash
# Ablations of the gpu recipes on a bare CUDA machine (the device tool's H200), side by side: each job is one
# `benchmarks/ablations.py` process with its own variant(s), all on the one GPU at once, each stopped at DEADLINE
# seconds. Results in $OUT (default build/gpu-ablations): one log per job, env.txt and summary.txt (every job's
# table, in the order of JOBS); with PACK_TO=DIR, summary.txt and the logs also go to DIR.
#
# JOBS: one job per line, the arguments of `ablations.py` after the method (default: the jigsaw questions of
# BENCHMARKS.md — is the gpu recipe's jigsaw below random init because of its per-tile standardisation, its 16-pixel
# view of 9-pixel tiles, or its training length?). METHOD (default jigsaw).
#
# Prepare here, then carry .whl and data to the GPU machine (as for benchmarks/gpu_check.sh):
#   bash benchmarks/gpu_wheels.sh && mkdir -p data && cp ../shared/data/cifar10-full-jpeg.tar.gz data/
#   there: P=$OUT; OUT=/tmp/ga PACK_TO=$P DEADLINE=420 bash benchmarks/gpu_ablations.sh
# Dry run on a CPU (a smoke budget on a small CIFAR-10 written by tests/datasets.py): GPU_ABLATIONS_DRY=1.
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=${GPU_ABLATIONS_DRY:-0}
OUT=${OUT:-build/gpu-ablations}
PY=${PYTHON:-python3}
METHOD=${METHOD:-jigsaw}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1 SSLCOURSE_NO_DOWNLOAD=1
if [ -z "${JOBS:-}" ]; then
  R="recipe (colour jitter + gray per tile)"
  JOBS="--only '$R'
--only 'no per-tile standardisation'
--only 'tiles at 32 px' --epochs 3
--only 'tiles at 32 px, no per-tile standardisation' --epochs 3
--only '$R' --epochs 2"
fi

source benchmarks/gpu_prepare.sh
gpu_prepare /tmp/sslcourse-gpu-ablations
if [ "$DRY" = 1 ]; then export OMP_NUM_THREADS=1; else export OMP_NUM_THREADS=2; fi
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } 2>&1 | tee "$OUT/env.txt"
if command -v nvidia-smi > /dev/null; then  # the GPU's load, every 5 s
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$OUT/gpu-load.csv" 2>&1 &
  load_pid=$!
fi

t0=$SECONDS
pids=()
i=0
while IFS= read -r job; do
  [ -n "$job" ] || continue
  i=$((i + 1))
  eval "args=($job)"  # the job's quoting, as written in JOBS
  ( echo "job $i: ablations.py $METHOD --profile gpu $job"
    timeout "${DEADLINE:-420}" "$PY" benchmarks/ablations.py "$METHOD" --profile gpu "${args[@]}"
    echo "job $i: exit $? after $((SECONDS - t0)) s" ) > "$OUT/job-$i.log" 2>&1 &
  pids+=($!)
done <<< "$JOBS"
for p in "${pids[@]}"; do wait "$p" || true; done
[ -z "${load_pid:-}" ] || kill "$load_pid" 2> /dev/null || true

failed=0
for f in "$OUT"/job-*.log; do
  # a job's table as it printed it (header, random init, its variants), then how it ended
  grep -E "^job .*ablations|^(variant|random init|$METHOD on)|%" "$f" | grep -vE "it/s|step/s|^job .*exit" || true
  grep -E "^job .*exit" "$f" || true
  grep -q "exit 0 after" "$f" || { failed=1; tail -n 5 "$f"; }
  echo
done > "$OUT/summary.txt"
[ -f "$OUT/gpu-load.csv" ] && awk -F', ' 'NR > 1 {s += $2; n++} END {if (n) printf "GPU busy %.0f %% of %d samples\n", s / n, n}' \
  "$OUT/gpu-load.csv" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
if [ -n "${PACK_TO:-}" ]; then
  tar -czf "$PACK_TO/gpu-ablations.tar.gz" -C "$OUT" . && cp "$OUT/summary.txt" "$PACK_TO/"
fi
exit $failed

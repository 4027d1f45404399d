# Sourced by benchmarks/gpu_check.sh and benchmarks/gpu_ablations.sh (run from the repository root, PY and DRY set).
# gpu_prepare CACHE: the environment and the data of a GPU run, with CACHE the default SSLCOURSE_CACHE there.
#   DRY=1: a smoke run on this CPU, on the small CIFAR-10 that tests/datasets.py writes (make test's cache);
#   else: the packages the GPU image lacks (.whl, from benchmarks/gpu_wheels.sh) and all of CIFAR-10 from
#   data/cifar10-full-jpeg.tar.gz.
gpu_prepare() {
  if [ "$DRY" = 1 ]; then
    export SSLCOURSE_SMOKE=1 SSLCOURSE_DEVICE=cpu
    export SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-$PWD/build/test-cache} SSLCOURSE_ROOT=${SSLCOURSE_ROOT:-$PWD/build/test-data/cifar10}
    "$PY" tests/datasets.py cifar10 "$SSLCOURSE_ROOT"
    return
  fi
  if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-check-site .whl/*.whl
    export PYTHONPATH=/tmp/gpu-check-site:$PWD
  else
    export PYTHONPATH=$PWD
  fi
  export SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-$1} SSLCOURSE_ROOT=${SSLCOURSE_ROOT:-/tmp/sslcourse-cifar10}
  [ -f data/cifar10-full-jpeg.tar.gz ] || { echo "data/cifar10-full-jpeg.tar.gz is missing: copy ../shared/data/cifar10-full-jpeg.tar.gz there"; exit 2; }
  "$PY" tests/datasets.py cifar10 "$SSLCOURSE_ROOT" --archive data/cifar10-full-jpeg.tar.gz --train 50000 --test 10000
}

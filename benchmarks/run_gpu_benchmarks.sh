#!/usr/bin/env bash
# The GPU figures of BENCHMARKS.md, in one go, on a machine with a CUDA GPU and no network.
# CIFAR-10 comes from the JPEG archive (an ImageFolder): put cifar10-full-jpeg.tar.gz in data/.
#   bash benchmarks/run_gpu_benchmarks.sh [OUT_DIR]            (add SIMCLR_EPOCHS=500 for the long SimCLR run)
set -euo pipefail  # a failed step stops the script and says so (tee no longer hides the exit status)
out=${1:-build/gpu}
mkdir -p "$out" data
[ -d data/cifar10/train ] || { mkdir -p data/cifar10 && tar xzf data/cifar10-full-jpeg.tar.gz -C data/cifar10; }
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 SSLCOURSE_CACHE=${SSLCOURSE_CACHE:-/tmp/sslcourse-cache}
root=data/cifar10
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)" | tee -a "$out/gpu.txt"
python3 benchmarks/gpu_throughput.py --dataset folder --root $root 2>&1 | tee "$out/throughput.txt"
python3 benchmarks/augment.py --device cuda --workers "$(nproc)" 2>&1 | tee "$out/augment.txt"
python3 benchmarks/models.py --device cuda --backbone resnet18 --batch-size 512 2>&1 | tee "$out/models.txt"
python3 benchmarks/train_loop.py --profile full --dataset folder --root $root --device cuda --images 20480 2>&1 | tail -5 | tee "$out/train_loop.txt"
for m in supervised inpainting rotation jigsaw simclr gan moco byol; do   # every method, the full profile unchanged
  python3 -m sslcourse train $m --profile full --dataset folder --root $root --epochs 2 --quiet \
    --out "$out/train-$m.json" 2>&1 | tail -4 | tee -a "$out/full-profile.txt"
done
# The long SimCLR run of BENCHMARKS.md (about 2 s per epoch on an H100): SIMCLR_EPOCHS=500 bash benchmarks/...
if [ -n "${SIMCLR_EPOCHS:-}" ]; then
  python3 -m sslcourse train simclr --profile full --dataset folder --root $root --epochs "$SIMCLR_EPOCHS" \
    --out "$out/simclr-e$SIMCLR_EPOCHS.json" 2>&1 | tail -4 | tee "$out/simclr.txt"
fi

#!/usr/bin/env bash
# The Python packages benchmarks/gpu_check.sh needs on the GPU machine that its image lacks (nbval and the Jupyter
# kernel it drives), as wheels for its Python 3.12, into .whl/ (git-ignored). Run here, where PyPI is reachable.
# About 13 MB: the 64 MiB that may travel to the GPU machine also hold the checkout and the 19 MB CIFAR-10 archive.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir .whl
python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl nbval ipykernel nbclient nbformat
# Already on the GPU image (its package list, /work/.library/device/KINDS.md): two versions of one package would
# stop the install there, so these stay behind.
for present in attrs coverage iniconfig packaging pluggy psutil pygments pytest python_dateutil typing_extensions; do
  rm -f .whl/"$present"-[0-9]*.whl
done
du -sh .whl

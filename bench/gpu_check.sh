#!/usr/bin/env bash
# One unattended GPU check (issue 14): speed vs the reference loop, runs sharing a GPU, bf16/tf32 vs
# fp32 accuracy parity on Fashion-MNIST lifted to 3x32x32, projected GPU-hours of Table 1. Prints ONE
# table (bench/gpu_check.py); JSON rows and calibration.json go to $OUT (or the current folder).
#
#   bench/gpu_check.sh                      # on a GPU machine; ~7 min on one H100/H200
#   bench/gpu_check.sh --cpu-smoke          # every code path on the CPU in seconds (figures mean nothing)
#
# Environment:
#   GPU_CHECK_DATA   folder with Fashion-MNIST's IDX files (train-images-idx3-ubyte.gz, ...), e.g. a
#                    folder carried to the device machine; default: wherever tickets finds the data
#   GPU_CHECK_WHEELS folder of .whl files to install first (packages the machine lacks); default .whl
#                    when it exists
#   GPU_CHECK_BUDGET seconds for the whole check (default 420: leaves room under an 8-minute limit)
#   GPU_CHECK_LOADER 0 skips bench/imagenet_loader.py (issue 18; ~1-2 min more on a GPU)
# Any other arguments go to bench/gpu_check.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${GPU_CHECK_WHEELS:-.whl}
if [ -d "$WHEELS" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu_check_site "$WHEELS"/*.whl
  export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
BUDGET=${GPU_CHECK_BUDGET:-420}
ARGS=(--budget "$BUDGET")
if [ -n "${GPU_CHECK_DATA:-}" ]; then ARGS+=(--data "$GPU_CHECK_DATA"); fi
for a in "$@"; do
  if [ "$a" = "--cpu-smoke" ]; then ARGS=(--budget 120); export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}; fi
done
"$PY" bench/gpu_check.py "${ARGS[@]}" "$@"
# Issue 18: the streaming loaders vs the synthetic-data bound (ResNet-50, 224 px, per worker count). A
# second table on a GPU; in --cpu-smoke it only exercises the paths, its table goes to a file so the
# check's stdout stays one table. Set GPU_CHECK_LOADER=0 to skip it.
LOADER_OUT=.
prev=""
for a in "$@"; do
  if [ "$prev" = "--out" ]; then LOADER_OUT=$a; fi
  prev=$a
done
LOADER_OUT=${OUT:-$LOADER_OUT}
if [ "${GPU_CHECK_LOADER:-1}" != "0" ]; then
  SMOKE=0
  for a in "$@"; do if [ "$a" = "--cpu-smoke" ]; then SMOKE=1; fi; done
  if [ "$SMOKE" = "1" ]; then
    "$PY" bench/imagenet_loader.py --smoke --device cpu --json "$LOADER_OUT/imagenet_loader.json" > "$LOADER_OUT/imagenet_loader.txt"
  else
    "$PY" bench/imagenet_loader.py --device cuda --model resnet50 --workers "${GPU_CHECK_LOADER_WORKERS:-4,8,15}" \
      --json "$LOADER_OUT/imagenet_loader.json"
  fi
fi

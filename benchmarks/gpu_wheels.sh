#!/usr/bin/env bash
# The wheels benchmarks/gpu_check.py needs on a lent GPU machine that its image lacks.
# That machine has Python 3.12 with PyTorch, NumPy, Pillow, pluggy, typer, rich, timm,
# matplotlib, safetensors, onnx, onnxruntime and pytest, but no network: run this here, once,
# then carry .whl/ (ignored by git, about 250 KB) in the device call (docs/training.md, "On a GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir .whl
# all four are pure-Python wheels (py3-none-any): the platform tags only satisfy pip
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "torch-fidelity>=0.3" "tomli-w>=1.0" "starlette>=0.37" "uvicorn>=0.29"
ls .whl

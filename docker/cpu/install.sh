#!/bin/sh
# The cpu image's install steps, in order; the image's builder stage runs exactly this, and
# tests/docker/test_cpu_install_steps.py runs it in a fresh virtual environment, so a broken step
# fails CI without Docker. Usage, in the root of a modelrt clone: install.sh VENV onnx|cpu
# ($PYTHON, python3 by default, creates the virtual environment)
#   onnx: modelrt-core and the ONNX Runtime plugin with onnxruntime (modelrt[onnx])
#   cpu:  the same plus the torch plugin with torch's CPU build (modelrt[cpu])
set -eu
if [ "$#" -ne 2 ]; then
    echo "usage: $0 VENV onnx|cpu" >&2
    exit 2
fi
venv=$1
target=$2
case "$target" in
    onnx | cpu) ;;
    *)
        echo "unknown target '$target': expected onnx or cpu" >&2
        exit 2
        ;;
esac
"${PYTHON:-python3}" -m venv "$venv"
pip="$venv/bin/python -m pip"
if [ "$target" = cpu ]; then
    # torch's CPU build first, from PyTorch's CPU index: every build is named `torch`, and PyPI's
    # Linux wheel is the CUDA build (3 GB). Once installed, the torch plugin's requirement keeps it.
    $pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.6"
    $pip install ./core "./plugins/onnx_backend[cpu]" "./plugins/torch_backend[torch]"
else
    $pip install ./core "./plugins/onnx_backend[cpu]"
fi
"$venv/bin/modelrt" env --json >/dev/null

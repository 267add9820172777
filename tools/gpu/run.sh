#!/usr/bin/env bash
# Run on the GPU machine, from the repository root, with .gpu carried (tools/gpu/prepare.sh made it):
# every check that needs an NVIDIA GPU and can run there. The whole output goes to $OUT/gpu-checks.log
# (one file: the device tool brings back at most eight); each step's last lines are printed as it ends.
set -uo pipefail
PYTHON=${PYTHON:-python3}
out=${OUT:-/tmp/gpu-out}
site=${SITE:-/tmp/site}
wheels=${GPU_DIR:-.gpu}/wheels
log=$out/gpu-checks.log
mkdir -p "$out"
: >"$log"
"$PYTHON" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir \
  --upgrade --target "$site" "$wheels"/*.whl || exit 1
export PYTHONPATH=$site PYTHONUNBUFFERED=1 MODELRT_CACHE=${MODELRT_CACHE:-/tmp/gpu-checks-cache}
status=0
step() {  # step NAME COMMAND...: run it, append its output to the log, remember a failure
  local name=$1 part
  shift
  part=$(mktemp)
  echo "== $name: $*" | tee -a "$log"
  "$@" >"$part" 2>&1
  local rc=$?
  cat "$part" >>"$log"
  tail -n 30 "$part"
  rm -f "$part"
  echo "== $name: exit $rc" | tee -a "$log"
  [ "$rc" -eq 0 ] || status=1
}
step host sh -c "nvidia-smi; $PYTHON -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))'"
step where "$PYTHON" -c "import modelrt, modelrt_torch; print(modelrt.__file__, modelrt_torch.__file__)"
step env "$PYTHON" -m modelrt env
for suite in torch_backend onnx_backend trt_backend; do  # one run each: a folder that cannot be collected stops only itself
  step "gpu-$suite" "$PYTHON" -m pytest -m gpu "tests/$suite" -p no:cacheprovider -q -rs
done
step torch-precision "$PYTHON" -m benchmarks.torch_precision_gpu --runs 50
step onnx-cuda "$PYTHON" -m benchmarks.onnx_cuda_iobinding
step tensorrt "$PYTHON" -m benchmarks.tensorrt_gpu
exit $status

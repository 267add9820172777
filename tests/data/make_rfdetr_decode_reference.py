"""Recompute ``rfdetr_decode_reference.json``: what RF-DETR's own export decoder makes of known raw outputs.

The raw outputs (``dets`` [Q, 4] normalised cxcywh and ``labels`` [Q, C + 1] logits, the last slot the
background) come from ``raw_outputs``, a deterministic formula (no random generator, whose streams may
change between numpy versions); ``rfdetr.export._runtime.decode.decode_detections`` (rfdetr 1.11.2, the
function its ONNX, TFLite and OpenVINO helpers share, mirroring ``PostProcess``) decodes them, independently
of modelrt. Run it with the wheel unpacked (it needs only numpy from the wheel's dependencies):

    unzip -q rfdetr-1.11.2-py3-none-any.whl -d /tmp/rf/src
    python tests/data/make_rfdetr_decode_reference.py /tmp/rf/src
"""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

OUTPUT = Path(__file__).resolve().parent / "rfdetr_decode_reference.json"
QUERIES, CLASSES = 100, 10
#: (height, width) of the original image, confidence threshold, num_select of each case.
CASES = [((480, 640), 0.5, 100), ((333, 517), 0.3, 100), ((720, 1280), 0.5, 20)]


def _fraction(*index: np.ndarray, case: int) -> np.ndarray:
    """A deterministic pseudo-random number in [0, 1) per index (the classic shader hash)."""
    angle = sum((i * factor for i, factor in zip(index, (12.9898, 78.233, 45.164), strict=False)), 37.719 * case)
    value = np.sin(angle) * 43758.5453
    return value - np.floor(value)


def raw_outputs(case: int) -> tuple[np.ndarray, np.ndarray]:
    """``dets`` [Q, 4] and ``labels`` [Q, C + 1] for a case: about 1 pair in 20 scores above 0.5."""
    queries, slots = np.arange(QUERIES)[:, None], np.arange(CLASSES + 1)[None, :]
    logits = (_fraction(queries, slots, case=case) * 20 - 19).astype(np.float32)
    parts = np.arange(4)[None, :]
    unit = _fraction(queries, parts, parts * 0 + 1, case=case)
    boxes = np.where(parts < 2, 0.2 + 0.6 * unit, 0.05 + 0.45 * unit).astype(np.float32)
    return boxes, logits


def main(unpacked_wheel: str) -> None:
    decode = _rfdetr_decoder(Path(unpacked_wheel))
    cases: list[dict[str, Any]] = []
    for case, ((height, width), threshold, num_select) in enumerate(CASES):
        boxes, logits = raw_outputs(case)
        decoded = decode(boxes, logits, (width, height), threshold=threshold, num_select=num_select)
        cases.append(
            {
                "image_size": [height, width],
                "threshold": threshold,
                "num_select": num_select,
                "xyxy": decoded.xyxy.tolist(),
                "confidence": decoded.confidence.tolist(),
                "class_id": decoded.class_id.tolist(),
            }
        )
    OUTPUT.write_text(json.dumps({"rfdetr": "1.11.2", "cases": cases}, indent=1) + "\n")


def _rfdetr_decoder(root: Path) -> Any:
    """``decode_detections`` without running ``rfdetr/__init__`` (which imports the training stack)."""
    sys.path.insert(0, str(root))
    for name in ("rfdetr", "rfdetr.utilities", "rfdetr.export", "rfdetr.export._runtime"):
        module = types.ModuleType(name)
        module.__path__ = [str(root / name.replace(".", "/"))]
        sys.modules[name] = module
    logger = types.ModuleType("rfdetr.utilities.logger")
    logger.get_logger = lambda: logging.getLogger("rfdetr")  # type: ignore[attr-defined]
    sys.modules["rfdetr.utilities.logger"] = logger
    from rfdetr.export._runtime.decode import decode_detections  # type: ignore[import-not-found]

    return decode_detections


if __name__ == "__main__":
    main(sys.argv[1])

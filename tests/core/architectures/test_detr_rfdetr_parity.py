"""modelrt's rf-detr decoding agrees with RF-DETR's own: the raw outputs of
``tests/data/make_rfdetr_decode_reference.py``, decoded by ``rfdetr`` 1.11.2's export decoder there and by
modelrt here, give the same detections in the same order, classes and scores, and boxes within 0.001 pixel."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from modelrt.architectures.detr import RFDETR

from .detr_graphs import query_model

DATA = Path(__file__).resolve().parents[2] / "data"
REFERENCE = json.loads((DATA / "rfdetr_decode_reference.json").read_text())


def _reference_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_rfdetr_decode_reference", DATA / "make_rfdetr_decode_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _reference_script()


@pytest.mark.parametrize("case", range(len(REFERENCE["cases"])))
def test_rf_detr_decodes_as_rfdetrs_own_export_decoder(case: int, make_session: Any, make_package: Any) -> None:
    expected = REFERENCE["cases"][case]
    boxes, logits = SCRIPT.raw_outputs(case)
    labels = [f"class{index}" for index in range(SCRIPT.CLASSES)]
    package = make_package("rf-detr", "object-detection", labels, {"size": [64, 64], "resize": "stretch"})
    model = RFDETR(package, {"main": make_session(query_model({"dets": boxes, "labels": logits}))})
    height, width = expected["image_size"]

    (detections,) = model.predict(
        [np.zeros((height, width, 3), np.uint8)],
        confidence=expected["threshold"],
        max_detections=expected["num_select"],
    )

    assert len(detections) == len(expected["class_id"]) > 0
    assert detections.class_id.tolist() == expected["class_id"]
    np.testing.assert_allclose(detections.confidence, expected["confidence"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(detections.xyxy, expected["xyxy"], rtol=0, atol=1e-3)

"""The benchmark harness itself (never timings): calibration, statistics and the equality gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import floor, harness, synthetic_yolo


def test_summary_reports_median_and_p90_in_milliseconds() -> None:
    summary = harness.summarise([0.001 * i for i in range(1, 11)])
    assert summary["median_ms"] == pytest.approx(5.5)
    assert summary["p90_ms"] == pytest.approx(9.1)


def test_interleave_runs_every_variant_the_same_number_of_times() -> None:
    calls: list[str] = []
    variants = {name: (lambda name=name: calls.append(name) or {"run": 0.0}) for name in "abc"}
    results = harness.interleave(variants, runs=5, warmup=1)
    assert {name: len(rows) for name, rows in results.items()} == {"a": 5, "b": 5, "c": 5}
    assert calls.count("a") == 6
    assert all("total" in row for rows in results.values() for row in rows)


def test_equality_gate_refuses_variants_that_disagree() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 5, 20, 20]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    classes = np.array([1, 2], np.int64)
    harness.assert_same_detections((boxes, scores, classes), (boxes[::-1], scores[::-1], classes[::-1]), "same")
    with pytest.raises(AssertionError):
        harness.assert_same_detections((boxes, scores, classes), (boxes[:1], scores[:1], classes[:1]), "fewer")
    with pytest.raises(AssertionError):
        harness.assert_same_detections((boxes, scores, classes), (boxes + 1, scores, classes), "moved")


def test_calibrated_model_lets_exactly_the_requested_anchors_pass(tmp_path: Path) -> None:
    import onnxruntime as ort

    image = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    tensor, *_ = floor.letterbox(image)
    path = synthetic_yolo.build(tmp_path / "m.onnx", tensor, passing=40)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    output = session.run(None, {"images": tensor})[0]
    assert output.shape == (1, 84, 8400)
    assert int((output[0, 4:].max(axis=0) >= 0.25).sum()) == 40

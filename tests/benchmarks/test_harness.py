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

    def variant(name: str) -> harness.Variant:
        def run() -> dict[str, float]:
            calls.append(name)
            return {"run": 0.0}

        return run

    variants = {name: variant(name) for name in "abc"}
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


def test_a_variant_that_times_itself_keeps_its_own_total() -> None:
    results = harness.interleave({"remote": lambda: {"run": 0.5, "total": 0.75}}, runs=2, warmup=0)
    assert [row["total"] for row in results["remote"]] == [0.75, 0.75]


def test_rows_are_summarised_per_image_for_the_stages_every_row_has() -> None:
    rows = [{"total": 0.008, "run": 0.004, "pre": 0.002}, {"total": 0.008, "run": 0.004}]
    summary = harness.summarise_rows(rows, per=2)
    assert set(summary) == {"total", "run"}
    assert summary["total"]["median_ms"] == pytest.approx(4.0)


def test_boxes_rounded_to_whole_pixels_pass_the_gate_with_a_pixel_tolerance() -> None:
    boxes = np.array([[10.4, 20.6, 30.2, 40.5]], np.float32)
    scores, classes = np.array([0.9], np.float32), np.array([3], np.int64)
    harness.assert_same_detections((boxes, scores, classes), (boxes.round(), scores, classes), "rounded", box_atol=0.51)
    with pytest.raises(AssertionError):
        harness.assert_same_detections((boxes, scores, classes), (boxes.round(), scores, classes), "strict")


def test_paired_ratio_compares_variants_round_by_round() -> None:
    """A slow round (another process busy) slows both variants; their ratio in that round stays."""
    ours = [{"total": 1.1}, {"total": 5.5}, {"total": 1.1}]
    raw = [{"total": 1.0}, {"total": 5.0}, {"total": 1.0}]
    assert harness.paired_ratio(ours, raw) == pytest.approx(1.1)

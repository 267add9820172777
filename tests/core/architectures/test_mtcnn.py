"""MTCNN's cascade around sessions of any backend: pyramid, crops, decoding and results, with numpy stand-ins.

The stand-in networks score a window by its brightness, so a white square on black is "a face" at
every scale: where the detector puts its box says whether pyramid scales, crops and regressions map
back to the original image correctly. The real networks run in tests/torch_backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from modelrt.architectures.mtcnn import MTCNN, _MipLevels, _Normaliser, pyramid_sizes
from modelrt.backend import TensorInfo
from modelrt.devices import Device
from modelrt.errors import InputError, PackageError
from modelrt.manifest import InputSpec, manifest_from_dict
from modelrt.packages import ModelPackage

SQUARE = (70, 50, 130, 110)  # x1, y1, x2, y2 of the white square in the test image
# The stand-ins' best score: a window that is all white scores this, never 1.
TOP_SCORE = 0.98
LANDMARK_FRACTIONS = np.array([0.3, 0.7, 0.5, 0.35, 0.65, 0.35, 0.35, 0.55, 0.75, 0.75], np.float32)


class StandIn:
    """A ``Session`` whose outputs are ``compute(input)``, named and ordered like MTCNN's networks."""

    def __init__(self, outputs: tuple[str, ...], compute: Callable[[np.ndarray], list[np.ndarray]]) -> None:
        self.inputs = [TensorInfo("image", ("batch", 3, "height", "width"), "float32")]
        self.outputs = [TensorInfo(name, (), "float32") for name in outputs]
        self.device = Device.parse("cpu")
        self.provider = "numpy"
        self.shapes: list[tuple[int, ...]] = []
        self._compute = compute

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        image = inputs["image"]
        self.shapes.append(image.shape)
        return dict(zip((info.name for info in self.outputs), self._compute(image), strict=True))

    def close(self) -> None:
        """Nothing to release."""


def _brightness(tensor: np.ndarray) -> np.ndarray:
    """Per-pixel brightness in [0, 1] of a tensor normalised as (pixel - 127.5) / 128."""
    return np.clip((tensor.mean(axis=1) * 128 + 127.5) / 255, 0, 1)


def _proposal_network(tensor: np.ndarray) -> list[np.ndarray]:
    """12x12 windows at stride 2 scored by their mean brightness; no regression."""
    bright = _brightness(tensor)[0]
    rows, columns = (bright.shape[0] - 12) // 2 + 1, (bright.shape[1] - 12) // 2 + 1
    integral = cv2.integral(bright.astype(np.float64))
    top, left = np.arange(rows)[:, None] * 2, np.arange(columns)[None, :] * 2
    window = integral[top + 12, left + 12] - integral[top, left + 12] - integral[top + 12, left] + integral[top, left]
    face = TOP_SCORE * window / 144
    return [np.zeros((1, 4, rows, columns), np.float32), np.stack([1 - face, face])[None].astype(np.float32)]


def _crop_network(with_landmarks: bool) -> Callable[[np.ndarray], list[np.ndarray]]:
    def compute(tensor: np.ndarray) -> list[np.ndarray]:
        face = TOP_SCORE * _brightness(tensor).mean(axis=(1, 2))
        probability = np.stack([1 - face, face], axis=1).astype(np.float32)
        regression = np.zeros((len(face), 4), np.float32)
        if not with_landmarks:
            return [regression, probability]
        return [regression, np.tile(LANDMARK_FRACTIONS, (len(face), 1)), probability]

    return compute


def _package(postprocess: dict[str, Any] | None = None) -> ModelPackage:
    data = {
        "format_version": 1,
        "name": "test-mtcnn",
        "task": "object-detection",
        "architecture": "mtcnn",
        "labels": ["face"],
        "input": {"size": [120, 160], "dynamic_size": True, "scale": 1.0, "mean": [127.5] * 3, "std": [128.0] * 3},
        "postprocess": postprocess or {},
        "artifacts": [{"role": role, "format": "onnx", "path": f"{role}.onnx"} for role in ("pnet", "rnet", "onet")],
    }
    return ModelPackage(root=Path("/nonexistent"), manifest=manifest_from_dict(data))


def _sessions() -> dict[str, StandIn]:
    return {
        "pnet": StandIn(("regression", "probability"), _proposal_network),
        "rnet": StandIn(("regression", "probability"), _crop_network(with_landmarks=False)),
        "onet": StandIn(("regression", "landmarks", "probability"), _crop_network(with_landmarks=True)),
    }


def _square_image() -> np.ndarray:
    image = np.zeros((200, 240, 3), np.uint8)
    x1, y1, x2, y2 = SQUARE
    image[y1:y2, x1:x2] = 255
    return image


@pytest.fixture
def detector() -> MTCNN:
    return MTCNN(_package(), _sessions())


# ------------------------------------------------------------------------------------------ pyramid


def test_pyramid_starts_where_the_smallest_face_fills_the_window_and_shrinks_by_0_709() -> None:
    sizes = pyramid_sizes(512, 512, min_face_size=20)
    assert sizes[0] == (308, 308)  # int(512 * 12 / 20 + 1) = 308, already even
    assert len(sizes) == 10  # 307.2 * 0.709**k stays >= 12 for k = 0..9
    assert all(later < earlier for (later, _), (earlier, _) in zip(sizes[1:], sizes, strict=False))


def test_pyramid_levels_have_even_sides_of_at_least_14() -> None:
    for height, width in pyramid_sizes(333, 517, min_face_size=13):
        assert height % 2 == width % 2 == 0
        assert min(height, width) >= 14


def test_an_image_smaller_than_the_smallest_face_has_no_pyramid() -> None:
    assert pyramid_sizes(15, 40, min_face_size=20) == []


def test_the_proposal_network_runs_once_per_pyramid_level(detector: MTCNN) -> None:
    detector.predict([_square_image()])
    expected = [(1, 3, height, width) for height, width in pyramid_sizes(200, 240, 20)]
    assert detector.sessions["pnet"].shapes == expected


# ------------------------------------------------------------------------------------------ crops


def test_a_crop_of_the_whole_image_is_the_image_resized() -> None:
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8), (48, 48), interpolation=cv2.INTER_NEAREST)
    crop = _MipLevels(image).crops(np.array([[0.0, 0.0, 48.0, 48.0]]), 24)[0]
    expected = cv2.resize(image, (24, 24), interpolation=cv2.INTER_AREA)
    assert np.abs(crop.astype(int) - expected.astype(int)).mean() < 8


def test_the_part_of_a_box_outside_the_image_reads_as_black() -> None:
    image = np.full((100, 100, 3), 200, np.uint8)
    crop = _MipLevels(image).crops(np.array([[-50.0, 0.0, 50.0, 100.0]]), 24)[0]
    assert (crop[:, :11] == 0).all()
    assert (crop[:, 13:] == 200).all()


def test_crops_taken_together_equal_crops_taken_one_by_one() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    corners = rng.uniform(-20, 250, (40, 2))
    sides = rng.uniform(8, 200, (40, 1))
    boxes = np.concatenate([corners, corners + sides], axis=1)
    mips = _MipLevels(image)
    together = mips.crops(boxes, 24)
    one_by_one = np.concatenate([mips.crops(box[None], 24) for box in boxes])
    np.testing.assert_array_equal(together, one_by_one)


def test_more_crops_than_one_remap_call_holds_are_all_filled() -> None:
    image = np.full((64, 64, 3), 90, np.uint8)
    boxes = np.tile([[8.0, 8.0, 56.0, 56.0]], (700, 1))  # 700 x 48 rows exceed OpenCV's 32767
    crops = _MipLevels(image).crops(boxes, 48)
    assert crops.shape == (700, 48, 48, 3)
    assert (crops == 90).all()


def test_pixels_are_normalised_as_the_manifest_says_into_nchw() -> None:
    normalise = _Normaliser(InputSpec(size=(12, 12), scale=1.0, mean=(127.5,) * 3, std=(128.0,) * 3))
    images = np.zeros((2, 4, 5, 3), np.uint8)
    images[..., 0] = 255
    tensor = normalise(images)
    assert tensor.shape == (2, 3, 4, 5) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[:, 0], (255 - 127.5) / 128)
    np.testing.assert_allclose(tensor[:, 1:], -127.5 / 128)


# ------------------------------------------------------------------------------------------ results


def test_the_face_is_found_where_it_is_in_the_original_image(detector: MTCNN) -> None:
    (faces,) = detector.predict([_square_image()])
    assert len(faces) >= 1
    x1, y1, x2, y2 = SQUARE
    centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
    assert ((centres >= (x1, y1)) & (centres <= (x2, y2))).all()
    # Windows wholly inside the square score best; boxes reaching past its edges score less.
    for box in faces.xyxy[faces.confidence >= TOP_SCORE - 1e-6]:
        assert x1 <= box[0] < box[2] <= x2 and y1 <= box[1] < box[3] <= y2
    assert faces.class_names.tolist() == ["face"] * len(faces)


def test_five_landmarks_per_face_lie_in_their_box_with_the_face_confidence(detector: MTCNN) -> None:
    (faces,) = detector.predict([_square_image()])
    assert faces.keypoints is not None and faces.keypoints.shape == (len(faces), 5, 3)
    for box, points, confidence in zip(faces.xyxy, faces.keypoints, faces.confidence, strict=True):
        assert (points[:, 0] >= box[0] - 1).all() and (points[:, 0] <= box[2] + 1).all()
        assert (points[:, 1] >= box[1] - 1).all() and (points[:, 1] <= box[3] + 1).all()
        np.testing.assert_allclose(points[:, 2], confidence)


def test_an_image_without_faces_gives_empty_results_with_keypoint_arrays(detector: MTCNN) -> None:
    (faces,) = detector.predict([np.zeros((120, 160, 3), np.uint8)])
    assert len(faces) == 0
    assert faces.keypoints is not None and faces.keypoints.shape == (0, 5, 3)
    assert detector.sessions["rnet"].shapes == []


def test_one_result_per_image_in_order(detector: MTCNN) -> None:
    results = detector.predict([_square_image(), np.zeros((90, 90, 3), np.uint8), _square_image()])
    assert [len(result) >= 1 for result in results] == [True, False, True]


def test_a_confidence_above_every_score_keeps_no_face(detector: MTCNN) -> None:
    (faces,) = detector.predict([_square_image()], confidence=0.99)
    assert len(faces) == 0


def test_max_detections_caps_the_faces_returned(detector: MTCNN) -> None:
    image = np.zeros((200, 400, 3), np.uint8)
    image[50:110, 30:90] = image[50:110, 250:310] = 255
    (faces,) = detector.predict([image], max_detections=1)
    assert len(faces) == 1


def test_a_larger_min_face_size_means_fewer_pyramid_levels(detector: MTCNN) -> None:
    detector.predict([_square_image()], min_face_size=40)
    assert len(detector.sessions["pnet"].shapes) == len(pyramid_sizes(200, 240, 40))


# ------------------------------------------------------------------------------------------ contract


@pytest.mark.parametrize(("name", "value"), [("min_face_size", 8), ("confidence", 1.5), ("classes", ["face"])])
def test_invalid_overrides_are_input_errors(detector: MTCNN, name: str, value: object) -> None:
    with pytest.raises(InputError, match=name):
        detector.predict([_square_image()], **{name: value})


def test_a_network_with_too_few_outputs_is_a_package_error() -> None:
    sessions = _sessions()
    sessions["onet"] = StandIn(("regression", "probability"), _crop_network(with_landmarks=False))
    with pytest.raises(PackageError, match="onet"):
        MTCNN(_package(), sessions)

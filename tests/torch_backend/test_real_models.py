"""The torch demo's real models on real photos, through the public API, on torch and on ONNX Runtime.

Each package carries an exported program and an ONNX export of every network, so one package is run
through both backends and every test says which backend ran (``model.plan.chosen()``). Reference
values: the astronaut's face box is where facenet-pytorch's MTCNN puts it; the cat's probability is
what torchvision's own evaluation transform for these weights gives (resize 256, centre crop 224:
0.717 with PIL's antialiased resize; OpenCV's bilinear resize here gives 0.705).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.results import Classification, Detections, Embedding

from .conftest import IMAGES

ASTRONAUT_FACE = np.array([181, 62, 268, 172], dtype=np.float32)
EGYPTIAN_CAT_PROBABILITY = 0.717
BACKENDS = ("torch", "onnxruntime")
FORMAT_OF = {"torch": "exported-program", "onnxruntime": "onnx"}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union)


def _load(package: Path, backend: str) -> modelrt.Model:
    model = modelrt.load(package, backend=backend, device="cpu", warmup=0)
    for role, chosen in model.plan.chosen().items():
        assert (chosen.backend, chosen.format) == (backend, FORMAT_OF[backend]), role
    return model


@pytest.fixture(scope="module", params=BACKENDS)
def faces(request: pytest.FixtureRequest, demo_packages: Path) -> Iterator[modelrt.Model]:
    with _load(demo_packages / "mtcnn-faces", request.param) as model:
        yield model


@pytest.fixture(scope="module", params=BACKENDS)
def classifier(request: pytest.FixtureRequest, demo_packages: Path) -> Iterator[modelrt.Model]:
    with _load(demo_packages / "mobilenet-v2-imagenet", request.param) as model:
        yield model


# ------------------------------------------------------------------------------------------ MTCNN


def test_the_astronaut_photo_has_exactly_one_face_where_it_is(faces: modelrt.Model) -> None:
    result = faces.predict(IMAGES / "astronaut.png")
    assert isinstance(result, Detections)
    assert len(result) == 1
    assert _iou(result.xyxy[0], ASTRONAUT_FACE) >= 0.9
    assert result.confidence[0] > 0.99


def test_the_face_has_five_landmarks_inside_its_box(faces: modelrt.Model) -> None:
    result = faces.predict(IMAGES / "astronaut.png")
    assert result.keypoints is not None and result.keypoints.shape == (1, 5, 3)
    x1, y1, x2, y2 = result.xyxy[0]
    points = result.keypoints[0]
    assert ((points[:, 0] > x1) & (points[:, 0] < x2) & (points[:, 1] > y1) & (points[:, 1] < y2)).all()
    left_eye, right_eye, nose, mouth_left, mouth_right = points[:, :2]
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert left_eye[1] < nose[1] < mouth_left[1]


def test_photos_without_faces_give_none(faces: modelrt.Model) -> None:
    assert len(faces.predict(IMAGES / "coffee.png")) == 0


def test_torch_and_onnxruntime_find_the_same_face(demo_packages: Path) -> None:
    results = {}
    for backend in BACKENDS:
        with _load(demo_packages / "mtcnn-faces", backend) as model:
            results[backend] = model.predict(IMAGES / "astronaut.png")
    torch_face, ort_face = results["torch"], results["onnxruntime"]
    np.testing.assert_allclose(torch_face.xyxy, ort_face.xyxy, atol=0.5)
    np.testing.assert_allclose(torch_face.keypoints, ort_face.keypoints, atol=0.5)
    np.testing.assert_allclose(torch_face.confidence, ort_face.confidence, atol=1e-4)


# ------------------------------------------------------------------------------------------ MobileNetV2


def test_the_cat_is_an_egyptian_cat(classifier: modelrt.Model) -> None:
    result = classifier.predict(IMAGES / "chelsea.png")
    assert isinstance(result, Classification)
    assert result.label == "Egyptian cat"
    assert abs(result.confidence - EGYPTIAN_CAT_PROBABILITY) <= 0.02


def test_the_coffee_is_an_espresso(classifier: modelrt.Model) -> None:
    result = classifier.predict(IMAGES / "coffee.png")
    assert result.label == "espresso"
    assert result.confidence > 0.9


def test_torch_and_onnxruntime_give_the_same_probabilities(demo_packages: Path) -> None:
    probabilities = {}
    for backend in BACKENDS:
        with _load(demo_packages / "mobilenet-v2-imagenet", backend) as model:
            probabilities[backend] = [
                model.predict(IMAGES / f"{name}.png").probabilities for name in ("chelsea", "coffee")
            ]
    np.testing.assert_allclose(probabilities["torch"], probabilities["onnxruntime"], atol=1e-4)


def test_a_batch_through_torch_matches_single_images(demo_packages: Path) -> None:
    with _load(demo_packages / "mobilenet-v2-imagenet", "torch") as model:
        batch = model.predict([IMAGES / "chelsea.png", IMAGES / "coffee.png"])
        singles = [model.predict(IMAGES / "chelsea.png"), model.predict(IMAGES / "coffee.png")]
    for together, alone in zip(batch, singles, strict=True):
        np.testing.assert_allclose(together.probabilities, alone.probabilities, atol=1e-5)


# ------------------------------------------------------------------------------------------ embedder


@pytest.fixture(scope="module", params=BACKENDS)
def embedder(request: pytest.FixtureRequest, demo_packages: Path) -> Iterator[modelrt.Model]:
    with _load(demo_packages / "mobilenet-v2-embedder", request.param) as model:
        yield model


def test_the_cat_is_closer_to_its_mirror_image_than_to_the_coffee(embedder: modelrt.Model) -> None:
    from modelrt.images import load_image
    from modelrt.results import similarity

    cat, coffee = load_image(IMAGES / "chelsea.png"), load_image(IMAGES / "coffee.png")
    original, mirrored, coffee = embedder.predict([cat, np.ascontiguousarray(cat[:, ::-1]), coffee], color="rgb")
    assert isinstance(original, Embedding) and len(original) == 1280
    assert original.norm == pytest.approx(1.0, abs=1e-5)
    matrix = similarity([original], [mirrored, coffee])
    assert matrix[0, 0] > 0.95 and matrix[0, 1] < 0.6  # measured: 0.986 and 0.424


def test_torch_and_onnxruntime_give_the_same_embedding(demo_packages: Path) -> None:
    vectors = {}
    for backend in BACKENDS:
        with _load(demo_packages / "mobilenet-v2-embedder", backend) as model:
            vectors[backend] = model.predict(IMAGES / "chelsea.png").vector
    np.testing.assert_allclose(vectors["torch"], vectors["onnxruntime"], atol=1e-5)


# ------------------------------------------------------------------------------------------ ranking


def test_auto_prefers_onnxruntime_for_every_role_on_the_cpu(demo_packages: Path) -> None:
    plan = modelrt.explain(demo_packages / "mtcnn-faces", device="cpu")
    assert {role: (c.backend, c.format) for role, c in plan.chosen().items()} == {
        role: ("onnxruntime", "onnx") for role in ("pnet", "rnet", "onet")
    }
    ranked = [c.backend for c in plan.candidates if c.role == "pnet"]
    assert ranked == ["onnxruntime", "torch"]


def test_the_plan_says_why_mps_is_not_offered_to_mtcnn(demo_packages: Path) -> None:
    plan = modelrt.explain(demo_packages / "mtcnn-faces", backend="torch", all_candidates=True)
    assert any("mps not tried" in note and "'mtcnn'" in note for note in plan.notes)
    assert "mps" not in {c.device for c in plan.candidates}

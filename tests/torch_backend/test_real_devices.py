"""The real models on a real NVIDIA GPU (``gpu``) or Apple GPU (``mps``); skipped where there is none.

These are the only tests that reach torch's CUDA and MPS code paths (pinned memory, ``non_blocking``
copies, fp16); everywhere else those devices are tested through the availability seam.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

import modelrt
from modelrt.devices import Device
from modelrt.host_environment import probe_environment
from modelrt.results import Classification
from modelrt_torch.backend import TorchBackend

from .conftest import IMAGES

ASTRONAUT_FACE = np.array([181, 62, 268, 172], dtype=np.float32)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU that torch can use")
needs_mps = pytest.mark.skipif(not torch.backends.mps.is_available(), reason="needs Apple Silicon with MPS")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _cat(package: Path, **load: object) -> Classification:
    with modelrt.load(package / "mobilenet-v2-imagenet", backend="torch", warmup=0, **load) as model:
        return model.predict(IMAGES / "chelsea.png")


@pytest.fixture(scope="module")
def cpu_cat(demo_packages: Path) -> Classification:
    return _cat(demo_packages, device="cpu")


# ------------------------------------------------------------------------------------------ CUDA


@pytest.mark.gpu
@needs_cuda
def test_torch_reports_this_gpu_as_usable() -> None:
    availability = TorchBackend().availability(probe_environment(), Device.parse("cuda:0"))
    assert availability.usable, availability.reason


@pytest.mark.gpu
@needs_cuda
def test_fp16_on_cuda_keeps_the_answer(demo_packages: Path, cpu_cat: Classification) -> None:
    with modelrt.load(
        demo_packages / "mobilenet-v2-imagenet", backend="torch", device="cuda", precision="fp16", warmup=0
    ) as model:
        session = model.sessions["main"]
        assert session.provider.endswith("(fp16)") and "cuda:0" in session.provider
        result = model.predict(IMAGES / "chelsea.png")
    assert result.label == "Egyptian cat"
    np.testing.assert_allclose(result.probabilities, cpu_cat.probabilities, atol=0.02)


@pytest.mark.gpu
@needs_cuda
def test_auto_precision_on_cuda_is_measured_once_and_shown_in_the_plan(
    demo_packages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    decisions = []
    for _ in range(2):
        with modelrt.load(demo_packages / "mobilenet-v2-imagenet", backend="torch", device="cuda", warmup=0) as model:
            [note] = [note for note in model.plan.notes if "precision auto" in note]
            decisions.append((model.sessions["main"].precision, note))
            assert model.predict(IMAGES / "chelsea.png").label == "Egyptian cat"
    with capsys.disabled():
        print(f"\nauto precision on {torch.cuda.get_device_name(0)}: {decisions[0][1]}")
    (first, first_note), (second, second_note) = decisions
    assert first == second and first in ("fp32", "fp16")
    assert "batch 1: fp16" in first_note and "batch 8: fp16" in first_note and "kept in " in first_note
    assert second_note.endswith("decided earlier, from the modelrt cache")


@pytest.mark.gpu
@needs_cuda
def test_fp32_on_cuda_matches_the_cpu_closely(demo_packages: Path, cpu_cat: Classification) -> None:
    result = _cat(demo_packages, device="cuda", precision="fp32")
    np.testing.assert_allclose(result.probabilities, cpu_cat.probabilities, atol=1e-3)


@pytest.mark.gpu
@needs_cuda
def test_the_astronaut_face_on_cuda(demo_packages: Path) -> None:
    with modelrt.load(demo_packages / "mtcnn-faces", backend="torch", device="cuda", warmup=0) as model:
        assert {c.device for c in model.plan.chosen().values()} == {"cuda:0"}
        faces = model.predict(IMAGES / "astronaut.png")
    assert len(faces) == 1
    assert _iou(faces.xyxy[0], ASTRONAUT_FACE) >= 0.9


@pytest.mark.gpu
@needs_cuda
def test_concurrent_runs_on_cuda_match_a_serial_run(demo_packages: Path) -> None:
    with modelrt.load(
        demo_packages / "mobilenet-v2-imagenet", backend="torch", device="cuda", precision="fp32", warmup=0
    ) as model:
        session = model.sessions["main"]
        rng = np.random.default_rng(0)
        tensors = [rng.standard_normal((2, 3, 224, 224)).astype(np.float32) for _ in range(4)]
        serial = [session.run({"image": tensor})["logits"] for tensor in tensors]

        def run_all() -> list[np.ndarray]:
            return [session.run({"image": tensor})["logits"] for tensor in tensors]

        with ThreadPoolExecutor(4) as pool:
            results = [future.result() for future in [pool.submit(run_all) for _ in range(4)]]
    for outputs in results:
        for got, want in zip(outputs, serial, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.gpu
@needs_cuda
def test_a_cuda_index_beyond_the_visible_devices_is_refused(demo_packages: Path) -> None:
    beyond = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises((modelrt.NoUsableBackendError, modelrt.HardwareError), match="no cuda:"):
        modelrt.load(demo_packages / "mobilenet-v2-imagenet", backend="torch", device=beyond, warmup=0)


# ------------------------------------------------------------------------------------------ MPS


@pytest.fixture
def mps_faces(demo_packages: Path) -> Iterator[modelrt.Model]:
    with modelrt.load(demo_packages / "mtcnn-faces", backend="torch", device="mps", warmup=0) as model:
        yield model


@pytest.mark.mps
@needs_mps
def test_the_cat_on_mps_matches_the_cpu(demo_packages: Path, cpu_cat: Classification) -> None:
    result = _cat(demo_packages, device="mps")
    assert result.label == "Egyptian cat"
    np.testing.assert_allclose(result.probabilities, cpu_cat.probabilities, atol=1e-3)


@pytest.mark.mps
@needs_mps
def test_mtcnn_runs_on_mps_when_asked_for_explicitly(mps_faces: modelrt.Model) -> None:
    faces = mps_faces.predict(IMAGES / "astronaut.png")
    assert len(faces) == 1
    assert _iou(faces.xyxy[0], ASTRONAUT_FACE) >= 0.9

"""TensorRT on a real NVIDIA GPU (``gpu``): skipped where TensorRT, cuda-python or a visible GPU is missing.

Everywhere else the same code runs against the fake TensorRT and CUDA; these tests show that the real
library agrees: engines built from ONNX match ONNX Runtime on the CPU (fp32 within ``FP32_TOLERANCE``,
fp16 keeping the top class), dynamic batches, CUDA graphs, threads, the refusal of an engine for another
GPU before deserialisation, and GPU memory handed back on close.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelrt
from modelrt.engines.container import read_engine, write_container
from modelrt.errors import HardwareError
from modelrt.host import Host
from modelrt.host_environment import probe_environment
from modelrt_trt.availability import cuda_python_installed
from modelrt_trt.binding import find_flavours

#: fp32 TensorRT picks other kernels (TF32 is off by default for fp32 engines), so sums differ slightly.
FP32_TOLERANCE = 1e-3


def _tensorrt_on_a_gpu() -> bool:
    return "tensorrt" in find_flavours() and cuda_python_installed() and bool(probe_environment(Host()).visible_gpus)


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _tensorrt_on_a_gpu(), reason="needs TensorRT, cuda-python and a GPU"),
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))


def conv_classifier(path: Path, batch: str | int = "batch") -> Path:
    """A small convolutional classifier with fixed random weights: [N,3,32,32] → [N,10] logits."""
    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.normal(0, 0.2, (16, 3, 3, 3)).astype(np.float32),
        "b1": rng.normal(0, 0.1, 16).astype(np.float32),
        "w2": rng.normal(0, 0.2, (10, 16)).astype(np.float32),
        "b2": rng.normal(0, 0.1, 10).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 10])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def package_of(model: Path) -> Path:
    data = model.read_bytes()
    manifest = {
        "format_version": 1,
        "name": model.stem,
        "task": "classification",
        "architecture": "image-classifier",
        "labels": [str(index) for index in range(10)],
        "input": {"size": [32, 32], "resize": "stretch"},
        "artifacts": [
            {
                "role": "main",
                "format": "onnx" if model.suffix == ".onnx" else "tensorrt-engine",
                "path": model.name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
    }
    (model.parent / "modelrt.json").write_text(json.dumps(manifest))
    return model.parent


def batch_of(size: int) -> np.ndarray:
    return np.random.default_rng(size).normal(0, 1, (size, 3, 32, 32)).astype(np.float32)


def onnxruntime_cpu(model: Path, images: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images})[0]  # type: ignore[no-any-return]


@pytest.fixture
def classifier(tmp_path: Path) -> Path:
    (tmp_path / "classifier").mkdir()
    return conv_classifier(tmp_path / "classifier" / "model.onnx")


def test_an_fp32_engine_matches_onnxruntime_on_the_cpu_for_batches_of_1_to_8(classifier: Path) -> None:
    root = package_of(classifier)
    modelrt.build(root, precision="fp32", batch=(1, 4, 8))
    with modelrt.load(root, backend="tensorrt", precision="fp32") as model:
        session = model.sessions["main"]
        for size in (1, 3, 8):
            expected = onnxruntime_cpu(classifier, batch_of(size))
            np.testing.assert_allclose(session.run({"images": batch_of(size)})["logits"], expected, atol=FP32_TOLERANCE)


def test_an_fp16_engine_keeps_the_top_class(classifier: Path) -> None:
    root = package_of(classifier)
    modelrt.build(root, precision="fp16", batch=(1, 8, 8))
    with modelrt.load(root, backend="tensorrt", precision="fp16") as model:
        logits = model.sessions["main"].run({"images": batch_of(8)})["logits"]
    expected = onnxruntime_cpu(classifier, batch_of(8))
    assert (logits.argmax(axis=1) == expected.argmax(axis=1)).mean() >= 0.98 - 1e-9


def test_a_static_engine_replays_a_cuda_graph_with_the_plain_results(tmp_path: Path) -> None:
    model = conv_classifier(tmp_path / "model.onnx", batch=2)
    root = package_of(model)
    modelrt.build(root, precision="fp32")
    outputs = {}
    for graphs in (True, False):
        extras = {"tensorrt": {"cuda_graphs": graphs}}
        with modelrt.load(root, backend="tensorrt", precision="fp32", extras=extras) as loaded:
            session = loaded.sessions["main"]
            assert session.provider.endswith("+ CUDA graphs") == graphs
            outputs[graphs] = [session.run({"images": batch_of(2)})["logits"] for _ in range(3)]
    for with_graph, plain in zip(outputs[True], outputs[False], strict=True):
        np.testing.assert_array_equal(with_graph, plain)


def test_eight_threads_give_the_serial_results(classifier: Path) -> None:
    root = package_of(classifier)
    modelrt.build(root, precision="fp32", batch=(1, 4, 8))
    with modelrt.load(root, backend="tensorrt", precision="fp32") as model:
        session = model.sessions["main"]
        serial = [session.run({"images": batch_of(size)})["logits"] for size in range(1, 9)]
        with ThreadPoolExecutor(8) as pool:
            threaded = list(pool.map(lambda size: session.run({"images": batch_of(size)})["logits"], range(1, 9)))
    for one, other in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(one, other)


def test_an_engine_with_a_forged_compute_capability_is_refused_before_deserialisation(
    classifier: Path, tmp_path: Path
) -> None:
    (outcome,) = modelrt.build(package_of(classifier), precision="fp32")
    engine = read_engine(outcome.engine.read_bytes(), name="model.engine")
    forged_capability = "7.2" if engine.facts.compute_capability != "7.2" else "8.6"
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "model.engine").write_bytes(
        write_container(bytes(engine.plan), attrs.evolve(engine.facts, compute_capability=forged_capability))
    )
    with pytest.raises(HardwareError, match=f"compute_capability {forged_capability}"):
        modelrt.load(package_of(forged / "model.engine"), backend="tensorrt")


def test_close_hands_the_gpu_memory_back(classifier: Path) -> None:
    from cuda.bindings import runtime as cudart

    root = package_of(classifier)
    modelrt.build(root, precision="fp32", batch=(1, 8, 8))
    cudart.cudaFree(0)  # creates the context, whose own memory is not the session's
    _, free_before, _ = cudart.cudaMemGetInfo()
    for _ in range(3):
        with modelrt.load(root, backend="tensorrt", precision="fp32", extras={"tensorrt": {"contexts": 2}}) as model:
            model.sessions["main"].run({"images": batch_of(8)})
    _, free_after, _ = cudart.cudaMemGetInfo()
    assert free_before - free_after < 16 << 20  # allocator slack, not the engine's buffers three times over

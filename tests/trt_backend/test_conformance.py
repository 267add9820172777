"""The TensorRT backend passes the generic backend contract, on the fake TensorRT and CUDA.

The artifact is a modelrt engine container around a fake plan computing ``y = 2 * x``; the host is an
NVIDIA machine with the GPU that plan was built for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrt.backend import Artifact
from modelrt.engines.container import write_container
from modelrt.engines.facts import EngineFacts
from modelrt.testing.conformance import BackendConformance
from modelrt_trt.testing.fake_tensorrt import FakeTrtState
from modelrt_trt.testing.gpu_stack import nvidia_environment, use_fake_gpu_stack
from modelrt_trt.testing.plan_format import encode_plan

STATE = FakeTrtState()


class TestTensorRTBackend(BackendConformance):
    plugin_module = "modelrt_trt.plugin"
    backend_name = "tensorrt"
    device = "cuda:0"

    @pytest.fixture(autouse=True)
    def fake_gpu_stack(self, monkeypatch: pytest.MonkeyPatch) -> None:
        use_fake_gpu_stack(monkeypatch)

    @pytest.fixture
    def environment(self) -> Any:
        return nvidia_environment(STATE)

    def make_artifact(self, directory: Path) -> Artifact:
        network = {
            "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "source": "x", "scale": 2.0}],
            "profiles": [{"x": {"min": [1, 3], "opt": [2, 3], "max": [4, 3]}}],
            "precision": "fp32",
            "flavour": STATE.flavour,
            "version": STATE.version,
            "compute_capability": STATE.compute_capability,
        }
        facts = EngineFacts(flavour=STATE.flavour, tensorrt_version=STATE.version, compute_capability="8.6")
        path = directory / "double.engine"
        path.write_bytes(write_container(encode_plan(network), facts))
        return Artifact(role="main", format="tensorrt-engine", file=path, package_root=directory)

    def input_feed(self) -> dict[str, np.ndarray]:
        return {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}

    def expected_outputs(self) -> dict[str, np.ndarray]:
        return {"y": 2 * np.arange(6, dtype=np.float32).reshape(2, 3)}

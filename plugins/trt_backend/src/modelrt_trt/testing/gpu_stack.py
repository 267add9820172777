"""A whole fake NVIDIA stack for tests: the host's ``Environment``, TensorRT, CUDA, and a model they run.

``use_fake_gpu_stack`` makes this process look like a machine with one GPU, a TensorRT 10.3 and
cuda-python (for the rest of a test, through ``monkeypatch``); ``nvidia_environment`` is the matching
``Environment`` to hand to ``modelrt.load(..., environment=)``; ``scaling_onnx`` writes the one ONNX model
whose outputs the fake engine computes exactly (``scores = images * scale``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelrt.host_environment import Environment
from modelrt.nvidia.gpus import Gpu
from modelrt_trt.testing.fake_cuda import FakeCuda, install_fake_cuda
from modelrt_trt.testing.fake_tensorrt import FakeTrtState, install_fake_tensorrt

__all__ = ["nvidia_environment", "scaling_onnx", "use_fake_gpu_stack"]


def nvidia_environment(state: FakeTrtState | None = None) -> Environment:
    """An Ubuntu host with a driver, CUDA 12.4 and the one GPU the fake TensorRT of ``state`` runs on."""
    state = state or FakeTrtState()
    gpu = Gpu(index=0, name=state.gpu_name, compute_capability=state.compute_capability, cuda_index=0, uuid="GPU-0")
    return Environment(
        system="Linux",
        nvidia_evidence=("proc/driver/nvidia/version",),
        nvidia_driver_version="550.54.14",
        cuda_driver_version="12.4",
        cuda_runtime_version="12.4.127",
        gpus=(gpu,),
    )


def use_fake_gpu_stack(monkeypatch: Any, state: FakeTrtState | None = None) -> FakeTrtState:
    """Install the fake TensorRT of ``state`` and a fake CUDA, as the only TensorRT and cuda-python here."""
    from modelrt_trt import availability, backend

    state = state or FakeTrtState()
    if state.cuda is None:
        state.cuda = install_fake_cuda(monkeypatch, FakeCuda(calls=state.calls))
    install_fake_tensorrt(monkeypatch, state)
    for module in (availability, backend):
        monkeypatch.setattr(module, "find_flavours", lambda: (state.flavour,))
    monkeypatch.setattr(availability, "cuda_python_installed", lambda: True)
    return state


def scaling_onnx(path: Path, scale: float = 3.0, batch: str | int = "batch") -> Path:
    """Write ``scores = images * scale`` for images of ``[batch, 3, 8, 8]``; the fake builder reads ``scale``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, 8, 8])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [batch, 3, 8, 8])
    constant = numpy_helper.from_array(np.array(scale, np.float32), "scale")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["images", "scale"], ["scores"])], "scaling", [x], [y], [constant]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path

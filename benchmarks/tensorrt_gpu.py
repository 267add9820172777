"""TensorRT on an NVIDIA GPU, in trtexec's three figures, for modelrt and the raw engine side by side.

    python -m benchmarks.tensorrt_gpu [--onnx model.onnx] [--batch 1 --batch 8] [--runs 200] [--precision fp16]

Without ``--onnx`` the model is the synthetic YOLOv8-shaped detector (``benchmarks/synthetic_yolo.py``,
640x640, dynamic batch). ``modelrt build`` makes the engine once (cached); then, per batch size:

- *device compute*: CUDA events around ``execute_async_v3`` only, on the raw engine;
- *host latency*: H2D copy + execute + D2H copy, synchronised, with the same engine and buffer sizes:
  raw TensorRT (one context, pinned buffers, cuda-python) against modelrt's ``Session.run``;
- *full pipeline*: ``Model.predict`` on a list of ``batch`` copies of the demo picture (decode excluded:
  pre-processing, run and post-processing), per image;
- ONNX Runtime's CUDA execution provider (``run_with_iobinding``, host latency) where onnxruntime-gpu is
  installed.

Goals (issue 14): modelrt host latency ≤ 1.05 x raw host latency; full pipeline per image ≤ 1.3 x device
compute per image at batch 8. Each figure is the median of ``--runs`` after a 200 ms warm-up. Without a
GPU, TensorRT or cuda-python the script says which is missing and exits 0: there is nothing to measure.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.models import DEMO_IMAGE, read_rgb

WARMUP_S = 0.2


def missing_requirement() -> str | None:
    """Why this host cannot run the benchmark, or ``None``."""
    from modelrt.host import Host
    from modelrt.host_environment import probe_environment
    from modelrt_trt.availability import cuda_python_installed
    from modelrt_trt.binding import find_flavours

    if not probe_environment(Host()).visible_gpus:
        return "no NVIDIA GPU visible"
    if "tensorrt" not in find_flavours():
        return 'TensorRT is not installed (pip install "modelrt[trt-cu12]")'
    if not cuda_python_installed():
        return "cuda-python is not installed"
    return None


def median_ms(step: Callable[[], float | None], runs: int) -> float:
    """Median milliseconds of ``step`` (its own figure when it returns one, else wall time) after a warm-up."""
    deadline = time.perf_counter() + WARMUP_S
    while time.perf_counter() < deadline:
        step()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        own = step()
        samples.append(own if own is not None else (time.perf_counter() - started) * 1000)
    return statistics.median(samples)


class RawEngine:
    """The plan run the way trtexec does: one context, one stream, pinned host and device buffers."""

    def __init__(self, plan: bytes, batch: int) -> None:
        import tensorrt as trt
        from cuda.bindings import runtime as cudart

        self.cudart = cudart
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(plan)
        self.context = self.engine.create_execution_context()
        _, self.stream = cudart.cudaStreamCreate()
        self.buffers: dict[str, tuple[np.ndarray, int, bool]] = {}
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        for name in names:
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                shape = tuple(batch if dim == -1 else dim for dim in self.engine.get_tensor_shape(name))
                self.context.set_input_shape(name, shape)
        for name in names:
            shape = tuple(self.context.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            nbytes = int(np.prod(shape)) * dtype.itemsize
            _, host_pointer = cudart.cudaMallocHost(nbytes)
            host = np.ctypeslib.as_array((ctypes.c_byte * nbytes).from_address(host_pointer))
            _, device = cudart.cudaMalloc(nbytes)
            is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            self.buffers[name] = (host, device, is_input)
            self.context.set_tensor_address(name, device)
        _, self.start = cudart.cudaEventCreate()
        _, self.end = cudart.cudaEventCreate()

    def device_compute_ms(self) -> float:
        cudart = self.cudart
        cudart.cudaEventRecord(self.start, self.stream)
        self.context.execute_async_v3(int(self.stream))
        cudart.cudaEventRecord(self.end, self.stream)
        cudart.cudaEventSynchronize(self.end)
        return float(cudart.cudaEventElapsedTime(self.start, self.end)[1])

    def host_latency(self) -> None:
        cudart, kind = self.cudart, self.cudart.cudaMemcpyKind
        for host, device, is_input in self.buffers.values():
            if is_input:
                cudart.cudaMemcpyAsync(device, host.ctypes.data, host.nbytes, kind.cudaMemcpyHostToDevice, self.stream)
        self.context.execute_async_v3(int(self.stream))
        for host, device, is_input in self.buffers.values():
            if not is_input:
                cudart.cudaMemcpyAsync(host.ctypes.data, device, host.nbytes, kind.cudaMemcpyDeviceToHost, self.stream)
        cudart.cudaStreamSynchronize(self.stream)


def onnxruntime_cuda_ms(onnx_file: Path, feed: dict[str, np.ndarray], runs: int) -> float | None:
    """ONNX Runtime's CUDA EP with IO binding (host latency), or ``None`` without onnxruntime-gpu."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    session = ort.InferenceSession(str(onnx_file), providers=["CUDAExecutionProvider"])
    binding = session.io_binding()

    def step() -> None:
        for name, array in feed.items():
            binding.bind_cpu_input(name, array)
        for output in session.get_outputs():
            binding.bind_output(output.name)
        session.run_with_iobinding(binding)
        binding.copy_outputs_to_cpu()

    return median_ms(step, runs)


def measure(onnx_file: Path, batch: int, precision: str, runs: int) -> dict[str, Any]:
    import modelrt
    from modelrt.engines.container import read_engine

    package = onnx_file.parent if (onnx_file.parent / "modelrt.json").is_file() else onnx_file
    (outcome,) = modelrt.build(package, precision=precision, batch=(1, max(batch, 8), max(batch, 8)))
    raw = RawEngine(bytes(read_engine(outcome.engine.read_bytes(), name="engine").plan), batch)
    device_ms = median_ms(raw.device_compute_ms, runs)
    raw_host_ms = median_ms(raw.host_latency, runs)
    image = read_rgb(DEMO_IMAGE)
    with modelrt.load(package, backend="tensorrt", precision=precision) as model:
        session = model.sessions["main"]
        feed = {
            tensor.name: np.random.default_rng(0).random(
                tuple(batch if not isinstance(dim, int) or dim < 0 else dim for dim in tensor.shape), np.float32
            )
            for tensor in session.inputs
        }

        def run_session() -> None:
            session.run(feed)

        def predict() -> None:
            model.predict([image] * batch, color="rgb")

        modelrt_host_ms = median_ms(run_session, runs)
        pipeline_ms = median_ms(predict, max(runs // 4, 10))
    ort_ms = onnxruntime_cuda_ms(onnx_file, feed, runs)
    return {
        "batch": batch,
        "precision": precision,
        "package": str(package),
        "device_compute_ms": device_ms,
        "raw_host_latency_ms": raw_host_ms,
        "modelrt_host_latency_ms": modelrt_host_ms,
        "modelrt_pipeline_ms_per_image": pipeline_ms / batch,
        "onnxruntime_cuda_host_latency_ms": ort_ms,
        "host_latency_ratio": modelrt_host_ms / raw_host_ms,
        "pipeline_per_image_over_device_compute_per_image": (pipeline_ms / batch) / (device_ms / batch),
    }


def synthetic_model(directory: Path) -> Path:
    from benchmarks import synthetic_yolo
    from modelrt.package_builder import build_package

    calibration = np.zeros((1, 3, 640, 640), np.float32)
    onnx_file = synthetic_yolo.build(directory / "synthetic-yolo.onnx", calibration)
    labels = [f"class{index}" for index in range(synthetic_yolo.NUM_CLASSES)]
    package = directory / "package"
    build_package(
        onnx_file,
        package,
        task="object-detection",
        labels=labels,
        name="synthetic-yolo",
        input_spec={"size": [640, 640], "resize": "letterbox", "batch": "dynamic"},
    )
    return package / onnx_file.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tensorrt_gpu",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--onnx", type=Path, help="an ONNX model or package file (default: the synthetic detector)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 1 and 8)")
    parser.add_argument("--precision", default="fp16", choices=["fp32", "fp16"])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    missing = missing_requirement()
    if missing is not None:
        print(f"skipped: {missing}; the TensorRT benchmark needs an NVIDIA GPU")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        onnx_file = args.onnx or synthetic_model(Path(scratch))
        results = [measure(onnx_file, batch, args.precision, args.runs) for batch in (args.batch or [1, 8])]
    print(json.dumps(results, indent=2))
    for result in results:
        print(
            f"batch {result['batch']}: host latency modelrt/raw = {result['host_latency_ratio']:.3f} (goal <= 1.05); "
            f"pipeline per image / device compute per image = "
            f"{result['pipeline_per_image_over_device_compute_per_image']:.2f} (goal <= 1.3 at batch 8)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

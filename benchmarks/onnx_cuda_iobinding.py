"""ONNX Runtime's CUDA execution provider: raw ``run_with_iobinding`` against modelrt's run stage.

    python -m benchmarks.onnx_cuda_iobinding [--onnx model.onnx] [--batch 1 --batch 8] [--runs 200]

Without ``--onnx`` the model is the synthetic YOLOv8-shaped detector (``benchmarks/synthetic_yolo.py``,
640x640, dynamic batch), packaged once. Per batch size, each figure the median of ``--runs`` after a
200 ms warm-up:

- *raw*: one ``InferenceSession`` with modelrt's CUDA provider options; the input a device ``OrtValue``
  bound once and filled in place from a host array, the output bound on the GPU and copied back once
  (``copy_outputs_to_cpu``) — the least a caller holding numpy arrays can do;
- *modelrt session*: ``Session.run`` of the same model loaded with ``modelrt.load(device="cuda:0")``
  (I/O binding on by default);
- *modelrt run stage*: the ``run`` stage of ``Model.predict`` on ``batch`` copies of the demo picture, and
  the time spent outside it (pre- and post-processing), per image.

Goal (issue 13): modelrt run stage ≤ 1.05 x raw. The figures also say how inputs were staged (pinned or
pageable). Without a GPU or onnxruntime-gpu the script says which is missing and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.models import DEMO_IMAGE, read_rgb
from benchmarks.tensorrt_gpu import median_ms, synthetic_model

RUN_STAGE_GOAL = 1.05


def missing_requirement() -> str | None:
    """Why this host cannot run the benchmark, or ``None``."""
    from modelrt.host import Host
    from modelrt.host_environment import probe_environment

    if not probe_environment(Host()).visible_gpus:
        return "no NVIDIA GPU visible"
    try:
        import onnxruntime
    except ImportError:
        return 'onnxruntime is not installed (pip install "modelrt[onnx-gpu]")'
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return 'this onnxruntime has no CUDAExecutionProvider (pip install "modelrt[onnx-gpu]")'
    return None


def feed_for(inputs: Any, batch: int) -> dict[str, np.ndarray]:
    """Random float32 inputs with free dimensions set to ``batch``."""
    rng = np.random.default_rng(0)
    return {
        tensor.name: rng.random(
            tuple(dim if isinstance(dim, int) and dim > 0 else batch for dim in tensor.shape)
        ).astype(np.float32)
        for tensor in inputs
    }


def raw_iobinding_ms(onnx_file: Path, batch: int, runs: int) -> float:
    """Host latency of onnxruntime alone: device input filled in place, output copied back once."""
    import onnxruntime as ort

    from modelrt_onnx.providers import CUDA_PROVIDER_OPTIONS

    cuda = ("CUDAExecutionProvider", {"device_id": "0", **CUDA_PROVIDER_OPTIONS})
    session = ort.InferenceSession(str(onnx_file), providers=[cuda])
    feed = feed_for(session.get_inputs(), batch)
    binding = session.io_binding()
    device_inputs = {name: ort.OrtValue.ortvalue_from_numpy(array, "cuda", 0) for name, array in feed.items()}
    for name, value in device_inputs.items():
        binding.bind_ortvalue_input(name, value)

    def step() -> None:
        for name, array in feed.items():
            device_inputs[name].update_inplace(array)
        for output in session.get_outputs():
            binding.bind_output(output.name, "cuda", 0)
        session.run_with_iobinding(binding)
        binding.copy_outputs_to_cpu()

    return median_ms(step, runs)


def modelrt_figures(package: Path, batch: int, runs: int) -> dict[str, Any]:
    """modelrt's ``Session.run`` and the run stage of ``predict``, with the same model on cuda:0."""
    import modelrt
    from modelrt.timing import StageTimer

    image = read_rgb(DEMO_IMAGE)
    with modelrt.load(package, device="cuda:0", backend="onnxruntime") as model:
        session = model.sessions["main"]
        feed = feed_for(session.inputs, batch)

        def run_session() -> None:
            session.run(feed)

        session_ms = median_ms(run_session, runs)
        images = [image] * batch
        model.predict(images, color="rgb")
        run_stage, outside = [], []
        for _ in range(max(runs // 4, 10)):
            timer = StageTimer()
            model.predict(images, color="rgb", timer=timer)
            run_stage.append(timer.seconds.get("run", 0.0) * 1000)
            outside.append((timer.seconds.get("pre", 0.0) + timer.seconds.get("post", 0.0)) * 1000)
        binding = getattr(session, "io_binding", None)
        return {
            "modelrt_session_ms": session_ms,
            "modelrt_run_stage_ms": statistics.median(run_stage),
            "modelrt_outside_run_ms_per_image": statistics.median(outside) / batch,
            "input_staging": binding.staging if binding is not None else "plain run (no I/O binding)",
        }


def measure(package: Path, onnx_file: Path, batch: int, runs: int) -> dict[str, Any]:
    raw_ms = raw_iobinding_ms(onnx_file, batch, runs)
    figures = modelrt_figures(package, batch, runs)
    return {
        "batch": batch,
        "raw_run_with_iobinding_ms": raw_ms,
        **figures,
        "run_stage_ratio": figures["modelrt_run_stage_ms"] / raw_ms,
        "session_ratio": figures["modelrt_session_ms"] / raw_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.onnx_cuda_iobinding",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--onnx", type=Path, help="an ONNX file inside a modelrt package (default: synthetic detector)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 1 and 8)")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    missing = missing_requirement()
    if missing is not None:
        print(f"skipped: {missing}; the ONNX Runtime CUDA benchmark needs an NVIDIA GPU")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        onnx_file = args.onnx or synthetic_model(Path(scratch))
        package = onnx_file.parent if (onnx_file.parent / "modelrt.json").is_file() else onnx_file
        results = [measure(package, onnx_file, batch, args.runs) for batch in (args.batch or [1, 8])]
    print(json.dumps(results, indent=2))
    for result in results:
        print(
            f"batch {result['batch']}: modelrt run stage / raw run_with_iobinding = {result['run_stage_ratio']:.3f} "
            f"(goal <= {RUN_STAGE_GOAL}); Session.run / raw = {result['session_ratio']:.3f}; "
            f"input staging: {result['input_staging']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``build_plan`` with the real TensorRT for RTX, which builds plans without a GPU.

The fakes in ``test_builder.py`` follow TensorRT's API as modelrt reads it; these tests show the real
bindings agree: flags, profiles, the target compute capability, the progress monitor, the parser's
errors, an fp16 build from an fp16 ONNX model, and that a plan cannot crash a machine without a GPU.
Real TensorRT can take the process down, so everything runs in one subprocess whose findings come back
as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from modelrt.host import Host
from modelrt.host_environment import probe_environment

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorrt_rtx") is None,
    reason="needs tensorrt_rtx (pip install tensorrt-rtx-cu12), which the test requirements install",
)

_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from modelrt.devices import Device
    from modelrt.errors import ModelRTError
    from modelrt_trt.binding import import_flavour
    from modelrt_trt.builder import BuildSettings, build_plan
    from modelrt_trt.cuda import CudaRuntime
    from modelrt_trt.engine_runtime import deserialize_engine
    from modelrt_trt.fp16_onnx import to_fp16_onnx

    def doubling_model():
        images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 8, 8])
        scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3, 8, 8])
        two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
        node = helper.make_node("Mul", ["images", "two"], ["scores"], name="double")
        graph = helper.make_graph([node], "doubling", [images], [scores], [two])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 9
        return model.SerializeToString()

    def error_of(call):
        try:
            call()
        except ModelRTError as error:
            return {"type": type(error).__name__, "message": str(error)}
        return None

    api = import_flavour("tensorrt_rtx")
    cuda = CudaRuntime()
    settings = BuildSettings(batch=(1, 2, 4), compute_capability="8.6")
    steps = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build_plan(api, doubling_model(), settings, timing_cache=None, progress=lambda *s: steps.append(s))
    fp16 = build_plan(
        api, to_fp16_onnx(doubling_model()), BuildSettings(precision="fp16", batch=(1, 2, 4)), timing_cache=None
    )
    result = {
        "strongly_typed_only": api.strongly_typed_only,
        "magic": built.plan[:4].decode("latin-1"),
        "size": len(built.plan),
        "facts": built.facts.to_dict(),
        "timing_cache": built.timing_cache is not None,
        "deprecations": [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)],
        "steps": steps,
        "fp16_facts": fp16.facts.to_dict(),
        "garbage": error_of(lambda: build_plan(api, b"not onnx", settings, timing_cache=None)),
        "loaded_without_gpu": error_of(lambda: deserialize_engine(api, built.plan, Device.parse("cuda:0"), cuda)),
    }
    json.dump(result, sys.stdout)
    """
)


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """What one real build (and one fp16 build) reported, run in a subprocess that real TensorRT may crash."""
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"the build subprocess failed ({done.returncode}): {done.stderr[-3000:]}"
    return dict(json.loads(done.stdout))


def _gpu_visible() -> bool:
    return bool(probe_environment(Host()).visible_gpus)


def test_tensorrt_for_rtx_is_seen_as_strongly_typed_only(built: dict[str, Any]) -> None:
    assert built["strongly_typed_only"] is True


def test_a_real_build_returns_a_tensorrt_for_rtx_plan(built: dict[str, Any]) -> None:
    # TensorRT for RTX plans start with "vtrt" where TensorRT's own start with "ftrt".
    assert built["magic"] == "vtrt"
    assert built["size"] > 1000


def test_the_facts_list_the_parsed_io_and_the_batch_profile(built: dict[str, Any]) -> None:
    facts = built["facts"]
    assert facts["tensors"] == [
        {"name": "images", "mode": "input", "dtype": "float32", "shape": [-1, 3, 8, 8]},
        {"name": "scores", "mode": "output", "dtype": "float32", "shape": [-1, 3, 8, 8]},
    ]
    assert facts["profiles"] == [{"input": "images", "min": [1, 3, 8, 8], "opt": [2, 3, 8, 8], "max": [4, 3, 8, 8]}]


def test_the_facts_record_the_product_its_version_and_the_target_compute_capability(built: dict[str, Any]) -> None:
    facts = built["facts"]
    assert facts["flavour"] == "tensorrt_rtx"
    assert facts["tensorrt_version"].startswith("1.")
    assert facts["compute_capability"] == "8.6"
    assert facts["precision"] == "fp32"


def test_tensorrt_for_rtx_keeps_no_timing_cache_and_no_deprecated_call_is_made(built: dict[str, Any]) -> None:
    # Its timing-cache calls are deprecated no-ops, so the builder neither makes nor returns one.
    assert built["timing_cache"] is False
    assert built["deprecations"] == []


def test_the_progress_monitor_reports_tensorrt_phases_with_their_step_counts(built: dict[str, Any]) -> None:
    phases = {phase for phase, _done, _total in built["steps"]}
    assert "Building engine" in phases
    assert all(0 <= done <= total for _phase, done, total in built["steps"])


def test_an_fp16_onnx_model_builds_fp16_with_float32_inputs_and_outputs(built: dict[str, Any]) -> None:
    facts = built["fp16_facts"]
    assert facts["precision"] == "fp16"
    assert {tensor["dtype"] for tensor in facts["tensors"]} == {"float32"}


def test_bytes_that_are_not_onnx_are_a_package_error_quoting_the_parser(built: dict[str, Any]) -> None:
    assert built["garbage"]["type"] == "PackageError"
    assert "Failed to parse the ONNX model" in built["garbage"]["message"]


@pytest.mark.skipif(_gpu_visible(), reason="shows what happens on a machine without a GPU")
def test_loading_the_plan_without_a_gpu_is_a_hardware_error_not_a_crash(built: dict[str, Any]) -> None:
    assert built["loaded_without_gpu"]["type"] == "HardwareError"

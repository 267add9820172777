"""``build_plan``: how ONNX bytes and build settings become a TensorRT plan and its facts.

Run against fake TensorRT modules (``modelrt_trt.testing``) whose parser reads the ONNX bytes for real and
whose plans record how the builder was configured; ``test_real_tensorrt_rtx.py`` shows the real bindings
agree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelrt.errors import HardwareError, InputError, ModelRTError, PackageError
from modelrt_trt.binding import TrtModule
from modelrt_trt.builder import BuildSettings, BuiltPlan, build_plan
from modelrt_trt.testing.fake_tensorrt import FakeTrtState, make_fake_tensorrt
from modelrt_trt.testing.fake_trt_builder import ITimingCache
from modelrt_trt.testing.plan_format import decode_plan

Dims = Sequence[int | str]


def scaling_model(
    shape: Dims = ("batch", 3, 8, 8), *, scale: float = 2.0, names: tuple[str, str] = ("images", "scores")
) -> bytes:
    """``scores = images * scale``: the one graph whose outputs the fake engine computes exactly."""
    x = helper.make_tensor_value_info(names[0], TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(names[1], TensorProto.FLOAT, list(shape))
    constant = numpy_helper.from_array(np.array(scale, np.float32), "scale")
    node = helper.make_node("Mul", [names[0], "scale"], [names[1]], name="scale_node")
    model = helper.make_model(helper.make_graph([node], "scaling", [x], [y], [constant]))
    return model.SerializeToString()


def two_layer_model() -> bytes:
    """``sigmoid(x * 2)``: a Mul a DLA can run, then a Sigmoid the fake DLA cannot."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    constant = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [helper.make_node("Mul", ["x", "two"], ["doubled"]), helper.make_node("Sigmoid", ["doubled"], ["y"])]
    return helper.make_model(helper.make_graph(nodes, "two_layers", [x], [y], [constant])).SerializeToString()


def custom_op_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("Frobnicate", ["x"], ["y"], name="frob1", domain="com.example")
    graph = helper.make_graph([node], "custom", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    return model.SerializeToString()


def fake_api(**state: Any) -> TrtModule:
    fake_state = FakeTrtState(**state)
    return TrtModule(module=make_fake_tensorrt(fake_state), flavour=fake_state.flavour)


def build(api: TrtModule, model: bytes | None = None, **settings: Any) -> BuiltPlan:
    return build_plan(api, model or scaling_model(), BuildSettings(**settings), timing_cache=None)


def plan_of(built: BuiltPlan) -> dict[str, Any]:
    network = decode_plan(built.plan)
    assert network is not None
    return network


# --- the network and its profile ------------------------------------------------------------------------------


def test_the_plan_computes_the_parsed_network() -> None:
    plan = plan_of(build(fake_api(), scaling_model(scale=3.0)))
    assert plan["inputs"] == [{"name": "images", "dtype": "float32", "shape": [-1, 3, 8, 8]}]
    assert plan["outputs"] == [{"name": "scores", "source": "images", "scale": 3.0}]


def test_the_facts_list_the_inputs_and_outputs_read_from_the_network() -> None:
    facts = build(fake_api(), scaling_model(names=("pixels", "logits"))).facts
    assert [(t.name, t.mode, t.dtype, t.shape) for t in facts.tensors] == [
        ("pixels", "input", "float32", (-1, 3, 8, 8)),
        ("logits", "output", "float32", (-1, 3, 8, 8)),
    ]


def test_the_facts_record_the_product_version_precision_and_builder() -> None:
    facts = build(fake_api(version="10.3.0")).facts
    assert (facts.flavour, facts.tensorrt_version, facts.precision) == ("tensorrt", "10.3.0", "fp32")
    assert facts.builder is not None and facts.builder.startswith("modelrt-trt ")


def test_a_dynamic_batch_gets_a_profile_of_batch_one_by_default() -> None:
    profile = build(fake_api()).facts.profiles[0]
    assert (profile.input, profile.min, profile.opt, profile.max) == (
        "images",
        (1, 3, 8, 8),
        (1, 3, 8, 8),
        (1, 3, 8, 8),
    )


def test_a_batch_range_sets_the_profile_of_a_dynamic_batch() -> None:
    built = build(fake_api(), batch=(1, 4, 8))
    assert plan_of(built)["profiles"] == [{"images": {"min": [1, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [8, 3, 8, 8]}}]
    assert built.facts.profiles[0].max == (8, 3, 8, 8)


def test_a_fixed_batch_model_builds_without_a_profile() -> None:
    built = build(fake_api(), scaling_model((2, 3, 8, 8)))
    assert built.facts.profiles == ()
    assert plan_of(built)["profiles"] == []


def test_a_fixed_batch_model_accepts_its_own_batch() -> None:
    assert build(fake_api(), scaling_model((2, 3, 8, 8)), batch=(2, 2, 2)).facts.profiles == ()


def test_a_fixed_batch_model_refuses_another_batch_and_says_to_re_export() -> None:
    with pytest.raises(InputError, match=r"fixed batch of 2.*re-export it with a dynamic batch"):
        build(fake_api(), scaling_model((2, 3, 8, 8)), batch=(1, 4, 8))


def test_other_dynamic_dimensions_need_shapes_and_the_error_says_how() -> None:
    with pytest.raises(InputError, match=r"input 'images' has dynamic dimensions.*--shape images:"):
        build(fake_api(), scaling_model(("batch", 3, "height", "width")), batch=(1, 2, 4))


def test_shapes_give_the_range_of_every_dynamic_dimension() -> None:
    shapes = {"images": ((1, 3, 320, 320), (2, 3, 640, 640), (4, 3, 640, 640))}
    profile = build(fake_api(), scaling_model(("batch", 3, "height", "width")), shapes=shapes).facts.profiles[0]
    assert (profile.min, profile.opt, profile.max) == shapes["images"]


def test_shapes_override_the_batch_range_for_their_input() -> None:
    shapes = {"images": ((2, 3, 8, 8), (2, 3, 8, 8), (2, 3, 8, 8))}
    assert build(fake_api(), batch=(1, 4, 8), shapes=shapes).facts.profiles[0].max == (2, 3, 8, 8)


def test_shapes_for_an_input_the_model_lacks_are_refused_naming_its_inputs() -> None:
    with pytest.raises(InputError, match=r"\['input'\].*\['images'\]"):
        build(fake_api(), shapes={"input": ((1, 3, 8, 8),) * 3})


def test_shapes_that_change_a_fixed_dimension_are_refused() -> None:
    with pytest.raises(InputError, match="changes a fixed dimension"):
        build(fake_api(), shapes={"images": ((1, 3, 8, 8), (1, 3, 8, 8), (1, 4, 8, 8))})


def test_settings_refuse_a_batch_range_out_of_order() -> None:
    with pytest.raises(InputError, match="1 <= min <= opt <= max"):
        BuildSettings(batch=(4, 2, 8))


def test_settings_refuse_a_precision_the_builder_does_not_build() -> None:
    with pytest.raises(InputError, match="int8"):
        BuildSettings(precision="int8")


def test_settings_refuse_an_unknown_hardware_compatibility_level() -> None:
    with pytest.raises(InputError, match="ampere"):
        BuildSettings(hardware_compatibility="turing+")


# --- precision and strong typing --------------------------------------------------------------------------------


def test_fp16_sets_the_fp16_flag_where_the_builder_has_one() -> None:
    built = build(fake_api(version="10.3.0"), precision="fp16")
    assert "FP16" in plan_of(built)["build"]["flags"]
    assert built.facts.precision == "fp16"


def test_tensorrt_10_networks_are_not_created_strongly_typed() -> None:
    assert plan_of(build(fake_api(version="10.3.0")))["build"]["network_flags"] == 0


def test_strongly_typed_builders_get_a_strongly_typed_network_and_no_fp16_flag() -> None:
    api = fake_api(version="11.0.0")
    built = build(api, precision="fp16")
    strongly_typed = 1 << int(api.module.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert plan_of(built)["build"]["network_flags"] == strongly_typed
    assert "FP16" not in plan_of(built)["build"]["flags"]
    assert built.facts.precision == "fp16"


# --- workspace, compatibility, target ---------------------------------------------------------------------------


def test_the_workspace_limits_the_workspace_memory_pool() -> None:
    assert plan_of(build(fake_api(), workspace_bytes=1 << 28))["build"]["workspace"] == {"WORKSPACE": 1 << 28}


def test_version_compatible_sets_its_flag_and_keeps_the_lean_runtime_in_the_plan() -> None:
    built = build(fake_api(), version_compatible=True)
    flags = plan_of(built)["build"]["flags"]
    assert "VERSION_COMPATIBLE" in flags
    assert "EXCLUDE_LEAN_RUNTIME" not in flags
    assert built.facts.version_compatible is True


def test_a_hardware_compatibility_level_is_set_and_recorded() -> None:
    built = build(fake_api(), hardware_compatibility="ampere+")
    assert plan_of(built)["build"]["hardware_compatibility"] == "AMPERE_PLUS"
    assert built.facts.hardware_compatibility == "ampere+"


def test_tensorrt_for_rtx_refuses_a_hardware_compatibility_level_it_would_ignore() -> None:
    with pytest.raises(InputError, match="cannot build hardware-compatible"):
        build(fake_api(flavour="tensorrt_rtx", version="1.7.1"), hardware_compatibility="ampere+")


def test_tensorrt_for_rtx_builds_for_the_target_compute_capability() -> None:
    built = build(fake_api(flavour="tensorrt_rtx", version="1.7.1", compute_capability="8.6"), compute_capability="8.9")
    assert plan_of(built)["compute_capability"] == "8.9"
    assert built.facts.compute_capability == "8.9"


def test_tensorrt_builds_for_its_own_gpu_and_leaves_the_compute_capability_to_the_caller() -> None:
    built = build(fake_api(compute_capability="8.7"), compute_capability="8.9")
    assert plan_of(built)["compute_capability"] == "8.7"
    assert built.facts.compute_capability is None


def test_a_target_tensorrt_for_rtx_cannot_build_for_is_a_hardware_error_listing_those_it_can() -> None:
    with pytest.raises(HardwareError, match=r"compute capability 6\.1.*8\.6"):
        build(fake_api(flavour="tensorrt_rtx", version="1.7.1"), compute_capability="6.1")


# --- DLA --------------------------------------------------------------------------------------------------------


def test_a_dla_build_targets_the_core_with_gpu_fallback() -> None:
    built = build(fake_api(dla_cores=2), two_layer_model(), precision="fp16", dla_core=1)
    recorded = plan_of(built)["build"]
    assert (recorded["device"], recorded["dla_core"]) == ("DLA", 1)
    assert "GPU_FALLBACK" in recorded["flags"]
    assert built.facts.dla_core == 1


def test_a_dla_build_counts_the_layers_that_fall_back_to_the_gpu() -> None:
    assert build(fake_api(dla_cores=2), two_layer_model(), precision="fp16", dla_core=0).gpu_fallback_layers == 1


def test_a_gpu_build_reports_no_fallback_layers() -> None:
    assert build(fake_api(dla_cores=2), two_layer_model()).gpu_fallback_layers is None


def test_a_dla_core_the_device_lacks_is_a_hardware_error() -> None:
    with pytest.raises(HardwareError, match="DLA core 2 was asked for, but this device has 2 DLA cores"):
        build(fake_api(dla_cores=2), precision="fp16", dla_core=2)


def test_dla_refuses_fp32() -> None:
    with pytest.raises(InputError, match="DLA runs fp16 and int8"):
        build(fake_api(dla_cores=2), dla_core=0)


# --- failures -------------------------------------------------------------------------------------------------


def test_a_runtime_only_tensorrt_cannot_build() -> None:
    with pytest.raises(HardwareError, match="cannot build"):
        build(fake_api(flavour="tensorrt_lean", version="10.3.0"))


def test_an_operator_tensorrt_cannot_parse_is_a_package_error_naming_the_node() -> None:
    with pytest.raises(PackageError, match=r"node 'frob1' \(Frobnicate\): No importer registered"):
        build(fake_api(), custom_op_model())


def test_bytes_that_are_not_onnx_are_a_package_error() -> None:
    with pytest.raises(PackageError, match="could not parse the ONNX model: Failed to parse"):
        build(fake_api(), b"\x00not an onnx model")


def test_a_builder_that_cannot_start_is_a_hardware_error_quoting_tensorrt() -> None:
    api = fake_api()
    api.module.fake_builder_faults.builder_error = "CUDA initialization failure with error: 35"
    with pytest.raises(HardwareError, match=r"could not start its builder.*error: 35"):
        build(api)


def test_a_failed_build_is_a_modelrt_error_quoting_tensorrt() -> None:
    api = fake_api()
    api.module.fake_builder_faults.build_error = "Could not find any implementation for node scale_node"
    with pytest.raises(ModelRTError, match=r"could not build a fp32 engine.*any implementation for node") as raised:
        build(api)
    assert type(raised.value) is ModelRTError


def test_a_build_out_of_gpu_memory_is_a_hardware_error() -> None:
    api = fake_api()
    api.module.fake_builder_faults.build_error = (
        "Requested amount of GPU memory (8589934592 bytes) could not be allocated"
    )
    with pytest.raises(HardwareError, match="free GPU memory"):
        build(api)


# --- timing cache and progress --------------------------------------------------------------------------------


def test_the_timing_cache_is_returned_and_carried_into_the_next_build() -> None:
    api = fake_api()
    first = build_plan(api, scaling_model(), BuildSettings(), timing_cache=None)
    assert first.timing_cache is not None and ITimingCache.builds_recorded(first.timing_cache) == 1
    second = build_plan(api, scaling_model(), BuildSettings(), timing_cache=first.timing_cache)
    assert second.timing_cache is not None and ITimingCache.builds_recorded(second.timing_cache) == 2


def test_a_timing_cache_tensorrt_rejects_is_replaced_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelrt.trt"):
        built = build_plan(fake_api(), scaling_model(), BuildSettings(), timing_cache=b"stale bytes")
    assert built.timing_cache is not None and ITimingCache.builds_recorded(built.timing_cache) == 1
    assert "timing cache was not accepted" in caplog.text


def test_tensorrt_for_rtx_gets_no_timing_cache() -> None:
    assert build(fake_api(flavour="tensorrt_rtx", version="1.7.1")).timing_cache is None


def test_progress_forwards_tensorrt_phases_with_steps_done_and_total() -> None:
    steps: list[tuple[str, int, int]] = []
    build_plan(fake_api(), scaling_model(), BuildSettings(), timing_cache=None, progress=lambda *s: steps.append(s))
    phase = "Building engine"
    assert steps == [(phase, 0, 2), (phase, 1, 2), (phase, 2, 2), (phase, 2, 2)]


def test_without_a_progress_monitor_progress_reports_the_start_and_end_of_the_build() -> None:
    api = fake_api()
    del api.module.IProgressMonitor
    steps: list[tuple[str, int, int]] = []
    build_plan(api, scaling_model(), BuildSettings(), timing_cache=None, progress=lambda *s: steps.append(s))
    assert steps == [("building", 0, 1), ("building", 1, 1)]


def test_a_failing_progress_callback_cancels_the_build_and_its_error_is_raised() -> None:
    def interrupted(phase: str, done: int, total: int) -> None:
        if done == 1:
            raise RuntimeError("the progress bar broke")

    with pytest.raises(RuntimeError, match="the progress bar broke"):
        build_plan(fake_api(), scaling_model(), BuildSettings(), timing_cache=None, progress=interrupted)

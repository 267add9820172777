"""``OnnxSession``: metadata, thread-safe runs, close semantics, and input errors."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from modelrt.backend import TensorInfo
from modelrt.devices import Device
from modelrt.errors import HardwareError, InputError, ModelClosedError
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.session import OnnxSession, tensor_info

CPU = Device.parse("cpu")


@pytest.fixture
def affine_session(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> OnnxSession:
    return backend.load(make_artifact(models.affine()), CPU, RunOptions(threads=1, warmup=0))


def test_inputs_and_outputs_keep_symbolic_dims_as_strings_and_name_dtypes_like_numpy(
    affine_session: OnnxSession,
) -> None:
    assert list(affine_session.inputs) == [TensorInfo("x", ("batch", 3), "float32")]
    assert list(affine_session.outputs) == [TensorInfo("y", ("batch", 3), "float32")]


@pytest.mark.parametrize(
    ("ort_type", "dtype"),
    [
        ("tensor(float16)", "float16"),
        ("tensor(uint8)", "uint8"),
        ("tensor(int64)", "int64"),
        ("tensor(bool)", "bool"),
    ],
)
def test_tensor_info_maps_onnxruntime_type_names_to_numpy_names(ort_type: str, dtype: str) -> None:
    assert tensor_info(SimpleNamespace(name="t", shape=[1], type=ort_type)).dtype == dtype


def test_tensor_info_keeps_unknown_dims_as_none() -> None:
    info = tensor_info(SimpleNamespace(name="t", shape=[None, "height", 4], type="tensor(float)"))
    assert info.shape == (None, "height", 4)


def test_run_returns_every_output_by_name(affine_session: OnnxSession) -> None:
    outputs = affine_session.run({"x": np.zeros((1, 3), np.float32)})
    assert list(outputs) == ["y"]
    np.testing.assert_array_equal(outputs["y"], np.ones((1, 3), np.float32))


def test_concurrent_runs_give_the_same_results_as_serial_runs(affine_session: OnnxSession) -> None:
    rng = np.random.default_rng(7)
    batches = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(8 * 200)]
    serial = [affine_session.run({"x": batch})["y"] for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda batch: affine_session.run({"x": batch})["y"], batches))
    for expected, got in zip(serial, concurrent, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_run_after_close_raises_model_closed_error(affine_session: OnnxSession) -> None:
    affine_session.close()
    with pytest.raises(ModelClosedError, match=r"closed; load the model again"):
        affine_session.run({"x": np.zeros((1, 3), np.float32)})


def test_close_twice_is_harmless(affine_session: OnnxSession) -> None:
    affine_session.close()
    affine_session.close()
    with pytest.raises(ModelClosedError):
        affine_session.run({"x": np.zeros((1, 3), np.float32)})


def test_close_waits_for_runs_in_flight_and_releases_the_session_after_them() -> None:
    started, release = threading.Event(), threading.Event()
    events: list[str] = []

    class BlockingSession:
        def get_inputs(self) -> list[Any]:
            return [SimpleNamespace(name="x", shape=[1], type="tensor(float)")]

        def get_outputs(self) -> list[Any]:
            return [SimpleNamespace(name="y", shape=[1], type="tensor(float)")]

        def run(self, names: list[str], feed: dict[str, Any]) -> list[Any]:
            started.set()
            release.wait()
            events.append("run finished")
            return [feed["x"]]

    def close_and_record() -> None:
        session.close()
        events.append("closed")

    session = OnnxSession(BlockingSession(), device=CPU, provider="CPUExecutionProvider")
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(session.run, {"x": np.ones(1, np.float32)})
        assert started.wait(timeout=10)
        closing = pool.submit(close_and_record)
        deadline = time.monotonic() + 10  # a guard against hanging, not a timing assertion
        while "closed" not in repr(session):
            assert time.monotonic() < deadline, "close() never started"
        release.set()
        np.testing.assert_array_equal(running.result(timeout=10)["y"], [1.0])
        closing.result(timeout=10)
    assert events == ["run finished", "closed"]
    with pytest.raises(ModelClosedError):
        session.run({"x": np.ones(1, np.float32)})


def test_a_wrong_dimension_is_an_input_error_naming_the_expected_shape(affine_session: OnnxSession) -> None:
    with pytest.raises(InputError, match=r"expects x: \['batch', 3\] float32 but got x: \[2, 4\] float32"):
        affine_session.run({"x": np.zeros((2, 4), np.float32)})


def test_a_wrong_rank_is_an_input_error(affine_session: OnnxSession) -> None:
    with pytest.raises(InputError, match=r"got x: \[3\] float32.*Invalid rank"):
        affine_session.run({"x": np.zeros(3, np.float32)})


def test_a_wrong_dtype_is_an_input_error_naming_both_dtypes(affine_session: OnnxSession) -> None:
    with pytest.raises(InputError, match=r"float32 but got x: \[1, 3\] float64"):
        affine_session.run({"x": np.zeros((1, 3), np.float64)})


def test_a_wrong_input_name_is_an_input_error_naming_the_expected_one(affine_session: OnnxSession) -> None:
    with pytest.raises(InputError, match=r"expects x: .* but got images: \[1, 3\]"):
        affine_session.run({"images": np.zeros((1, 3), np.float32)})


def test_input_errors_are_value_errors_too(affine_session: OnnxSession) -> None:
    with pytest.raises(ValueError):
        affine_session.run({"x": np.zeros((1, 5), np.float32)})


def test_the_session_stays_usable_after_an_input_error(affine_session: OnnxSession) -> None:
    with pytest.raises(InputError):
        affine_session.run({"x": np.zeros((1, 5), np.float32)})
    np.testing.assert_array_equal(affine_session.run({"x": np.zeros((1, 3), np.float32)})["y"], np.ones((1, 3)))


def test_running_out_of_memory_is_a_hardware_error_not_an_input_error() -> None:
    class Exhausted:
        def get_inputs(self) -> list[Any]:
            return [SimpleNamespace(name="x", shape=["batch", 3], type="tensor(float)")]

        def get_outputs(self) -> list[Any]:
            return [SimpleNamespace(name="y", shape=["batch", 3], type="tensor(float)")]

        def run(self, names: list[str], feed: dict[str, Any]) -> list[Any]:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory")

    session = OnnxSession(Exhausted(), device=CPU, provider="CPUExecutionProvider")
    with pytest.raises(HardwareError, match=r"ran out of memory.*smaller batch"):
        session.run({"x": np.zeros((100000, 3), np.float32)})

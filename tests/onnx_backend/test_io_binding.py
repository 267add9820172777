"""I/O binding with the real CPU onnxruntime: the binding code CUDA runs by default, asked for on the CPU.

``extras={"onnxruntime": {"io_binding": True}}`` on the CPU runs exactly the ``BindingRunner`` that serves
``cuda:N`` (device values filled in place, outputs bound and copied back once), so these tests show it
gives the plain ``run`` path's outputs, bit for bit, whatever the batch, shape and number of threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import onnxruntime
import pytest

from modelrt.devices import Device
from modelrt.errors import InputError, ModelClosedError
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.io_binding import BindingRunner, Placement
from modelrt_onnx.session import OnnxSession

CPU = Device.parse("cpu")
OUTPUTS = ("y", "sums", "best")


def options(**extras: Any) -> RunOptions:
    return RunOptions(threads=1, extras={"onnxruntime": extras})


@pytest.fixture
def sessions(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> tuple[OnnxSession, OnnxSession]:
    """The multi-output model loaded twice on the CPU: plain ``run``, and through I/O binding."""
    artifact = make_artifact(models.multi_output())
    return backend.load(artifact, CPU, options()), backend.load(artifact, CPU, options(io_binding=True))


def batch(rows: int, width: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).standard_normal((rows, width)).astype(np.float32)}


def assert_same_outputs(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(actual) == list(expected) == list(OUTPUTS)
    for name in OUTPUTS:
        assert actual[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(actual[name], expected[name])


def test_the_cpu_runs_plainly_unless_io_binding_is_asked_for(sessions: tuple[OnnxSession, OnnxSession]) -> None:
    plain, bound = sessions
    assert plain.io_binding is None
    assert bound.io_binding is not None
    assert bound.io_binding.placement == Placement("cpu", 0)
    assert bound.io_binding.staging == "none: on the CPU"


def test_io_binding_can_be_turned_off_and_rejects_anything_but_auto_true_or_false(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    artifact = make_artifact(models.multi_output())
    assert backend.load(artifact, CPU, options(io_binding=False)).io_binding is None
    assert backend.load(artifact, CPU, options(io_binding="auto")).io_binding is None
    with pytest.raises(InputError, match="io_binding must be 'auto', true or false, not 'yes'"):
        backend.load(artifact, CPU, options(io_binding="yes"))


@pytest.mark.parametrize("rows", [1, 4])
def test_io_binding_gives_the_plain_paths_outputs_for_batch_1_and_4(
    sessions: tuple[OnnxSession, OnnxSession], rows: int
) -> None:
    plain, bound = sessions
    feed = batch(rows)
    assert_same_outputs(bound.run(feed), plain.run(feed))


def test_a_new_input_shape_reallocates_the_buffers_and_the_old_one_still_works(
    sessions: tuple[OnnxSession, OnnxSession],
) -> None:
    plain, bound = sessions
    for rows, width, seed in [(1, 3, 0), (4, 7, 1), (4, 7, 2), (2, 5, 3), (1, 3, 4)]:
        feed = batch(rows, width, seed)
        assert_same_outputs(bound.run(feed), plain.run(feed))


def test_eight_threads_through_io_binding_give_the_serial_plain_outputs(
    sessions: tuple[OnnxSession, OnnxSession],
) -> None:
    plain, bound = sessions
    feeds = [batch(1 if index % 2 else 4, seed=index) for index in range(64)]
    serial = [plain.run(feed) for feed in feeds]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(bound.run, feeds))
    for expected, actual in zip(serial, parallel, strict=True):
        assert_same_outputs(actual, expected)


def test_wrong_input_names_and_dtypes_are_the_same_input_errors_as_with_plain_run(
    sessions: tuple[OnnxSession, OnnxSession],
) -> None:
    for session in sessions:
        with pytest.raises(InputError, match="the model expects"):
            session.run({"images": np.zeros((1, 3), np.float32)})
        with pytest.raises(InputError, match="tensor\\(double\\)"):
            session.run({"x": np.zeros((1, 3), np.float64)})


def test_a_non_contiguous_input_is_read_as_its_values(sessions: tuple[OnnxSession, OnnxSession]) -> None:
    plain, bound = sessions
    strided = {"x": np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]}
    assert_same_outputs(bound.run(strided), plain.run({"x": np.ascontiguousarray(strided["x"])}))


def test_a_closed_session_refuses_runs_through_io_binding(sessions: tuple[OnnxSession, OnnxSession]) -> None:
    _, bound = sessions
    bound.run(batch(1))
    bound.close()
    assert bound.io_binding is None
    with pytest.raises(ModelClosedError):
        bound.run(batch(1))


class CountingSession:
    """A real ``InferenceSession`` that counts the ``IOBinding`` objects asked of it."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.bindings = 0

    def io_binding(self) -> Any:
        self.bindings += 1
        return self.session.io_binding()

    def run_with_iobinding(self, binding: Any) -> None:
        self.session.run_with_iobinding(binding)


@pytest.fixture
def counted(models: Any) -> tuple[CountingSession, BindingRunner]:
    real = onnxruntime.InferenceSession(str(models.multi_output()), providers=["CPUExecutionProvider"])
    session = CountingSession(real)
    return session, BindingRunner(onnxruntime, session, ["x"], OUTPUTS, Placement("cpu", 0))


def test_serial_calls_reuse_one_binding(counted: tuple[CountingSession, BindingRunner]) -> None:
    session, runner = counted
    for rows in (1, 4, 1, 4):
        runner.run(batch(rows))
    assert session.bindings == 1


def test_outputs_kept_on_the_device_are_not_overwritten_by_the_next_call(
    counted: tuple[CountingSession, BindingRunner],
) -> None:
    _, runner = counted
    first_feed, second_feed = batch(4, seed=1), batch(4, seed=2)
    first = runner.run(first_feed, outputs_on_device=True)
    runner.run(second_feed, outputs_on_device=True)
    assert [value.device_name() for value in first] == ["cpu"] * 3
    np.testing.assert_array_equal(first[0].numpy(), 2 * first_feed["x"] + 1)
    np.testing.assert_array_equal(first[2].numpy(), np.argmax(first_feed["x"], axis=1))

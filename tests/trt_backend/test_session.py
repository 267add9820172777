"""``TensorRTSession``: checked inputs, a pool of execution slots, CUDA graphs, and a close that frees all."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from modelrt.backend import Session, TensorInfo
from modelrt.devices import Device
from modelrt.errors import InputError, ModelClosedError, ModelRTError
from modelrt_trt.binding import TrtModule
from modelrt_trt.cuda import CudaRuntime
from modelrt_trt.engine_runtime import deserialize_engine
from modelrt_trt.session import TensorRTSession
from modelrt_trt.testing.fake_cuda import FakeCuda
from modelrt_trt.testing.fake_tensorrt import FakeTrtState

OpenSession = Callable[..., TensorRTSession]
SCALE = 2.0


def images(batch: int, offset: float = 0.0) -> np.ndarray:
    return (np.arange(batch * 3 * 4 * 4, dtype=np.float32).reshape(batch, 3, 4, 4) + offset) / 7


def test_a_session_describes_its_tensors_with_run_time_dimensions_named(open_session: OpenSession) -> None:
    session = open_session()
    assert isinstance(session, Session)
    assert session.inputs == (TensorInfo("images", ("batch", 3, 4, 4), "float32"),)
    assert session.outputs == (TensorInfo("scores", ("batch", 3, 4, 4), "float32"),)
    assert (session.device, session.provider) == (Device.parse("cuda:0"), "TensorRT 10.3.0")


@pytest.mark.parametrize("batch", [1, 8])
def test_run_gives_the_engines_outputs_for_a_batch_within_the_profile(open_session: OpenSession, batch: int) -> None:
    batch_images = images(batch)
    outputs = open_session().run({"images": batch_images})
    assert list(outputs) == ["scores"]
    np.testing.assert_array_equal(outputs["scores"], SCALE * batch_images)


def test_buffers_grow_for_a_larger_batch_and_serve_smaller_ones_after(
    open_session: OpenSession, fake_cuda: FakeCuda
) -> None:
    session = open_session()
    for batch in (1, 8, 3):
        np.testing.assert_array_equal(session.run({"images": images(batch)})["scores"], SCALE * images(batch))
    assert fake_cuda.live_device_allocations == 2  # one per tensor: the batch-1 buffers were replaced, not kept


def test_outputs_are_fresh_arrays_that_later_runs_do_not_change(open_session: OpenSession) -> None:
    session = open_session()
    first = session.run({"images": images(2)})["scores"]
    session.run({"images": images(2, offset=100.0)})
    np.testing.assert_array_equal(first, SCALE * images(2))
    assert first.flags.owndata and first.flags.writeable


def test_non_contiguous_inputs_are_accepted(open_session: OpenSession) -> None:
    strided = images(4)[::2]
    np.testing.assert_array_equal(open_session().run({"images": strided})["scores"], SCALE * strided)


def test_a_batch_beyond_the_profile_runs_in_chunks_of_its_largest_batch(
    open_session: OpenSession, trt_state: FakeTrtState
) -> None:
    out = open_session().run({"images": images(19)})["scores"]
    np.testing.assert_array_equal(out, SCALE * images(19))
    assert trt_state.calls.count("execute") == 3  # 8 + 8 + 3


def test_a_batch_outside_a_profile_that_cannot_be_chunked_is_an_input_error_naming_its_bounds(
    open_session: OpenSession, make_plan: Callable[..., bytes], trt_state: FakeTrtState
) -> None:
    session = open_session(make_plan(profile=((2, 3, 4, 4), (4, 3, 4, 4), (8, 3, 4, 4))))
    with pytest.raises(InputError, match=r"\(9, 3, 4, 4\), outside .* from \(2, 3, 4, 4\) to \(8, 3, 4, 4\).*--batch"):
        session.run({"images": images(9)})
    assert "execute" not in trt_state.calls


def test_a_fixed_dimension_of_another_size_is_an_input_error(open_session: OpenSession) -> None:
    with pytest.raises(InputError, match=r"'images' must have shape \(\?, 3, 4, 4\), got \(1, 3, 5, 4\)"):
        open_session().run({"images": np.zeros((1, 3, 5, 4), np.float32)})


def test_a_wrong_dtype_is_an_input_error_naming_both(open_session: OpenSession) -> None:
    with pytest.raises(InputError, match=r"'images' must be float32, got float64; convert it with \.astype"):
        open_session().run({"images": images(1).astype(np.float64)})


def test_a_wrong_rank_is_an_input_error_naming_both(open_session: OpenSession) -> None:
    with pytest.raises(InputError, match=r"must have 4 dimensions \(\?, 3, 4, 4\), got shape \(3, 4, 4\)"):
        open_session().run({"images": images(1)[0]})


def test_a_wrong_input_name_is_an_input_error_naming_expected_and_given(open_session: OpenSession) -> None:
    with pytest.raises(InputError, match=r"takes the inputs images \(float32 \(\?, 3, 4, 4\)\); given: missing images; "
                       r"unknown pixels"):  # fmt: skip
        open_session().run({"pixels": images(1)})


def test_a_failed_input_check_leaves_the_session_usable(open_session: OpenSession) -> None:
    session = open_session()
    with pytest.raises(InputError):
        session.run({"images": np.zeros((1, 3, 5, 4), np.float32)})
    np.testing.assert_array_equal(session.run({"images": images(1)})["scores"], SCALE * images(1))


def test_eight_threads_give_the_serial_results_through_two_contexts(
    open_session: OpenSession, trt_state: FakeTrtState
) -> None:
    session = open_session(contexts=2)
    batches = [images(1 + index % 8, offset=index) for index in range(48)]
    serial = [session.run({"images": batch})["scores"] for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda batch: session.run({"images": batch})["scores"], batches))
    for expected, got in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert 1 <= trt_state.calls.count("execution_context") <= 2


def test_a_static_engine_replays_a_cuda_graph_from_the_second_call(
    open_session: OpenSession, static_plan: bytes, fake_cuda: FakeCuda, trt_state: FakeTrtState
) -> None:
    session = open_session(static_plan)
    assert session.provider == "TensorRT 10.3.0 + CUDA graphs"
    session.run({"images": images(2)})
    assert fake_cuda.graphs_launched == 0
    for call in range(1, 4):
        np.testing.assert_array_equal(
            session.run({"images": images(2, offset=call)})["scores"], SCALE * images(2, call)
        )
        assert fake_cuda.graphs_launched == call
    assert trt_state.calls.count("execute") == 2  # the plain first run, and the one captured into the graph


def test_the_cuda_graph_path_gives_the_plain_paths_results(open_session: OpenSession, static_plan: bytes) -> None:
    with_graphs, plain = open_session(static_plan), open_session(static_plan, cuda_graphs=False)
    for offset in (0.0, 3.0, -5.0):
        batch = {"images": images(2, offset)}
        np.testing.assert_array_equal(with_graphs.run(batch)["scores"], plain.run(batch)["scores"])


def test_cuda_graphs_can_be_turned_off(open_session: OpenSession, static_plan: bytes, fake_cuda: FakeCuda) -> None:
    session = open_session(static_plan, cuda_graphs=False)
    for _ in range(3):
        session.run({"images": images(2)})
    assert (session.provider, fake_cuda.graphs_launched) == ("TensorRT 10.3.0", 0)


def test_an_engine_with_dynamic_shapes_never_captures(open_session: OpenSession, trt_state: FakeTrtState) -> None:
    session = open_session(cuda_graphs=True)
    for _ in range(3):
        session.run({"images": images(2)})
    assert "cudaStreamBeginCapture" not in trt_state.calls


def test_a_failed_capture_falls_back_to_plain_runs_and_says_so_once(
    open_session: OpenSession, static_plan: bytes, fake_cuda: FakeCuda, caplog: pytest.LogCaptureFixture
) -> None:
    fake_cuda.fail_capture = True
    session = open_session(static_plan)
    with caplog.at_level(logging.INFO, logger="modelrt.trt"):
        for offset in range(4):
            np.testing.assert_array_equal(
                session.run({"images": images(2, offset)})["scores"], SCALE * images(2, offset)
            )
    said = [record.getMessage() for record in caplog.records if "CUDA graph" in record.getMessage()]
    assert len(said) == 1 and "cudaErrorStreamCaptureInvalidated" in said[0]
    assert (session.provider, fake_cuda.graphs_launched, fake_cuda.live_graphs) == ("TensorRT 10.3.0", 0, 0)


def test_a_failed_enqueue_is_a_modelrt_error_quoting_tensorrt(open_session: OpenSession, trt_api: TrtModule) -> None:
    session = open_session()
    trt_api.module.fake_runtime_faults.execute_error = "IExecutionContext::enqueueV3: Error Code 2: out of memory"
    with pytest.raises(ModelRTError, match=r"could not run this engine on cuda:0: TensorRT said: .*Error Code 2"):
        session.run({"images": images(1)})
    trt_api.module.fake_runtime_faults.execute_error = None
    np.testing.assert_array_equal(session.run({"images": images(1)})["scores"], SCALE * images(1))


def test_a_cuda_failure_mid_run_retires_that_slot_and_frees_its_memory(
    open_session: OpenSession, fake_cuda: FakeCuda
) -> None:
    session = open_session(contexts=1)
    session.run({"images": images(1)})
    fake_cuda.fail["cudaStreamSynchronize"] = fake_cuda.cudaError_t.cudaErrorLaunchFailure
    with pytest.raises(ModelRTError, match="cudaStreamSynchronize failed with cudaErrorLaunchFailure"):
        session.run({"images": images(1)})
    assert (fake_cuda.live_device_allocations, fake_cuda.live_host_allocations, fake_cuda.streams) == (0, 0, 0)
    del fake_cuda.fail["cudaStreamSynchronize"]
    np.testing.assert_array_equal(session.run({"images": images(1)})["scores"], SCALE * images(1))


def test_a_context_that_cannot_be_made_fails_the_load_quoting_tensorrt(
    open_session: OpenSession, trt_api: TrtModule
) -> None:
    trt_api.module.fake_runtime_faults.no_context = True
    with pytest.raises(ModelRTError, match=r"could not create an execution context.*out of memory.*contexts"):
        open_session()


def test_close_frees_all_device_and_pinned_memory_graphs_and_streams(
    open_session: OpenSession, static_plan: bytes, fake_cuda: FakeCuda
) -> None:
    session = open_session(static_plan, contexts=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda offset: session.run({"images": images(2, offset)}), range(16)))
    assert fake_cuda.live_device_allocations and fake_cuda.live_host_allocations and fake_cuda.streams
    session.close()
    live = (
        fake_cuda.live_device_allocations,
        fake_cuda.live_host_allocations,
        fake_cuda.streams,
        fake_cuda.live_graphs,
    )
    assert live == (0, 0, 0, 0)


def test_close_releases_the_engine_and_its_runtime(trt_api: TrtModule, make_plan: Callable[..., bytes]) -> None:
    handle = deserialize_engine(trt_api, make_plan(), Device.parse("cuda:0"), CudaRuntime())
    engine, runtime = weakref.ref(handle.engine), weakref.ref(handle.runtime)
    session = TensorRTSession(trt_api, handle, Device.parse("cuda:0"))
    session.run({"images": images(1)})
    del handle
    session.close()
    gc.collect()
    assert engine() is None and runtime() is None


def test_close_is_idempotent_and_later_runs_raise_model_closed(open_session: OpenSession) -> None:
    session = open_session()
    session.close()
    session.close()
    with pytest.raises(ModelClosedError, match=r"TensorRT session \(TensorRT 10\.3\.0 on cuda:0\) was closed"):
        session.run({"images": images(1)})
    assert "closed" in repr(session)


def test_fewer_than_one_context_is_an_input_error(open_session: OpenSession) -> None:
    with pytest.raises(InputError, match="at least one execution context"):
        open_session(contexts=0)

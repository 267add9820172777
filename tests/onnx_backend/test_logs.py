"""onnxruntime's log messages reach the ``modelrt.onnx`` logger, at levels that match their meaning."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from typing import Any

import onnxruntime
import pytest

from modelrt.devices import Device
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend
from modelrt_onnx.logs import ort_severity_for, python_level_for, route_ort_logging, stderr_messages


@pytest.mark.parametrize(
    ("severity", "level"),
    [(0, logging.DEBUG), (1, logging.DEBUG), (2, logging.WARNING), (3, logging.ERROR), (4, logging.CRITICAL)],
)
def test_onnxruntime_severities_map_to_logging_levels(severity: int, level: int) -> None:
    assert python_level_for(severity) == level


@pytest.mark.parametrize(
    ("level", "severity"),
    [(logging.DEBUG, 1), (logging.INFO, 2), (logging.WARNING, 2), (logging.ERROR, 3), (logging.CRITICAL, 4)],
)
def test_a_logger_level_asks_onnxruntime_only_for_what_it_would_show(level: int, severity: int) -> None:
    assert ort_severity_for(level) == severity


HAS_CALLBACK = hasattr(onnxruntime, "set_default_logger_callback")


def test_routing_reports_whether_the_installed_onnxruntime_offers_a_log_callback() -> None:
    assert route_ort_logging(onnxruntime) is HAS_CALLBACK


@pytest.mark.skipif(not HAS_CALLBACK, reason="this onnxruntime has no log callback; messages go to stderr")
def test_an_onnxruntime_warning_during_load_reaches_the_modelrt_onnx_logger(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelrt.onnx"):
        backend.load(make_artifact(models.with_unused_initializer()), Device.parse("cpu"), RunOptions(threads=1))
    routed = [record for record in caplog.records if record.name == "modelrt.onnx" and "leftover" in record.message]
    assert routed and routed[0].levelno == logging.WARNING
    assert "not used by any node" in routed[0].message


def test_onnxruntime_messages_below_the_logger_level_are_not_emitted(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    caplog: pytest.LogCaptureFixture,
    onnx_logger_level: Any,
) -> None:
    onnx_logger_level(logging.ERROR)
    with caplog.at_level(logging.ERROR, logger="modelrt.onnx"):
        backend.load(make_artifact(models.with_unused_initializer()), Device.parse("cpu"), RunOptions(threads=1))
    assert not [record for record in caplog.records if "leftover" in record.message]


def test_an_onnxruntime_warning_below_the_logger_level_is_not_written_to_stderr(
    backend: OnnxRuntimeBackend,
    models: Any,
    make_artifact: Any,
    capfd: pytest.CaptureFixture[str],
    onnx_logger_level: Any,
) -> None:
    onnx_logger_level(logging.ERROR)
    backend.load(make_artifact(models.with_unused_initializer()), Device.parse("cpu"), RunOptions(threads=1))
    assert "leftover" not in capfd.readouterr().err


def test_without_a_callback_only_the_severity_is_set() -> None:
    severities: list[int] = []
    old_runtime = SimpleNamespace(set_default_logger_severity=severities.append)
    assert route_ort_logging(old_runtime) is False  # type: ignore[arg-type]
    assert len(severities) == 1


def test_the_callback_is_installed_once_and_the_severity_refreshed_on_later_loads(
    onnx_logger_level: Any,
) -> None:
    installed: list[int] = []
    severities: list[int] = []
    runtime = SimpleNamespace(
        set_default_logger_callback=lambda callback, severity: installed.append(severity),
        set_default_logger_severity=severities.append,
    )
    onnx_logger_level(logging.WARNING)
    route_ort_logging(runtime)  # type: ignore[arg-type]
    onnx_logger_level(logging.ERROR)
    route_ort_logging(runtime)  # type: ignore[arg-type]
    assert installed == [2] and severities == [3]


def test_the_callback_swallows_a_failing_handler(onnx_logger_level: Any) -> None:
    callbacks: list[Any] = []
    runtime = SimpleNamespace(
        set_default_logger_callback=lambda callback, severity: callbacks.append(callback),
        set_default_logger_severity=lambda severity: None,
    )
    route_ort_logging(runtime)  # type: ignore[arg-type]

    class Exploding(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("handler is broken")

        def handleError(self, record: logging.LogRecord) -> None:
            raise RuntimeError("handler is broken")

    logger = logging.getLogger("modelrt.onnx")
    handler = Exploding()
    logger.addHandler(handler)
    onnx_logger_level(logging.WARNING)
    try:
        callbacks[0](2, "onnxruntime", "", "graph.cc:1", "a warning")
    finally:
        logger.removeHandler(handler)


# ------------------------------------------------------------------------- stderr, without a callback

ORT_LINES = (
    "\x1b[0;93m2026-12-03 02:48:18.80 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:856 operator()] "
    "No registered plugin EP device found for 'CUDAExecutionProvider' with device_id=0\x1b[m\n"
    "\x1b[1;31m2026-12-03 02:48:18.80 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
    "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared "
    "object file\x1b[m\n"
    "Please follow https://onnxruntime.ai/docs/install/#cuda-and-cudnn to install CUDA.\n"
)


def test_onnxruntimes_stderr_lines_are_read_and_still_reach_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with stderr_messages() as messages:
        os.write(2, ORT_LINES.encode())
    assert messages == [
        "No registered plugin EP device found for 'CUDAExecutionProvider' with device_id=0",
        "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared "
        "object file",
    ]
    assert capfd.readouterr().err == ORT_LINES


def test_stderr_is_given_back_when_the_block_raises(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), stderr_messages():
        os.write(2, b"during\n")
        raise RuntimeError("session failed")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "during\nafter\n"

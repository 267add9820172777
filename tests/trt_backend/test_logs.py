"""TensorRT's log goes to ``modelrt.trt`` at the matching level, and what it says on a thread is kept for errors."""

from __future__ import annotations

import logging
import threading

import pytest

from modelrt_trt.logs import make_logger, quoted
from modelrt_trt.testing.fake_tensorrt import make_fake_tensorrt


@pytest.fixture
def trt() -> object:
    return make_fake_tensorrt()


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("INTERNAL_ERROR", logging.CRITICAL),
        ("ERROR", logging.ERROR),
        ("WARNING", logging.WARNING),
        ("INFO", logging.DEBUG),
        ("VERBOSE", logging.DEBUG),
    ],
)
def test_each_severity_is_logged_at_its_level(
    trt: object, severity: str, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelrt.trt")
    make_logger(trt).log(getattr(trt.ILogger.Severity, severity), "said")  # type: ignore[attr-defined]
    assert [(record.name, record.levelno, record.message) for record in caplog.records] == [
        ("modelrt.trt", level, "said")
    ]


def test_one_logger_per_module(trt: object) -> None:
    assert make_logger(trt) is make_logger(trt)


def test_a_capture_keeps_the_warnings_and_errors_logged_on_its_own_thread(trt: object) -> None:
    routing = make_logger(trt)
    severity = trt.ILogger.Severity  # type: ignore[attr-defined]
    with routing.capture() as said:
        routing.log(severity.INFO, "building layer 3")
        routing.log(severity.ERROR, "plan was built for another GPU")
        other = threading.Thread(target=routing.log, args=(severity.ERROR, "another thread's error"))
        other.start()
        other.join()
    routing.log(severity.ERROR, "after the block")
    assert said == ["plan was built for another GPU"]
    assert quoted(said) == "TensorRT said: plan was built for another GPU"
    assert quoted([]) == "TensorRT logged no reason"


def test_known_noise_is_debug_and_never_quoted(trt: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="modelrt.trt")
    routing = make_logger(trt)
    with routing.capture() as said:
        routing.log(trt.ILogger.Severity.INTERNAL_ERROR, "Thread context has not been set! Using global log stream.")  # type: ignore[attr-defined]
    assert said == []
    assert caplog.records[0].levelno == logging.DEBUG

"""TensorRT's log, routed into the ``modelrt.trt`` logger and kept for error messages.

TensorRT reports most failures only through its ``ILogger`` and a ``None`` return (a plan built for
another GPU: ``deserialize_cuda_engine`` returns ``None`` and logs why). So every TensorRT object modelrt
makes gets one ``RoutingLogger``, which forwards each message to ``modelrt.trt`` at the matching level and
keeps the warnings and errors of the calling thread while a ``capture()`` block runs; the typed error
raised for a ``None`` return quotes them.

Severity mapping: INTERNAL_ERROR → CRITICAL, ERROR → ERROR, WARNING → WARNING, INFO and VERBOSE → DEBUG
(INFO is TensorRT's running commentary on a build, dozens of lines per engine). Messages known to be
noise whatever their severity (``NOISE``) go to DEBUG and are never quoted in errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LOGGER_NAME", "NOISE", "make_logger", "python_level_for", "quoted"]

LOGGER_NAME = "modelrt.trt"
logger = logging.getLogger(LOGGER_NAME)

_LEVEL_BY_SEVERITY_NAME = {
    "INTERNAL_ERROR": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARNING": logging.WARNING,
    "INFO": logging.DEBUG,
    "VERBOSE": logging.DEBUG,
}
#: TensorRT for RTX logs this as an INTERNAL_ERROR when its logger is first used from a new thread, and
#: then works normally: it describes TensorRT's own log routing, not a failure.
NOISE = ("Thread context has not been set",)
#: A captured message is quoted in an error; a huge one must not flood it.
_MAX_CAPTURED_CHARS = 600
_MAX_CAPTURED_MESSAGES = 20


def python_level_for(severity: Any) -> int:
    """The ``logging`` level of a TensorRT severity (an ``ILogger.Severity`` member, or its name)."""
    name = getattr(severity, "name", str(severity)).rsplit(".", 1)[-1]
    return _LEVEL_BY_SEVERITY_NAME.get(name, logging.WARNING)


def make_logger(trt: Any) -> Any:
    """A ``trt.ILogger`` that routes into ``modelrt.trt``; one per TensorRT module, made on first use.

    The class derives from the module's own ``ILogger`` (TensorRT calls back into it from C++), so it is
    made here, after ``trt`` was imported, rather than at import time.
    """
    existing = getattr(trt, "_modelrt_logger", None)
    if existing is not None:
        return existing

    class RoutingLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self._captures = threading.local()

        def log(self, severity: Any, msg: str) -> None:
            level = logging.DEBUG if msg.startswith(NOISE) else python_level_for(severity)
            logger.log(level, "%s", msg)
            if level >= logging.WARNING:
                for captured in getattr(self._captures, "lists", ()):
                    if len(captured) < _MAX_CAPTURED_MESSAGES:
                        captured.append(msg if len(msg) <= _MAX_CAPTURED_CHARS else msg[:_MAX_CAPTURED_CHARS] + "...")

        @contextmanager
        def capture(self) -> Iterator[list[str]]:
            """The warnings and errors TensorRT logs on this thread while the block runs."""
            lists = self._captures.__dict__.setdefault("lists", [])
            captured: list[str] = []
            lists.append(captured)
            try:
                yield captured
            finally:
                lists.remove(captured)

    routing = RoutingLogger()
    trt._modelrt_logger = routing
    return routing


def quoted(messages: list[str]) -> str:
    """TensorRT's captured messages as the tail of an error message; a note when it logged nothing."""
    if not messages:
        return "TensorRT logged no reason"
    return "TensorRT said: " + " | ".join(messages)

"""Routes onnxruntime's own log messages into the ``modelrt.onnx`` logger.

onnxruntime writes to stderr by default. Recent builds (1.32 has it; older ones do not) offer
``set_default_logger_callback(callback, severity)``, a process-wide hook that receives the messages of
every session; modelrt installs it on the first load and forwards each message to ``modelrt.onnx``.
Where the installed onnxruntime has no callback, messages keep going to stderr, and modelrt only limits
what onnxruntime emits (``set_default_logger_severity``) to what the ``modelrt.onnx`` logger would show.

Severity mapping: onnxruntime's INFO messages describe its internals (thread pools, graph
transformers; dozens per session), so they arrive at DEBUG; WARNING, ERROR and FATAL keep their
meaning. onnxruntime's VERBOSE level is never requested: it needs a debug build to say anything more.

``captured_messages()`` also hands the warnings and errors emitted on the calling thread to the caller
while a block runs: a silent fallback from CUDA to the CPU is only ever explained in such a message
(``Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 12.* ...``), and the error modelrt
raises quotes it.

Limits (onnxruntime's, documented with the callback): messages emitted on onnxruntime's own worker
threads, and messages logged while the callback runs, still go to stderr, because taking the GIL there
could deadlock.

An onnxruntime without the callback (onnxruntime-gpu 1.31, the newest CUDA build on PyPI as this is
written) explains a fallback only on stderr. ``stderr_messages()`` keeps a copy of what the process writes
to file descriptor 2 while a session is created on CUDA, writes it on to the real stderr afterwards
(nothing is lost; other threads' output in that window comes out just after), and hands the caller
onnxruntime's warning and error lines from it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = [
    "LOGGER_NAME",
    "captured_messages",
    "current_severity",
    "ort_severity_for",
    "python_level_for",
    "route_ort_logging",
    "stderr_messages",
]

LOGGER_NAME = "modelrt.onnx"
logger = logging.getLogger(LOGGER_NAME)

# onnxruntime severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal.
_ORT_INFO, _ORT_WARNING, _ORT_ERROR, _ORT_FATAL = 1, 2, 3, 4

_PYTHON_LEVEL_BY_SEVERITY = {
    0: logging.DEBUG,
    _ORT_INFO: logging.DEBUG,
    _ORT_WARNING: logging.WARNING,
    _ORT_ERROR: logging.ERROR,
    _ORT_FATAL: logging.CRITICAL,
}

_install_lock = threading.Lock()
_installed_into: list[ModuleType] = []  # held, so a module's id is never reused for another
_captures = threading.local()  # .lists: the capture lists open on this thread, innermost last
#: A captured message is quoted in an error; a huge one (a dumped graph) must not flood it.
_MAX_CAPTURED_CHARS = 600
#: onnxruntime's own stderr line: ``<time> [W:onnxruntime:<logger>, <file:line> <function>] <message>``,
#: coloured with ANSI escapes on a terminal.
_STDERR_LINE = re.compile(r"\[[WEF]:onnxruntime:[^\]]*\]\s*(?P<message>.+)")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def python_level_for(severity: int) -> int:
    """The ``logging`` level an onnxruntime message of ``severity`` is logged at."""
    return _PYTHON_LEVEL_BY_SEVERITY.get(severity, logging.WARNING)


def ort_severity_for(level: int) -> int:
    """The least severe onnxruntime severity whose messages a logger at ``level`` would show."""
    if level <= logging.DEBUG:
        return _ORT_INFO
    if level <= logging.WARNING:
        return _ORT_WARNING
    if level <= logging.ERROR:
        return _ORT_ERROR
    return _ORT_FATAL


def current_severity() -> int:
    """The onnxruntime severity matching the ``modelrt.onnx`` logger's effective level right now."""
    return ort_severity_for(logger.getEffectiveLevel())


@contextmanager
def captured_messages() -> Iterator[list[str]]:
    """The onnxruntime warnings and errors routed from this thread while the block runs, oldest first."""
    messages: list[str] = []
    open_lists = getattr(_captures, "lists", None)
    if open_lists is None:
        open_lists = _captures.lists = []
    open_lists.append(messages)
    try:
        yield messages
    finally:
        open_lists.pop()  # blocks nest, so this block's list is the innermost


def _forward(severity: int, category: str, log_id: str, code_location: str, message: str) -> None:
    """The callback onnxruntime calls; it must never raise (onnxruntime would report it as unraisable)."""
    try:
        if severity >= _ORT_WARNING:
            for messages in getattr(_captures, "lists", ()):
                messages.append(message[:_MAX_CAPTURED_CHARS])
        level = python_level_for(severity)
        if logger.isEnabledFor(level):
            source = f"{log_id}: " if log_id else ""
            logger.log(level, "onnxruntime %s%s (%s)", source, message, code_location or category)
    except Exception:  # a broken handler must not turn into an error inside onnxruntime
        return


def route_ort_logging(ort: ModuleType) -> bool:
    """Send ``ort``'s default-logger messages to ``modelrt.onnx`` and match its severity to our level.

    Safe to call on every load: the callback is installed once per onnxruntime module, the severity is
    refreshed each time so a changed logger level takes effect for the next session. Returns whether
    messages are routed (False: this onnxruntime has no callback, messages still go to stderr).
    """
    severity = current_severity()
    install = getattr(ort, "set_default_logger_callback", None)
    if install is None:
        ort.set_default_logger_severity(severity)
        return False
    with _install_lock:
        if not any(module is ort for module in _installed_into):
            install(_forward, severity)
            _installed_into.append(ort)
            return True
    ort.set_default_logger_severity(severity)
    return True


@contextmanager
def stderr_messages() -> Iterator[list[str]]:
    """onnxruntime's warning and error lines written to stderr during the block, which still reach stderr.

    The list is filled when the block ends. File descriptor 2 is pointed at a temporary file for the
    block and restored before anything is passed on, even when the block raises.
    """
    messages: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as copy:
            os.dup2(copy.fileno(), 2)
            try:
                yield messages
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                copy.seek(0)
                written = copy.read()
                _write_all(2, written)
                messages.extend(_onnxruntime_lines(written.decode("utf-8", errors="replace")))
    finally:
        os.close(saved)


def _onnxruntime_lines(text: str) -> list[str]:
    found = (_STDERR_LINE.search(_ANSI_ESCAPE.sub("", line)) for line in text.splitlines())
    return [match.group("message").strip()[:_MAX_CAPTURED_CHARS] for match in found if match]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]

"""What the ``modelrt`` command writes: text that cannot forge lines, a JSON document nothing else can
corrupt, and a quiet end when the reader of stdout goes away.

- Names that come from outside (file names, class names, error messages quoting them) may hold a
  newline, an escape sequence or a lone surrogate from a non-UTF-8 file name. ``escaped`` writes such
  characters as Python escapes (``\\n``, ``\\x1b``, ``\\udcff``), so one result is always one line and a
  name can never draw on the terminal; ``quoted_name`` goes further for names that start a line.
- With ``--json``, stdout holds the JSON document and nothing else: while a command runs, whatever
  else is written to file descriptor 1 (a plugin's ``print`` at import, a native library's messages)
  is sent to stderr, and the document is written through a copy of the original descriptor.
- Ctrl-C never cuts a line or a JSON record in half: SIGINT waits while one is written (``whole_writes``).
- A closed stdout (``modelrt predict ... | head -1``) ends the command quietly with status 141, as
  ``git`` or ``ls`` killed by SIGPIPE report it in a shell (128 + 13); output the reader took is kept.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = [
    "EXIT_STDOUT_CLOSED",
    "discard_stdout",
    "document_stream",
    "escaped",
    "quoted_name",
    "stdout_reserved_for_document",
    "to_json",
    "whole_writes",
    "write_json",
]

#: Exit status when the reader of stdout went away: 128 + SIGPIPE, what a shell shows for ``ls | head -1``.
EXIT_STDOUT_CLOSED = 141

#: Where the JSON document goes while ``stdout_reserved_for_document`` is active; stdout otherwise.
_document: TextIO | None = None


def escaped(text: str) -> str:
    """``text`` with every non-printable character (newline, tab, escape, bidi controls, surrogates)
    written as its Python escape; printable text, any script included, is unchanged."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def quoted_name(name: str) -> str:
    """A file name as it starts an output line: unchanged when plain, else quoted like a Python string,
    so a name holding a newline or starting with a quote cannot pass for another line or name."""
    if name.isprintable() and not name.startswith(("'", '"')):
        return name
    return repr(name)


def result_data(result: Any) -> dict[str, Any]:
    """A result as ``--json`` writes it: ``to_dict()``, with each detection's mask as RLE when it has masks."""
    if getattr(result, "masks", None) is not None:
        data: dict[str, Any] = result.to_dict(masks=True)
        return data
    plain: dict[str, Any] = result.to_dict()
    return plain


def to_json(data: Any, indent: int | None = 2) -> str:
    """JSON text for ``--json`` output (ASCII only; values JSON does not know become strings).

    NaN and infinities (a model may output them) become ``null``: Python would write ``NaN``, which no
    JSON parser accepts.
    """
    return json.dumps(_finite(data), indent=indent, default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


@contextlib.contextmanager
def whole_writes() -> Iterator[None]:
    """Hold Ctrl-C back while the block writes and flushes output; it takes effect right after.

    Python's text streams can drop buffered text when a ``KeyboardInterrupt`` lands inside a flush,
    so a result line or JSON record would be lost or cut. Where signals cannot be blocked (Windows,
    threads other than the main one), the block runs as it is.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def document_stream() -> TextIO:
    """The stream the JSON document is written to: the real stdout, even while it is reserved."""
    return _document if _document is not None else sys.stdout


def write_json(data: Any) -> None:
    """Write ``data`` as the command's JSON document."""
    stream = document_stream()
    with whole_writes():
        stream.write(to_json(data) + "\n")
        stream.flush()


@contextlib.contextmanager
def stdout_reserved_for_document() -> Iterator[None]:
    """While active, anything written to stdout goes to stderr, except through ``document_stream()``.

    Works on file descriptors, so output of native code is moved too. Without a usable stdout there
    is nothing to protect and nothing changes.
    """
    global _document
    sys.stdout.flush()
    try:
        document_fd = os.dup(sys.stdout.fileno())
    except (OSError, ValueError):  # stdout closed, or not backed by a file descriptor
        yield
        return
    stdout_fd = sys.stdout.fileno()
    os.dup2(sys.stderr.fileno(), stdout_fd)
    _document = os.fdopen(document_fd, "w", encoding="utf-8", closefd=False)
    try:
        yield
    finally:
        # Closing flushes; if the reader went away the error was already raised by write/flush.
        with contextlib.suppress(OSError):
            _document.close()
        _document = None
        with contextlib.suppress(OSError):
            sys.stdout.flush()  # text printed meanwhile still belongs to stderr
        os.dup2(document_fd, stdout_fd)
        os.close(document_fd)


def discard_stdout() -> None:
    """Point stdout at the null device, so the final flush at exit cannot fail on a closed pipe again
    (the way Python's documentation recommends handling ``BrokenPipeError``)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

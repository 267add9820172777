"""Encoded image data read piece by piece, so a header is checked before the whole file is in memory.

Header readers ask for the few bytes they need at an offset (``read``); only an image whose header
passed is read whole (``contents``), once, without an intermediate copy.
"""

from __future__ import annotations

import io
from typing import Protocol

from modelrt.errors import InputError

__all__ = ["BytesData", "EncodedData", "FileData"]


class EncodedData(Protocol):
    """Random access to the bytes of one encoded image."""

    #: What the user passed, for messages: a path, or "the given bytes".
    source: str
    #: The number of bytes.
    size: int

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer at the end of the data, none past it)."""
        ...

    def contents(self) -> memoryview:
        """All the bytes."""
        ...


class BytesData:
    """Bytes already in memory: reading never copies more than asked."""

    def __init__(self, view: memoryview, source: str) -> None:
        self.source = source
        self.size = len(view)
        self._view = view

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self._view[offset : offset + length])

    def contents(self) -> memoryview:
        return self._view


class FileData:
    """An open regular file of ``size`` bytes (its size when opened; a file that shrinks reads short)."""

    def __init__(self, handle: io.BufferedIOBase, size: int, source: str) -> None:
        self.source = source
        self.size = size
        self._handle = handle

    def read(self, offset: int, length: int) -> bytes:
        if offset >= self.size:  # also keeps offsets too large for the OS from reaching seek()
            return b""
        try:
            self._handle.seek(offset)
            return self._handle.read(max(0, min(length, self.size - offset)))
        except OSError as error:
            raise self._read_error(error) from None

    def contents(self) -> memoryview:
        buffer = bytearray(self.size)
        try:
            self._handle.seek(0)
            filled = self._handle.readinto(buffer)
        except OSError as error:
            raise self._read_error(error) from None
        view = memoryview(buffer)
        return view if filled == self.size else view[:filled]

    def _read_error(self, error: OSError) -> InputError:
        return InputError(f"cannot read image file {self.source}: {error.strerror or error}")

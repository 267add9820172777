"""``CallGuard``: lets ``close()`` wait for calls in flight and refuse new ones.

Models and sessions are shared between threads; releasing a runtime session while another thread is
inside it can crash the process. Every object with a ``close()`` and thread-safe calls uses this one
guard, so the rule is the same everywhere: calls already running finish, later calls raise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["CallGuard"]


class CallGuard:
    """Counts calls in flight; ``close()`` refuses new calls and waits for the running ones."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._running = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def call(self, closed_error: Callable[[], Exception]) -> Iterator[None]:
        """Run the block as a call in flight; raise ``closed_error()`` instead once closed."""
        with self._state:
            if self._closed:
                raise closed_error()
            self._running += 1
        try:
            yield
        finally:
            with self._state:
                self._running -= 1
                if self._running == 0:
                    self._state.notify_all()

    def close(self) -> bool:
        """Refuse new calls and wait for those in flight; ``False`` when it was closed already."""
        with self._state:
            if self._closed:
                return False
            self._closed = True
            self._state.wait_for(lambda: self._running == 0)
        return True

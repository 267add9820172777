"""CallGuard: close() waits for calls in flight and refuses later ones."""

from __future__ import annotations

import threading

import pytest

from modelrt.errors import ModelClosedError
from modelrt.inflight import CallGuard


def _closed() -> ModelClosedError:
    return ModelClosedError("closed")


def test_a_call_after_close_raises_the_given_error() -> None:
    guard = CallGuard()
    assert guard.close() is True
    with pytest.raises(ModelClosedError), guard.call(_closed):
        pass


def test_closing_twice_says_it_was_already_closed() -> None:
    guard = CallGuard()
    assert guard.close() is True
    assert guard.close() is False
    assert guard.closed


def test_close_waits_for_the_call_in_flight() -> None:
    guard = CallGuard()
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def call() -> None:
        with guard.call(_closed):
            inside.set()
            release.wait()
            order.append("call finished")

    caller = threading.Thread(target=call)
    caller.start()
    inside.wait()
    closer = threading.Thread(target=lambda: (guard.close(), order.append("closed")))
    closer.start()
    closer.join(timeout=0.5)
    assert closer.is_alive(), "close() returned while a call was still running"
    release.set()
    caller.join()
    closer.join()
    assert order == ["call finished", "closed"]


def test_an_error_inside_a_call_still_lets_close_finish() -> None:
    guard = CallGuard()
    with pytest.raises(RuntimeError), guard.call(_closed):
        raise RuntimeError("backend failed")
    assert guard.close() is True

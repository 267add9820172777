"""A process forked after torch ran multi-threaded keeps working instead of hanging.

torch's CPU thread pool (GNU OpenMP in the Linux wheels) does not survive ``fork``: a child's first
multi-threaded operator waits forever for worker threads that only the parent has. Here the parent runs
a batch big enough for torch to use its pool, forks with multiprocessing's ``fork`` start method, and the
child runs a batch as big; a child still running after its deadline counts as hung and fails the test.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import modelrt

from .conftest import affine_package

#: Rows enough for torch's elementwise operators to split the work across threads (grain size 32768).
BIG = {"x": np.ones((65536, 3), np.float32)}
#: Far beyond what the child needs; only a hang gets there.
DEADLINE_S = 120


def _in_forked_child(work: Callable[[], Any]) -> tuple[str, Any]:
    """``("returned", value)`` or ``("raised", "Error: message")`` from ``work`` in a forked child; fails on a hang."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child() -> None:
        try:
            results.put(("returned", work()))
        except Exception as error:
            results.put(("raised", f"{type(error).__name__}: {error}"))

    process = context.Process(target=child, daemon=True)
    process.start()
    try:
        outcome, value = results.get(timeout=DEADLINE_S)
    except queue.Empty:
        process.kill()
        pytest.fail(f"the forked child did not finish within {DEADLINE_S} s: torch hung after fork")
    finally:
        process.join(DEADLINE_S)
    return outcome, value


@pytest.fixture
def parent_model(tmp_path: Path) -> Iterator[modelrt.Model]:
    """The affine model, loaded with two threads and already run on a big batch (so the pool exists)."""
    with modelrt.load(affine_package(tmp_path), backend="torch", threads=2, warmup=0) as model:
        model.sessions["main"].run(BIG)
        yield model


def test_a_forked_child_runs_the_model_its_parent_loaded(parent_model: modelrt.Model) -> None:
    session = parent_model.sessions["main"]
    outcome = _in_forked_child(lambda: float(session.run(BIG)["y"].sum()))
    assert outcome == ("returned", 3.0 * BIG["x"].size)
    assert torch.get_num_threads() == 2  # the parent keeps its threads


def test_a_forked_child_loads_and_runs_a_model_of_its_own(parent_model: modelrt.Model, tmp_path: Path) -> None:
    def load_and_run() -> tuple[float, tuple[str, ...]]:
        with modelrt.load(affine_package(tmp_path / "child"), backend="torch", threads=2, warmup=0) as model:
            return float(model.sessions["main"].run(BIG)["y"].sum()), model.plan.notes

    outcome, (total, notes) = _in_forked_child(load_and_run)
    assert (outcome, total) == ("returned", 3.0 * BIG["x"].size)
    assert any("fork" in note and "'spawn'" in note for note in notes)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU that torch can use")
def test_a_model_on_cuda_says_why_a_forked_child_cannot_run_it(tmp_path: Path) -> None:
    with modelrt.load(affine_package(tmp_path), backend="torch", device="cuda", warmup=0) as model:
        session = model.sessions["main"]
        session.run(BIG)
        outcome, message = _in_forked_child(lambda: session.run(BIG))
    assert outcome == "raised"
    assert message.startswith("HardwareError: ") and "'spawn'" in message

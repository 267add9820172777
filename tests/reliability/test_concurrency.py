"""One model, many threads: results identical to serial ones, and ``close()`` never crashes a caller.

The promises, as tests check them:

- 8 threads x 1,000 predicts on one ``Model`` (ONNX Runtime, a model whose output depends on every
  pixel, a different image of a different size per thread) give results bit-identical to the same
  predicts run serially;
- two models loaded side by side and used from threads at once give each its own serial results;
- ``close()`` while threads predict (all started together on a barrier): every call either returns
  the serial result or raises ``ModelClosedError``; nothing else, no crash;
- ``close()`` waits for the predictions in flight before releasing the sessions, whatever the
  backend: a session is never closed under a running call, even one that would break if it were.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelrt
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with

from .conftest import distinct_images

THREADS = 8
CALLS_PER_THREAD = 1_000


def _run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(index)`` on ``count`` threads released together by a barrier; re-raise any failure."""
    barrier = threading.Barrier(count)

    def start(index: int) -> Any:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start, index) for index in range(count)]
        return [future.result() for future in futures]


def _serial_results(model: modelrt.Model, images: list[np.ndarray]) -> list[np.ndarray]:
    results = [model.predict(image).probabilities for image in images]
    assert len({result.tobytes() for result in results}) == len(images), "each image must give its own result"
    return results


def test_eight_threads_of_a_thousand_predicts_give_the_serial_results(classifier: modelrt.Model) -> None:
    images = distinct_images(THREADS)
    expected = _serial_results(classifier, images)

    def predict_many(index: int) -> tuple[int, int]:
        mismatches = 0
        for _ in range(CALLS_PER_THREAD):
            mismatches += not np.array_equal(classifier.predict(images[index]).probabilities, expected[index])
        return CALLS_PER_THREAD, mismatches

    outcomes = _run_together(THREADS, predict_many)
    assert outcomes == [(CALLS_PER_THREAD, 0)] * THREADS


def test_threads_predicting_batches_give_the_serial_results(classifier: modelrt.Model) -> None:
    images = distinct_images(THREADS * 3, seed=7)
    expected = _serial_results(classifier, images)

    def predict_batches(index: int) -> int:
        mine = images[index * 3 : index * 3 + 3]
        mismatches = 0
        for _ in range(100):
            results = classifier.predict(mine)
            mismatches += sum(
                not np.array_equal(result.probabilities, expected[index * 3 + position])
                for position, result in enumerate(results)
            )
        return mismatches

    assert _run_together(THREADS, predict_batches) == [0] * THREADS


def test_two_models_used_at_once_each_give_their_own_serial_results(
    classifier_package: Path, other_classifier_package: Path
) -> None:
    images = distinct_images(THREADS)
    with (
        modelrt.load(classifier_package, device="cpu") as first,
        modelrt.load(other_classifier_package, device="cpu") as second,
    ):
        models = [first, second]
        expected = [_serial_results(model, images) for model in models]
        assert not any(np.array_equal(a, b) for a, b in zip(*expected, strict=True)), "the models must differ"

        def predict_alternately(index: int) -> int:
            model_index = index % 2
            mismatches = 0
            for _ in range(250):
                result = models[model_index].predict(images[index]).probabilities
                mismatches += not np.array_equal(result, expected[model_index][index])
            return mismatches

        assert _run_together(THREADS, predict_alternately) == [0] * THREADS


def test_close_while_threads_predict_gives_serial_results_or_model_closed_error(classifier_package: Path) -> None:
    model = modelrt.load(classifier_package, device="cpu")
    images = distinct_images(THREADS)
    expected = _serial_results(model, images)
    all_predicting = threading.Barrier(THREADS + 1)

    def predict_until_closed(index: int) -> tuple[int, str]:
        successes = 0
        arrived = False
        while True:
            try:
                result = model.predict(images[index]).probabilities
            except modelrt.ModelClosedError:
                if not arrived:  # refused before close(): free the main thread, so the test fails, not hangs
                    all_predicting.abort()
                return successes, "closed"
            assert np.array_equal(result, expected[index])
            successes += 1
            if not arrived:
                arrived = True
                all_predicting.wait()  # close() comes only once every thread is in its loop

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(predict_until_closed, index) for index in range(THREADS)]
        all_predicting.wait()
        model.close()
        outcomes = [future.result() for future in futures]

    assert [ending for _, ending in outcomes] == ["closed"] * THREADS
    assert all(successes >= 1 for successes, _ in outcomes)


# --------------------------------------------------------------- close waits, whatever the backend


def _opaque_package(root: Path) -> Path:
    """A package whose artifact is opaque bytes: the fake backend below 'loads' it."""
    root.mkdir()
    payload = b"fake network"
    (root / "model.onnx").write_bytes(payload)
    manifest = {
        "format_version": 1,
        "name": "fake",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": ["a", "b", "c"],
        "input": {"size": [8, 8], "resize": "stretch"},
        "artifacts": [
            {
                "role": "main",
                "format": "onnx",
                "path": "model.onnx",
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        ],
    }
    (root / "modelrt.json").write_text(json.dumps(manifest))
    return root


def test_close_waits_for_a_prediction_in_flight_before_closing_the_sessions(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    first_call = threading.Lock()

    def hold_the_first_call(batch: np.ndarray) -> np.ndarray:
        if first_call.acquire(blocking=False):  # only the first run waits; later ones return at once
            entered.set()
            release.wait()
        return np.tile(np.array([[0.2, 0.5, 0.3]], np.float32), (batch.shape[0], 1))

    sessions: list[Any] = []
    plugin = fake_backend_plugin("held-runtime", compute=hold_the_first_call, loads=sessions)
    model = modelrt.load(_opaque_package(tmp_path / "package"), manager=manager_with(plugin), warmup=0)
    image = np.zeros((8, 8, 3), np.uint8)
    session_input = {"images": np.zeros((1, 3, 8, 8), np.float32)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight = pool.submit(model.predict, image)
        entered.wait()
        closing = pool.submit(model.close)
        try:
            while True:  # until close() has marked the model closed (new calls refused)
                try:
                    model.predict(image)
                except modelrt.ModelClosedError:
                    break
            sessions[0].run(session_input)  # still open: close() is waiting for the call in flight
        finally:
            release.set()
        assert in_flight.result().label == "b"
        closing.result()
    with pytest.raises(modelrt.ModelClosedError):
        sessions[0].run(session_input)

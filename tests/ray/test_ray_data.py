"""Ray Data's ``map_batches`` with ``ModelPredictor`` on a real local Ray: row for row what ``predict`` gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelrt
from modelrt.ray import predict_dataset
from modelrt.ray.resources import actor_threads

from .conftest import IMAGES

#: A Ray that hangs (actors waiting for CPUs that never free up) fails here instead of stalling CI.
pytestmark = pytest.mark.timeout(180)


def _by_path(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {Path(row["path"]).name: row for row in rows}


def _predicted(model: Path) -> dict[str, Any]:
    with modelrt.load(model, threads=1) as loaded:
        return {path.name: loaded.predict(str(path)) for path in IMAGES}


def test_two_actors_of_half_a_cpu_classify_encoded_images_as_predict_does(
    ray_session: Any, models: dict[str, Path]
) -> None:
    images = ray_session.data.read_binary_files([str(path) for path in IMAGES], include_paths=True)
    rows = predict_dataset(
        images, models["classifier"], image_column="bytes", concurrency=2, num_cpus=0.5, batch_size=2
    ).take_all()
    expected = _predicted(models["classifier"])
    assert sorted(_by_path(rows)) == sorted(expected)
    for name, row in _by_path(rows).items():
        assert (row["class_id"], row["class_name"]) == (expected[name].class_id, expected[name].label)
        np.testing.assert_allclose(row["probabilities"], expected[name].probabilities, rtol=1e-6)


def test_decoded_images_from_read_images_give_the_boxes_predict_gives(
    ray_session: Any, models: dict[str, Path]
) -> None:
    images = ray_session.data.read_images([str(path) for path in IMAGES], include_paths=True, mode="RGB")
    rows = predict_dataset(images, models["detector"], concurrency=1, num_cpus=0.5, batch_size=4).take_all()
    expected = _predicted(models["detector"])
    for name, row in _by_path(rows).items():
        assert list(row["class_names"]) == expected[name].class_names.tolist()
        np.testing.assert_allclose(np.array(row["boxes"], np.float32), expected[name].xyxy, atol=1e-3)
        np.testing.assert_allclose(row["scores"], expected[name].confidence, rtol=1e-6)


@pytest.mark.parametrize("cpus", [1, 2])
def test_an_actor_runs_as_many_threads_as_the_cpus_ray_gave_it(ray_session: Any, cpus: int) -> None:
    threads = ray_session.remote(num_cpus=cpus)(actor_threads)
    assert ray_session.get(threads.remote()) == cpus


def test_outside_a_ray_worker_the_thread_count_is_left_to_modelrt(ray_session: Any) -> None:
    assert actor_threads() is None

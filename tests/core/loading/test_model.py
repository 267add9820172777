"""The Model object: predict, overrides, batches, closing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.results import Classification
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with
from modelrt.timing import StageTimer


def _compute(batch: np.ndarray) -> np.ndarray:
    return np.repeat(np.array([[0.1, 0.7, 0.2]], np.float32), batch.shape[0], axis=0)


@pytest.fixture
def model(make_package: Callable[..., Path]) -> modelrt.Model:
    plugin = fake_backend_plugin("runtime", compute=_compute)
    with modelrt.load(make_package(), manager=manager_with(plugin), warmup=0) as loaded:
        yield loaded


def _image() -> np.ndarray:
    return np.zeros((20, 30, 3), np.uint8)


def test_one_image_gives_one_result(model: modelrt.Model) -> None:
    result = model.predict(_image())
    assert isinstance(result, Classification)
    assert result.label == "dog"
    assert result.top(2) == [("dog", pytest.approx(0.7)), ("bird", pytest.approx(0.2))]


def test_a_list_gives_a_list(model: modelrt.Model) -> None:
    results = model.predict([_image(), _image(), _image()])
    assert isinstance(results, list) and len(results) == 3


def test_calling_the_model_is_predict(model: modelrt.Model) -> None:
    assert model(_image()).label == "dog"


def test_timer_collects_every_stage(model: modelrt.Model) -> None:
    timer = StageTimer()
    model.predict(_image(), timer=timer)
    assert set(timer.seconds) == {"decode", "pre", "run", "post"}


def test_closing_twice_is_harmless_and_predict_after_close_fails(model: modelrt.Model) -> None:
    model.close()
    model.close()
    with pytest.raises(modelrt.ModelClosedError):
        model.predict(_image())


def test_context_manager_closes_the_sessions(make_package: Callable[..., Path]) -> None:
    loads: list[object] = []
    plugin = fake_backend_plugin("runtime", compute=_compute, loads=loads)
    with modelrt.load(make_package(), manager=manager_with(plugin), warmup=0):
        pass
    (session,) = loads
    with pytest.raises(modelrt.ModelClosedError):
        session.run({"images": np.zeros((1, 3, 8, 8), np.float32)})  # type: ignore[attr-defined]


def test_warmup_runs_at_load_time(make_package: Callable[..., Path]) -> None:
    loads: list[object] = []
    plugin = fake_backend_plugin("runtime", compute=_compute, loads=loads)
    modelrt.load(make_package(), manager=manager_with(plugin), warmup=2)
    assert loads[0].runs == 2  # type: ignore[attr-defined]


def test_repr_says_what_runs_where(model: modelrt.Model) -> None:
    assert "runtime on cpu" in repr(model)


def test_no_warmup_by_default_so_the_first_prediction_comes_soonest(make_package: Callable[..., Path]) -> None:
    loads: list[object] = []
    plugin = fake_backend_plugin("runtime", compute=_compute, loads=loads)
    modelrt.load(make_package(), manager=manager_with(plugin))
    assert loads[0].runs == 0  # type: ignore[attr-defined]

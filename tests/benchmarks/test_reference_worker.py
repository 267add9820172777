"""The inference-models variant's process: a worker that cannot start says why."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import envs, models
from benchmarks.reference import ReferenceWorker


def test_a_worker_without_inference_models_fails_with_its_log(tiny_model: models.BenchModel, tiny_image: Path) -> None:
    with pytest.raises(RuntimeError, match="inference-models worker stopped"):
        ReferenceWorker(tiny_model.inference_models_package, tiny_image, 1, 0.25, 0.7, 300, python=Path(sys.executable))


def test_a_missing_environment_says_how_to_build_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(envs, "VENVS", tmp_path)
    with pytest.raises(RuntimeError, match="python -m benchmarks setup --env inference-models"):
        envs.require(envs.INFERENCE_MODELS)

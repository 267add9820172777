"""A tiny YOLOv8-shaped model (64x64, 84 anchors, 10 of them over the threshold) and its image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import models

TINY_PASSING = 10


@pytest.fixture(scope="session")
def tiny_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("images") / "frame.png"
    pixels = np.random.default_rng(3).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    cv2.imwrite(str(path), pixels)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_image: Path) -> models.BenchModel:
    directory = tmp_path_factory.mktemp("models")
    return models.synthetic(tiny_image, passing=TINY_PASSING, input_size=64, trunk_depth=1, models=directory)

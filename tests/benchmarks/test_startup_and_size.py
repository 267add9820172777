"""Start-up and install-size parts: what they report (one repeat, this environment), never the times."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import install_size, models, report, startup


@pytest.fixture(scope="module")
def startup_part(tiny_model: models.BenchModel, tiny_image: Path) -> dict[str, Any]:
    return startup.run(tiny_model, tiny_image, threads=1, repeats=1, reference=False, python=Path(sys.executable))


def test_startup_times_each_process_kind(startup_part: dict[str, Any]) -> None:
    assert set(startup_part["processes"]) == {
        "python -c pass",
        "modelrt --version",
        "import modelrt",
        "first prediction: raw onnxruntime",
        "first prediction: modelrt",
        "first prediction: modelrt (warmup=0)",
    }
    assert set(startup_part["processes"]["modelrt --version"]) == {"median_s", "min_s", "max_s"}


def test_import_modelrt_reports_modules_and_that_nothing_heavy_came_in(startup_part: dict[str, Any]) -> None:
    imported = startup_part["import_modelrt"]
    assert imported["import_heavy"] == []
    assert imported["import_modules"] > 0
    assert "onnx: ok" in imported["plugins"]


def test_the_first_prediction_ratio_is_paired_round_by_round(startup_part: dict[str, Any]) -> None:
    assert startup_part["first_prediction_paired"] > 0


def test_startup_targets(startup_part: dict[str, Any]) -> None:
    names = [target["name"] for target in report.startup_targets(startup_part)]
    assert names == [
        "process start to first prediction, modelrt / raw onnxruntime (paired median)",
        "import modelrt (s), nothing heavy imported",
        "modelrt --version as a process (s)",
    ]


def test_install_size_names_the_largest_distributions_and_any_framework() -> None:
    described = install_size.describe(Path(sys.executable), empty_bytes=0, top=3)
    assert described["megabytes"] > 0
    assert len(described["largest_mb"]) == 3
    assert all(install_size.is_framework(name) for name in described["frameworks"])


@pytest.mark.parametrize("name", ["torch", "nvidia-cublas-cu12", "triton", "cuda-bindings"])
def test_frameworks_and_cuda_libraries_are_recognised(name: str) -> None:
    assert install_size.is_framework(name)


@pytest.mark.parametrize("name", ["onnxruntime", "numpy", "opencv-python-headless", "modelrt-core"])
def test_runtime_libraries_are_not_frameworks(name: str) -> None:
    assert not install_size.is_framework(name)

"""``modelrt.bench`` and ``modelrt bench``: latency percentiles, throughput and placement of one model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import models
from modelrt.bench import BenchmarkResult, Latency, benchmark, render_benchmark
from modelrt.errors import InputError


@pytest.fixture(scope="module")
def result(tiny_model: models.BenchModel, tiny_image: Path) -> BenchmarkResult:
    return benchmark(tiny_model.modelrt_package, image=str(tiny_image), runs=2, warmup=0, batch_size=2, threads=1)


def test_latency_percentiles_interpolate_between_runs() -> None:
    latency = Latency.from_seconds([0.001, 0.002, 0.003, 0.004, 0.005])
    assert latency.median_ms == pytest.approx(3.0)
    assert latency.p90_ms == pytest.approx(4.6)
    assert latency.min_ms == pytest.approx(1.0)


def test_result_says_where_the_model_ran(result: BenchmarkResult) -> None:
    placement = result.placements["main"]
    assert (placement.backend, placement.device, placement.provider) == ("onnxruntime", "cpu", "CPUExecutionProvider")
    assert result.threads == 1


def test_result_holds_every_stage_and_the_throughput_of_the_batch(result: BenchmarkResult) -> None:
    assert set(result.stages) == {"pre", "run", "post"}
    assert result.batch_size == 2
    assert result.images_per_second == pytest.approx(2000 / result.total.median_ms)
    assert result.image_shape == (96, 128, 3)


def test_result_serialises_to_plain_json(result: BenchmarkResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert data["total"]["p99_ms"] >= data["total"]["median_ms"]
    assert data["per_image_ms"] == pytest.approx(result.total.median_ms / 2)
    assert data["placements"]["main"]["backend"] == "onnxruntime"


def test_rendering_shows_placement_stages_and_throughput(result: BenchmarkResult) -> None:
    text = render_benchmark(result)
    assert "onnxruntime on cpu (CPUExecutionProvider)" in text
    assert "images/s" in text
    assert [line.split()[0] for line in text.splitlines()[3:7]] == ["pre", "run", "post", "total"]


def test_zero_runs_is_an_input_error(tiny_model: models.BenchModel) -> None:
    with pytest.raises(InputError, match="runs must be"):
        benchmark(tiny_model.modelrt_package, runs=0)


def test_cli_bench_prints_the_result_as_json(tiny_model: models.BenchModel) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelrt",
            "bench",
            str(tiny_model.modelrt_package),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(completed.stdout)
    assert data["runs"] == 2
    assert data["image"] == "grey 64x64"
    assert set(data["stages"]) == {"pre", "run", "post"}

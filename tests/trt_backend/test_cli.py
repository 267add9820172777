"""``modelrt build`` and ``modelrt engine inspect`` from the command line, on the fake TensorRT and CUDA."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelrt import cli, engine_build
from modelrt_trt.testing.fake_tensorrt import FakeTrtState
from modelrt_trt.testing.gpu_stack import nvidia_environment, scaling_onnx


@pytest.fixture
def model_package(tmp_path: Path, trt: FakeTrtState, monkeypatch: pytest.MonkeyPatch, write_package: Any) -> Path:
    monkeypatch.setattr(engine_build, "current_environment", lambda manager=None: nvidia_environment(trt))
    scaling_onnx(tmp_path / "model.onnx")
    return write_package(tmp_path, [("model.onnx", "onnx", None)])


def test_build_prints_where_the_engine_went_and_that_a_second_build_is_cached(
    model_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["build", str(model_package), "--precision", "fp32", "--batch", "1:2:4"]) == 0
    first = capsys.readouterr().out
    assert cli.main(["build", str(model_package), "--precision", "fp32", "--batch", "1:2:4", "--json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert first.startswith(f"main: model.onnx -> {outcome['engine']} (built in ")
    assert "TensorRT 10.3.0, fp32 as requested, for NVIDIA RTX A4000, compute capability 8.6" in first
    assert outcome["cached"] is True


def test_engine_inspect_shows_what_the_built_engine_was_built_for(
    model_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["build", str(model_package), "--precision", "fp32", "--json"])
    (outcome,) = json.loads(capsys.readouterr().out)
    assert cli.main(["engine", "inspect", outcome["engine"], "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)["facts"]
    assert (facts["gpu_name"], facts["compute_capability"], facts["precision"]) == ("NVIDIA RTX A4000", "8.6", "fp32")


def test_build_on_a_host_without_a_gpu_is_one_line_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], write_package: Any
) -> None:
    from modelrt.host_environment import Environment

    monkeypatch.setattr(engine_build, "current_environment", lambda manager=None: Environment(system="Linux"))
    scaling_onnx(tmp_path / "model.onnx")
    assert cli.main(["build", str(write_package(tmp_path, [("model.onnx", "onnx", None)]))]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        "error: cannot build role 'main' of 'scaler' with tensorrt: model.onnx on cuda:0: no NVIDIA GPU"
    )
    assert error.count("\n") == 1

"""The TensorRT GPU benchmark says what it lacks and measures nothing on a host without a GPU."""

from __future__ import annotations

import pytest

from benchmarks import tensorrt_gpu


def test_without_a_gpu_the_benchmark_says_so_and_exits_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tensorrt_gpu, "missing_requirement", lambda: "no NVIDIA GPU visible")
    assert tensorrt_gpu.main([]) == 0
    assert capsys.readouterr().out == "skipped: no NVIDIA GPU visible; the TensorRT benchmark needs an NVIDIA GPU\n"

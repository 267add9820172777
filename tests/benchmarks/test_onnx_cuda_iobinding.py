"""The ONNX Runtime CUDA benchmark says what it lacks and measures nothing on a host without a GPU."""

from __future__ import annotations

import pytest

from benchmarks import onnx_cuda_iobinding


def test_without_a_gpu_the_benchmark_says_so_and_exits_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(onnx_cuda_iobinding, "missing_requirement", lambda: "no NVIDIA GPU visible")
    assert onnx_cuda_iobinding.main([]) == 0
    assert capsys.readouterr().out == (
        "skipped: no NVIDIA GPU visible; the ONNX Runtime CUDA benchmark needs an NVIDIA GPU\n"
    )


def test_this_host_without_a_gpu_is_named_as_such() -> None:
    from modelrt.host import Host
    from modelrt.host_environment import probe_environment

    if probe_environment(Host()).visible_gpus:
        pytest.skip("this host has a GPU: the benchmark runs here")
    assert onnx_cuda_iobinding.missing_requirement() == "no NVIDIA GPU visible"

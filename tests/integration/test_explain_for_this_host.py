"""`modelrt explain` as a user runs it on a Linux CPU box: this host's candidates, `--all` for every one."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path

import pytest

from modelrt.testing.hosts import make_linux_host

from .conftest import run_cli


@pytest.fixture
def classifier(tmp_path: Path) -> Path:
    """A classification package with one ONNX artifact (never loaded: explain only ranks and probes)."""
    root = tmp_path / "classifier"
    root.mkdir()
    payload = b"an onnx model explain never reads"
    (root / "model.onnx").write_bytes(payload)
    artifact = {"role": "main", "format": "onnx", "path": "model.onnx", "size": len(payload)}
    manifest = {
        "format_version": 1,
        "name": "classifier",
        "task": "classification",
        "architecture": "image-classifier",
        "labels": ["cat", "dog"],
        "input": {"size": [8, 8], "resize": "stretch"},
        "artifacts": [{**artifact, "sha256": hashlib.sha256(payload).hexdigest()}],
    }
    (root / "modelrt.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture
def linux_cpu_box(tmp_path: Path) -> dict[str, str]:
    """The environment variables that make modelrt probe a fake Ubuntu root with no NVIDIA driver."""
    root = tmp_path / "host"
    make_linux_host(root)
    return {"MODELRT_HOST_ROOT": str(root)}


def test_explain_shows_the_candidates_this_host_can_run_and_one_line_per_absent_device(
    classifier: Path, linux_cpu_box: dict[str, str]
) -> None:
    result = run_cli("explain", str(classifier), env=linux_cpu_box)
    assert result.returncode == 0, result.stderr
    assert "-> 1. onnxruntime on cpu" in result.stdout
    assert "on cuda:0" not in result.stdout and "on coreml" not in result.stdout
    assert "    cuda: no NVIDIA driver or GPU on this host" in result.stdout
    assert "    coreml: CoreML exists only on macOS, and this host runs Linux" in result.stdout


def test_explain_all_ranks_every_candidate_with_reasons_naming_what_is_installed(
    classifier: Path, linux_cpu_box: dict[str, str]
) -> None:
    result = run_cli("explain", str(classifier), "--all", "--json", env=linux_cpu_box)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    ranked = [(c["backend"], c["device"]) for c in plan["candidates"]]
    assert ranked == [
        ("tensorrt", "cuda:0"),
        ("onnxruntime", "cuda:0"),
        ("onnxruntime", "coreml"),
        ("onnxruntime", "cpu"),
    ]
    assert plan["hidden_devices"] == []
    assert plan["candidates"][0]["reason"].startswith("no NVIDIA GPU for TensorRT")
    cuda_reason = plan["candidates"][1]["reason"]
    gpu_build_installed = any(d.metadata["Name"] == "onnxruntime-gpu" for d in importlib.metadata.distributions())
    assert ("onnxruntime-gpu" in cuda_reason) == gpu_build_installed


def test_explain_json_says_what_was_asked_and_what_was_chosen(classifier: Path, linux_cpu_box: dict[str, str]) -> None:
    result = run_cli("explain", str(classifier), "--backend", "onnx", "--json", env=linux_cpu_box)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert (plan["requested_backend"], plan["requested_device"]) == ("onnxruntime", "auto")
    assert (plan["backend"], plan["device"]) == ("onnxruntime", "cpu")
    assert [hidden["kind"] for hidden in plan["hidden_devices"]] == ["cuda", "coreml"]


def test_a_mistyped_backend_is_one_line_naming_the_one_meant(classifier: Path, linux_cpu_box: dict[str, str]) -> None:
    result = run_cli("explain", str(classifier), "--backend", "onnxrutime", env=linux_cpu_box)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown backend 'onnxrutime': did you mean 'onnxruntime'?")
    assert len(result.stderr.strip().splitlines()) == 1

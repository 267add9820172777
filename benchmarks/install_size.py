"""Installed size of ``modelrt[onnx]`` and of inference-models, in fresh virtual environments (item 7).

Size = the environment's ``site-packages`` minus that of an empty venv (pip and setuptools), with the
largest distributions named. ``modelrt[onnx]`` is installed from this checkout (core, ONNX plugin with
its ``cpu`` extra, the meta-package), bytecode compiled as pip does. The check for frameworks looks
for torch, TensorFlow, triton and every ``nvidia-*`` (CUDA) distribution by name.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import envs

TOOL = Path(__file__).with_name("tools") / "dist_sizes.py"
FRAMEWORKS = ("torch", "torchvision", "tensorflow", "triton", "jax")


def _measure(python: Path) -> dict[str, Any]:
    completed = subprocess.run([str(python), str(TOOL)], capture_output=True, text=True, check=True)
    measured: dict[str, Any] = json.loads(completed.stdout)
    return measured


def is_framework(name: str) -> bool:
    lowered = name.lower()
    return lowered in FRAMEWORKS or lowered.startswith(("nvidia-", "cuda-"))


def describe(python: Path, empty_bytes: int, top: int = 6) -> dict[str, Any]:
    measured = _measure(python)
    distributions = {
        name: info for name, info in measured["distributions"].items() if name.lower() not in ("pip", "setuptools")
    }
    largest = sorted(distributions.items(), key=lambda item: -item[1]["bytes"])[:top]
    return {
        "megabytes": (measured["site_packages_bytes"] - empty_bytes) / 1e6,
        "distributions": len(distributions),
        "largest_mb": {name: round(info["bytes"] / 1e6, 1) for name, info in largest},
        "frameworks": sorted(name for name in distributions if is_framework(name)),
    }


def run(modelrt_python: Path, include_reference: bool = True) -> dict[str, Any]:
    """The ``install_size`` part of the report; ``modelrt_python`` is a fresh ``modelrt[onnx]`` install."""
    empty = _measure(envs.build(envs.EMPTY))["site_packages_bytes"]
    report: dict[str, Any] = {"empty_venv_mb": empty / 1e6, "installs": {}}
    report["installs"]["modelrt[onnx]"] = describe(modelrt_python, empty)
    if include_reference:
        report["installs"]["inference-models[onnx-cpu]"] = describe(envs.require(envs.INFERENCE_MODELS), empty)
        if envs.INFERENCE_MODELS_BASE.is_built():
            report["installs"]["inference-models"] = describe(envs.INFERENCE_MODELS_BASE.python, empty)
    return report

"""Start-up costs, each in fresh processes (issue item 6 and the process-to-first-prediction target).

- ``import modelrt`` and plugin discovery: seconds, modules loaded, and whether anything heavy came in;
  ``import inference_models`` likewise, in its own environment.
- ``modelrt --version`` as a whole process, next to ``python -c pass`` (the interpreter's own start).
- process start to first prediction on the benchmark image: raw onnxruntime (OpenCV + the numpy floor),
  modelrt as users call it (``load`` then ``predict``), and inference-models.

modelrt and raw onnxruntime run in the fresh ``modelrt-size`` environment (a regular, bytecode-compiled
install of this checkout, as pip leaves it), inference-models in its own (pip-installed, compiled): an
editable development install would compile every source file at each start on a machine that sets
``PYTHONDONTWRITEBYTECODE``, which measures the machine, not the runtime.

Every measurement is repeated ``repeats`` times, the kinds interleaved round by round, and reported as
the median (with min and max, since single processes are noisy here).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import envs
from benchmarks.models import BenchModel

PROBE = Path(__file__).with_name("tools") / "startup_probe.py"


def _spread(values: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values)}


def _probe(python: Path, *arguments: str) -> tuple[float, dict[str, Any]]:
    """Run the probe; returns (seconds from process start to the moment it reported, its JSON)."""
    start = time.monotonic()
    completed = subprocess.run(
        [str(python), str(PROBE), *arguments], capture_output=True, text=True, check=False, cwd=envs.REPO
    )
    wall = time.monotonic() - start
    if completed.returncode != 0:
        raise RuntimeError(f"startup probe {' '.join(arguments)} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if "first_prediction_monotonic" in result:
        return result["first_prediction_monotonic"] - start, result
    return wall, result


def _process_seconds(command: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(command, capture_output=True, check=True)
    return time.monotonic() - start


def _modelrt_command(python: Path) -> list[str]:
    script = python.with_name("modelrt")
    return [str(script)] if script.exists() else [str(python), "-m", "modelrt"]


def run(
    model: BenchModel,
    image: Path,
    threads: int,
    repeats: int = 5,
    reference: bool = True,
    python: Path | None = None,
) -> dict[str, Any]:
    """The ``startup`` part of the report; ``python`` has modelrt[onnx] installed (default: this one)."""
    python = python or Path(sys.executable)
    reference_python = envs.require(envs.INFERENCE_MODELS) if reference else None
    image_arguments = ["--image", str(image), "--threads", str(threads)]
    kinds: dict[str, Callable[[], tuple[float, dict[str, Any]]]] = {
        "python -c pass": lambda: (_process_seconds([str(python), "-c", "pass"]), {}),
        "modelrt --version": lambda: (_process_seconds([*_modelrt_command(python), "--version"]), {}),
        "import modelrt": lambda: _probe(python, "import-modelrt"),
        "first prediction: raw onnxruntime": lambda: _probe(
            python,
            "first-raw",
            "--model",
            str(model.onnx),
            "--size",
            str(model.input_size),
            "--repo",
            str(envs.REPO),
            *image_arguments,
        ),
        "first prediction: modelrt": lambda: _probe(
            python, "first-modelrt", "--model", str(model.modelrt_package), *image_arguments
        ),
        "first prediction: modelrt (warmup=0)": lambda: _probe(
            python, "first-modelrt", "--model", str(model.modelrt_package), "--warmup", "0", *image_arguments
        ),
    }
    if reference_python is not None:
        kinds["import inference_models"] = lambda: _probe(reference_python, "import-inference-models")
        kinds["first prediction: inference-models"] = lambda: _probe(
            reference_python, "first-inference-models", "--model", str(model.inference_models_package), *image_arguments
        )
    walls: dict[str, list[float]] = {name: [] for name in kinds}
    details: dict[str, list[dict[str, Any]]] = {name: [] for name in kinds}
    for _ in range(repeats):
        for name, measure in kinds.items():
            wall, detail = measure()
            walls[name].append(wall)
            details[name].append(detail)
    report: dict[str, Any] = {"repeats": repeats, "threads": threads, "python": str(python), "processes": {}}
    for name in kinds:
        report["processes"][name] = _spread(walls[name])
    # Both ran in the same round, moments apart: a burst of load slows both, so their ratio holds.
    ours, raw = walls["first prediction: modelrt"], walls["first prediction: raw onnxruntime"]
    report["first_prediction_paired"] = statistics.median(a / b for a, b in zip(ours, raw, strict=True))
    report["import_modelrt"] = _import_summary(details["import modelrt"], with_discovery=True)
    if reference_python is not None:
        report["import_inference_models"] = _import_summary(details["import inference_models"], with_discovery=False)
    return report


def _import_summary(rows: list[dict[str, Any]], with_discovery: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "import": _spread([row["import_s"] for row in rows]),
        "import_modules": rows[-1]["import_modules"],
        "import_heavy": rows[-1]["import_heavy"],
    }
    if with_discovery:
        summary |= {
            "discovery": _spread([row["discovery_s"] for row in rows]),
            "discovery_modules": rows[-1]["discovery_modules"],
            "discovery_heavy": rows[-1]["discovery_heavy"],
            "plugins": rows[-1]["plugins"],
        }
    return summary

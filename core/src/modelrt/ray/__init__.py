"""modelrt on Ray: batch inference with Ray Data and a served model with Ray Serve.

Ray is optional (``pip install "modelrt[ray]"``) and nothing here imports it until a predictor, a
deployment or a server is built, so ``import modelrt`` and ``import modelrt.ray`` stay light.

    import ray
    from modelrt.ray import ModelPredictor

    images = ray.data.read_binary_files("photos/")               # column "bytes": encoded images
    found = images.map_batches(
        ModelPredictor,
        fn_constructor_kwargs={"model": "/models/yolov8n.onnx", "image_column": "bytes"},
        compute=ray.data.ActorPoolStrategy(size=2),               # two actors,
        num_cpus=1, batch_size=16,                                # one core and one thread each
    )
    found.write_parquet("predictions/")

``predict_dataset(images, "yolov8n.onnx", concurrency=2, image_column="bytes")`` says the same.

``modelrt.ray.data`` holds ``ModelPredictor`` and ``predict_dataset``; ``modelrt.ray.serve`` holds
the Serve deployment and ``run_server`` (what ``modelrt serve`` runs).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

from modelrt.errors import ModelRTError

if TYPE_CHECKING:
    from modelrt.ray.data import ModelPredictor, predict_dataset
    from modelrt.ray.serve import ModelServer, run_server, server_app, start_server

__all__ = [
    "INSTALL_HINT",
    "ModelPredictor",
    "ModelServer",
    "RayMissingError",
    "import_ray",
    "predict_dataset",
    "run_server",
    "server_app",
    "start_server",
    "worker_reference",
]

#: The command that installs what this package needs.
INSTALL_HINT = 'pip install "modelrt[ray]"'

_EXPORTS = {
    "ModelPredictor": "modelrt.ray.data",
    "predict_dataset": "modelrt.ray.data",
    "ModelServer": "modelrt.ray.serve",
    "run_server": "modelrt.ray.serve",
    "server_app": "modelrt.ray.serve",
    "start_server": "modelrt.ray.serve",
}


class RayMissingError(ModelRTError):
    """Ray, or the part of it a feature needs (Ray Data, Ray Serve), is not installed."""


def import_ray(part: str = "") -> ModuleType:
    """``ray`` or one of its parts (``"data"``, ``"serve"``), or ``RayMissingError`` with the install command.

    Ray's parts have their own dependencies (pyarrow for Data, FastAPI and uvicorn for Serve), so a
    bare ``pip install ray`` imports ``ray`` but not ``ray.serve``: each part is checked where it is used.
    """
    name = f"ray.{part}" if part else "ray"
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise RayMissingError(
            f"{name} cannot be imported ({error}); modelrt's Ray integration needs Ray with its Data and "
            f"Serve parts: {INSTALL_HINT}"
        ) from None


def worker_reference(model: str | os.PathLike[str]) -> str:
    """``model`` as a worker reads it: an existing relative path made absolute, since Ray workers do not
    share the driver's working directory; anything else (``hf://...``) unchanged."""
    text = os.fspath(model)
    return os.path.abspath(text) if os.path.exists(text) else text


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelrt.ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

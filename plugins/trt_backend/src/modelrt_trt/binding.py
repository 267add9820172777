"""The one seam between modelrt and a TensorRT Python module, chosen by capability, not by version.

Three products share TensorRT's API: ``tensorrt`` (the full library, or JetPack's system bindings),
``tensorrt_lean`` (runtime only, runs version-compatible plans) and ``tensorrt_rtx`` (TensorRT for RTX,
which also builds plans without a GPU). Each is a *flavour*: a plan records the flavour that built it and
is never handed to another. ``find_flavours`` looks for the modules without importing them;
``TrtModule`` wraps an imported one and answers what it can do:

- ``io_tensor_api``: named I/O tensors (``num_io_tensors``, ``set_input_shape``, ``set_tensor_address``,
  ``execute_async_v3``), TensorRT 10 and later. Older bindings (``num_bindings``/``execute_v2``, JetPack 5
  and 6.0) are refused with the reason rather than half-supported.
- ``strongly_typed_only``: the builder has no ``BuilderFlag.FP16`` (TensorRT 11, TensorRT for RTX), so an
  fp16 engine must come from an fp16 ONNX model.
- ``can_build``: the module has a ``Builder`` (the lean runtime has none).

Importing this module imports no TensorRT; ``import_flavour`` does.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import attrs

from modelrt.engines.facts import EngineTensor
from modelrt.errors import HardwareError

__all__ = ["FLAVOUR_MODULES", "MINIMUM_MAJOR", "TrtModule", "find_flavours", "import_flavour"]

#: Flavour name → Python module, in the order ``auto`` prefers them on an NVIDIA GPU.
FLAVOUR_MODULES = {"tensorrt": "tensorrt", "tensorrt_rtx": "tensorrt_rtx", "tensorrt_lean": "tensorrt_lean"}
#: The oldest TensorRT whose Python API the seam speaks (named I/O tensors).
MINIMUM_MAJOR = 10


def find_flavours() -> tuple[str, ...]:
    """The flavours whose module Python can import here, without importing any of them."""
    found = []
    for flavour, module in FLAVOUR_MODULES.items():
        try:
            if importlib.util.find_spec(module) is not None:
                found.append(flavour)
        except (ImportError, ValueError):  # a broken or half-installed package is simply absent
            continue
    return tuple(found)


def import_flavour(flavour: str) -> TrtModule:
    """Import the module of ``flavour``; a module that fails to import is a ``HardwareError`` with why."""
    module_name = FLAVOUR_MODULES[flavour]
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # a wheel without its libraries raises OSError, ImportError or worse
        raise HardwareError(
            f"the {module_name} module is installed but does not import: {type(error).__name__}: {error}. "
            f"Reinstall it (for PyPI wheels: `pip install --force-reinstall modelrt-trt[cu12]`, or [cu13] for "
            "CUDA 13 drivers; on a Jetson, TensorRT comes from JetPack)"
        ) from None
    return TrtModule(module=module, flavour=flavour)


@attrs.frozen
class TrtModule:
    """An imported TensorRT module and what it can do."""

    module: Any
    flavour: str

    @property
    def version(self) -> str:
        return str(getattr(self.module, "__version__", "unknown"))

    @property
    def major(self) -> int | None:
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def io_tensor_api(self) -> bool:
        engine = getattr(self.module, "ICudaEngine", None)
        return engine is not None and hasattr(engine, "num_io_tensors")

    @property
    def strongly_typed_only(self) -> bool:
        return not hasattr(getattr(self.module, "BuilderFlag", None), "FP16")

    @property
    def can_build(self) -> bool:
        return hasattr(self.module, "Builder") and hasattr(self.module, "OnnxParser")

    @property
    def describe(self) -> str:
        """``TensorRT 10.3.0``, ``TensorRT for RTX 1.7.1`` or ``TensorRT lean runtime 11.4.0``."""
        names = {"tensorrt": "TensorRT", "tensorrt_rtx": "TensorRT for RTX", "tensorrt_lean": "TensorRT lean runtime"}
        return f"{names[self.flavour]} {self.version}"

    def check_supported(self) -> None:
        """Refuse bindings the seam does not speak, naming the version and what to install."""
        if not self.io_tensor_api:
            raise HardwareError(
                f"{self.describe} is too old for modelrt-trt, which needs TensorRT {MINIMUM_MAJOR} or newer "
                "(named I/O tensors). Install a newer TensorRT (`pip install modelrt-trt[cu12]`), or on a "
                "Jetson use JetPack 6.1 or newer (TensorRT 10.3); until then use the onnxruntime backend"
            )

    def numpy_dtype(self, trt_dtype: Any) -> str:
        """The numpy name of a TensorRT data type (``float16``), through the module's own ``nptype``."""
        import numpy as np

        return str(np.dtype(self.module.nptype(trt_dtype)))

    def engine_tensors(self, engine: Any) -> tuple[EngineTensor, ...]:
        """The engine's inputs and outputs in its own order, names and shapes read from it (never assumed)."""
        input_mode = self.module.TensorIOMode.INPUT
        tensors = []
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            mode = "input" if engine.get_tensor_mode(name) == input_mode else "output"
            shape = tuple(int(dim) for dim in engine.get_tensor_shape(name))
            tensors.append(EngineTensor(name, mode, self.numpy_dtype(engine.get_tensor_dtype(name)), shape))
        return tuple(tensors)

"""What a TensorRT engine was built for: the facts a modelrt engine container records.

An engine runs only on the TensorRT build, GPU and platform it was made for, and TensorRT itself says
little when it does not fit (``deserialize_cuda_engine`` returns ``None`` with one log line). So modelrt
writes these facts next to every plan it builds and checks them against the host *before* the plan is
handed to TensorRT. Plans from elsewhere (bare ``ftrt`` plans, Ultralytics ``.engine`` files) carry
fewer facts: what a file does not record is ``None`` and is reported as unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import cattrs

__all__ = ["FLAVOURS", "HARDWARE_COMPATIBILITY_LEVELS", "EngineFacts", "EngineTensor", "ProfileShape"]

#: TensorRT products whose plans modelrt knows; a plan of one is never handed to another.
FLAVOURS = ("tensorrt", "tensorrt_rtx", "tensorrt_lean")
#: TensorRT's ``HardwareCompatibilityLevel`` names, in modelrt's spelling.
HARDWARE_COMPATIBILITY_LEVELS = ("none", "ampere+", "same-compute-capability")


def _int_tuple(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(item) for item in value)


@attrs.frozen
class EngineTensor:
    """One input or output of an engine. ``shape`` uses -1 for a dimension chosen at run time."""

    name: str
    mode: str  # "input" or "output"
    dtype: str  # numpy spelling: "float32", "float16", "int64", ...
    shape: tuple[int, ...] = attrs.field(converter=_int_tuple)


@attrs.frozen
class ProfileShape:
    """The shapes an optimisation profile accepts for one input: smallest, tuned-for and largest."""

    input: str
    min: tuple[int, ...] = attrs.field(converter=_int_tuple)
    opt: tuple[int, ...] = attrs.field(converter=_int_tuple)
    max: tuple[int, ...] = attrs.field(converter=_int_tuple)


def _tensors(value: Iterable[EngineTensor]) -> tuple[EngineTensor, ...]:
    return tuple(value)


def _profiles(value: Iterable[ProfileShape]) -> tuple[ProfileShape, ...]:
    return tuple(value)


@attrs.frozen
class EngineFacts:
    """The build facts of one plan; ``None`` means the file does not record it.

    ``flavour`` is the TensorRT product (``FLAVOURS``); ``tensorrt_version`` its version (``10.3.0``);
    ``cuda_version`` the CUDA runtime TensorRT was built against and ``driver_version`` the driver of the
    building host; ``gpu_name`` and ``compute_capability`` (``"8.6"``) the GPU it was built on;
    ``hardware_compatibility`` one of ``HARDWARE_COMPATIBILITY_LEVELS`` (``none``: only GPUs of the
    compute capability it was built on); ``version_compatible``: built to run on later
    TensorRT runtimes of the same major (lean runtime); ``l4t`` the Jetson L4T release (``36.4.0``), for
    Jetson-built plans; ``dla_core`` the DLA core it targets (``None``: the GPU); ``precision``
    (``fp32``/``fp16``/``int8``); ``profiles`` the optimisation profile shapes; ``tensors`` the I/O;
    ``onnx_sha256`` the model it was built from; ``builder`` what wrote it (``modelrt-trt 0.1.0``).
    """

    flavour: str | None = None
    tensorrt_version: str | None = None
    cuda_version: str | None = None
    driver_version: str | None = None
    gpu_name: str | None = None
    compute_capability: str | None = None
    hardware_compatibility: str | None = None
    version_compatible: bool | None = None
    l4t: str | None = None
    dla_core: int | None = None
    precision: str | None = None
    profiles: tuple[ProfileShape, ...] = attrs.field(default=(), converter=_profiles)
    tensors: tuple[EngineTensor, ...] = attrs.field(default=(), converter=_tensors)
    onnx_sha256: str | None = None
    builder: str | None = None

    @property
    def inputs(self) -> tuple[EngineTensor, ...]:
        return tuple(tensor for tensor in self.tensors if tensor.mode == "input")

    @property
    def outputs(self) -> tuple[EngineTensor, ...]:
        return tuple(tensor for tensor in self.tensors if tensor.mode == "output")

    def unknown(self) -> tuple[str, ...]:
        """The names of the facts this file does not record."""
        return tuple(field.name for field in attrs.fields(EngineFacts) if getattr(self, field.name) in (None, ()))

    def to_dict(self) -> dict[str, Any]:
        return _converter.unstructure(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineFacts:
        """Facts from a container header; keys this version does not know are ignored (newer writers)."""
        known = {field.name for field in attrs.fields(EngineFacts)}
        return _converter.structure({key: value for key, value in data.items() if key in known}, EngineFacts)


def _strict(kind: type) -> Any:
    """A structure hook that takes values of ``kind`` as they are, and refuses others (no ``"no"`` → True)."""

    def structure(value: Any, _type: Any) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


_converter = cattrs.Converter()
for _kind in (str, bool, int):
    _converter.register_structure_hook(_kind, _strict(_kind))

"""Turning plan bytes into a TensorRT engine, in the one order that cannot crash the process.

1. ``api.check_supported()``: bindings older than TensorRT 10 are refused with the reason.
2. ``cuda.check_device``: TensorRT's lean runtime segfaults deserialising a plan when CUDA has no driver
   or device, so CUDA is asked first and its answer becomes a ``HardwareError``.
3. ``cuda.set_device``, then one ``trt.Runtime`` per engine (``dla:N`` sets ``Runtime.DLA_core``).
4. ``deserialize_cuda_engine`` inside ``logger.capture()``: TensorRT answers a plan that does not fit
   (another TensorRT version, another GPU, not a plan) with ``None`` and a log line; that line is quoted
   in the ``HardwareError``.

The ``Runtime`` must outlive its engine, so both travel together in an ``EngineHandle``.
TensorRT is already imported when this runs (``api.module``); this module imports neither it nor CUDA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from modelrt.errors import HardwareError
from modelrt_trt.cuda import cuda_device_index
from modelrt_trt.logs import make_logger, quoted

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt_trt.binding import TrtModule
    from modelrt_trt.cuda import CudaRuntime

__all__ = ["EngineHandle", "deserialize_engine"]

_REBUILD = "rebuild it on this machine with `modelrt build` (it records what each engine was built for)"


@attrs.frozen
class EngineHandle:
    """A deserialised ``ICudaEngine`` and the ``Runtime`` that made it (kept alive as long as the engine)."""

    engine: Any
    runtime: Any
    device: Device


def deserialize_engine(api: TrtModule, plan: bytes, device: Device, cuda: CudaRuntime) -> EngineHandle:
    """The engine of ``plan`` on ``device``; ``HardwareError`` with TensorRT's reason when it does not fit."""
    api.check_supported()
    index = cuda_device_index(device)
    cuda.check_device(index)
    cuda.set_device(index)
    trt = api.module
    logger = make_logger(trt)
    with logger.capture() as said:
        try:
            runtime = trt.Runtime(logger)
        except TypeError as error:  # pybind's answer when TensorRT's factory returns nullptr
            said.append(f"{type(error).__name__}: {error}")
            runtime = None
    if runtime is None:
        raise HardwareError(
            f"{api.describe} could not start its runtime on {device} ({quoted(said)}); check the GPU and driver "
            "with `nvidia-smi` and `modelrt env`"
        )
    if device.kind == "dla":
        _use_dla_core(runtime, device.index or 0)
    with logger.capture() as said:
        engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise HardwareError(
            f"{api.describe} refused this engine on {device} ({quoted(said)}): the plan does not fit this TensorRT "
            f"or GPU, or is not a TensorRT plan; {_REBUILD}"
        )
    return EngineHandle(engine=engine, runtime=runtime, device=device)


def _use_dla_core(runtime: Any, core: int) -> None:
    """Point the runtime at DLA core ``core``, refusing one this SoC does not have."""
    cores = int(runtime.num_DLA_cores)
    if core >= cores:
        has = f"has {cores} DLA core{'s' if cores != 1 else ''}" if cores else "has no DLA cores"
        choose = (
            f"; use dla:0 to dla:{cores - 1}" if cores else " (DLA exists on Jetson AGX and NX modules); use cuda:0"
        )
        raise HardwareError(f"dla:{core} is absent: this device {has}{choose}")
    runtime.DLA_core = core

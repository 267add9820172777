"""An fp16 copy of an fp32 ONNX model, for TensorRT builders that are strongly typed only.

TensorRT 11 and TensorRT for RTX have no ``BuilderFlag.FP16``: a strongly typed network runs in the types
its ONNX model states, so an fp16 engine needs an fp16 model. onnxconverter-common rewrites the weights
and activations to float16 and keeps the graph's inputs and outputs float32 (``keep_io_types``), so a
session built from either engine takes and returns the same arrays.

Imported only at build time; onnx and onnxconverter-common (the plugin's extras) are imported on call.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from modelrt.errors import ModelRTError, PackageError

__all__ = ["to_fp16_onnx"]

logger = logging.getLogger("modelrt.trt")


def _import_converter() -> tuple[Any, Any]:
    """``onnx`` and ``onnxconverter_common.float16``; absent ones are a ``ModelRTError`` naming the fix."""
    try:
        import onnx
        from onnxconverter_common import float16
    except ImportError as error:
        raise ModelRTError(
            f"an fp16 engine for a strongly typed TensorRT needs an fp16 ONNX model, and converting one needs "
            f"onnx and onnxconverter-common, which do not import here ({error}). Install them "
            '(`pip install onnxconverter-common onnx`, or `pip install "modelrt-trt[cu12]"`), or build fp32'
        ) from None
    return onnx, float16


def to_fp16_onnx(onnx_model: bytes) -> bytes:
    """``onnx_model`` with float32 weights and activations as float16, its inputs and outputs still float32.

    A model that already holds float16 tensors is returned unchanged: converting it twice would insert
    casts around casts, which the converter itself refuses.
    """
    onnx, float16 = _import_converter()
    try:
        model = onnx.load_from_string(onnx_model)
    except Exception as error:  # protobuf raises DecodeError (or RuntimeError) for bytes that are not a model
        raise PackageError(
            f"the ONNX model does not parse ({type(error).__name__}: {error}), so no fp16 copy can be made. "
            "Check that the artifact is an ONNX file and its checksum matches"
        ) from None
    if float16.check_if_fp16_ready(model.graph):
        logger.info("the ONNX model already holds float16 tensors; building from it as it is")
        return onnx_model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            converted = float16.convert_float_to_float16(model, keep_io_types=True)
        except Exception as error:  # the converter raises ValueError/KeyError on graphs it cannot rewrite
            raise ModelRTError(
                f"converting the ONNX model to fp16 failed ({type(error).__name__}: {error}). Build this model "
                "in fp32 (`--precision fp32`), or convert it yourself and build from the fp16 model"
            ) from None
    # The converter warns when a weight is out of float16's range and gets clipped: worth a log line, since
    # it can change the model's outputs, but not a Python warning the caller never asked for.
    for warning in caught:
        logger.warning("fp16 conversion: %s", warning.message)
    return bytes(converted.SerializeToString())

"""The ONNX operators numpy-reference implements, with the semantics of opset 13 and newer.

Each operator takes its inputs positionally (``None`` for an omitted optional input) and its
attributes as keywords, so a model using an attribute an operator does not take is refused at load
time, by signature, rather than run wrongly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _gemm(
    a: Any, b: Any, c: Any = None, *, alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0
) -> Any:
    # The keyword names are ONNX's attribute names, so a model's attributes bind to them as they are.
    product = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return product if c is None else product + beta * c


def _softmax(x: Any, *, axis: int = -1) -> Any:
    exponentials = np.exp(x - x.max(axis=axis, keepdims=True))
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


def _conv(
    x: Any,
    weights: Any,
    bias: Any = None,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilations: tuple[int, int] = (1, 1),
) -> Any:
    """2-D convolution of [N, C, H, W] by [M, C, kH, kW] as one einsum over strided windows."""
    top, left, bottom, right = pads
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    kernel_h, kernel_w = weights.shape[2:]
    window = ((kernel_h - 1) * dilations[0] + 1, (kernel_w - 1) * dilations[1] + 1)
    windows = sliding_window_view(padded, window, axis=(2, 3))
    windows = windows[:, :, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]
    output = np.einsum("nchwij,mcij->nmhw", windows, weights, optimize=True)
    return output if bias is None else output + bias.reshape(1, -1, 1, 1)


def _reshape(x: Any, shape: Any) -> Any:
    # A 0 in the target shape copies that dimension of the input (ONNX's default, allowzero=0).
    return x.reshape([x.shape[index] if size == 0 else int(size) for index, size in enumerate(shape)])


def _flatten(x: Any, *, axis: int = 1) -> Any:
    axis = axis if axis >= 0 else axis + x.ndim
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


def _concat(*tensors: Any, axis: int) -> Any:
    return np.concatenate(tensors, axis=axis)


def _transpose(x: Any, *, perm: tuple[int, ...] | None = None) -> Any:
    return np.transpose(x, perm)


def _constant(*, value: Any) -> Any:
    return value


OPERATORS: dict[str, Callable[..., Any]] = {
    "Identity": lambda x: x,
    "Constant": _constant,
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    # ONNX divides integers with truncation toward zero, which is what casting the quotient back does.
    "Div": lambda a, b: (a / b).astype(np.result_type(a, b)),
    "Relu": lambda x: np.maximum(x, 0),
    "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "Softmax": _softmax,
    "MatMul": lambda a, b: a @ b,
    "Gemm": _gemm,
    "Conv": _conv,
    "Transpose": _transpose,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Concat": _concat,
}

#: Attributes accepted only at their default value (they are dropped then, and refused otherwise).
DEFAULT_ONLY_ATTRIBUTES: dict[str, object] = {"group": 1, "auto_pad": "NOTSET", "allowzero": 0}

#: Attributes that repeat what the inputs already say (Conv's kernel_shape is the weights' shape).
REDUNDANT_ATTRIBUTES = frozenset({"kernel_shape"})

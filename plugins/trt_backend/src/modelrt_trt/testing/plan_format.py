"""The plan a fake TensorRT builder writes and a fake runtime reads: ``ftrt`` then a JSON network.

The network is what the fake engine computes, so a test can check real numbers end to end: every output
is ``scale * input`` of one named input (same shape and dtype as that input), e.g.
``{"inputs": [{"name": "images", "dtype": "float32", "shape": [-1, 3, 8, 8]}],
"outputs": [{"name": "scores", "source": "images", "scale": 2.0}],
"profiles": [{"images": {"min": [1, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [8, 3, 8, 8]}}],
"precision": "fp32", "flavour": "tensorrt", "version": "10.3.0", "compute_capability": "8.6"}``.
A runtime whose ``flavour``, ``version`` or ``compute_capability`` differs from the plan's refuses it the
way TensorRT does: ``deserialize_cuda_engine`` logs an error and returns ``None``.
"""

from __future__ import annotations

import json
from typing import Any

PLAN_MAGIC = b"ftrt"


def encode_plan(network: dict[str, Any]) -> bytes:
    return PLAN_MAGIC + json.dumps(network, sort_keys=True).encode("utf-8")


def decode_plan(data: bytes) -> dict[str, Any] | None:
    """The network of a fake plan; ``None`` for bytes that are not one (TensorRT's answer to garbage)."""
    if bytes(data[:4]) != PLAN_MAGIC:
        return None
    try:
        network = json.loads(bytes(data[4:]).decode("utf-8"))
    except ValueError:
        return None
    return network if isinstance(network, dict) else None

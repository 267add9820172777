"""A loaded graph, run node by node with numpy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from modelrt import Device, InputError, ModelClosedError
from modelrt_example_numpy.graph import Graph


class NumpyReferenceSession:
    """Runs a ``Graph``. ``run`` keeps its intermediate values local, so threads never share state."""

    provider = "numpy"

    def __init__(self, graph: Graph, device: Device) -> None:
        self.inputs = graph.inputs
        self.outputs = graph.outputs
        self.device = device
        self._graph: Graph | None = graph

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        graph = self._graph
        if graph is None:
            raise ModelClosedError("this numpy-reference session was closed; load the model again to run it")
        expected = {info.name for info in graph.inputs}
        if set(inputs) != expected:
            raise InputError(f"the model takes the inputs {sorted(expected)}, but got {sorted(inputs)}")
        values = {**graph.constants, **{name: np.asarray(array) for name, array in inputs.items()}}
        for step in graph.steps:
            arguments = [values[name] if name else None for name in step.inputs]
            try:
                values[step.output] = step.operator(*arguments, **step.attributes)
            except (ValueError, TypeError, IndexError) as exc:  # numpy's ways of refusing a shape or dtype
                raise InputError(
                    f"node {step.name!r} ({step.op_type}) cannot run on these inputs ({exc}); the model "
                    f"expects {[f'{info.name}: {info.dtype}{list(info.shape)}' for info in graph.inputs]}"
                ) from exc
        return {info.name: values[info.name] for info in graph.outputs}

    def close(self) -> None:
        self._graph = None

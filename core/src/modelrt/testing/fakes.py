"""Fake backends for tests of planning and loading: declared, ranked and loaded like real ones.

``fake_backend_plugin`` builds a plugin object whose backend class is published in this module under a
unique name, so its ``factory`` string resolves through the normal ``"module:Class"`` import path.
The sessions it loads compute a fixed function of their input, so results are known exactly.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelrt.backend import Artifact, BuildOutcome, BuildRequest, TensorInfo
from modelrt.devices import Device
from modelrt.errors import ModelClosedError, ModelRTError
from modelrt.hookspecs import hookimpl
from modelrt.options import RunOptions
from modelrt.specs import Availability, BackendSpec

__all__ = ["FakeSession", "fake_backend_plugin"]

_counter = itertools.count()


class FakeSession:
    """A session whose single output is ``compute(input)``; records how it was loaded."""

    def __init__(
        self,
        compute: Callable[[Any], Any],
        device: Device,
        provider: str,
        artifact: Artifact,
        options: RunOptions,
        input_shape: Sequence[int | str | None] = ("batch", 3, "height", "width"),
    ) -> None:
        self.inputs = [TensorInfo("images", tuple(input_shape), "float32")]
        self.outputs = [TensorInfo("output", ("batch", "n"), "float32")]
        self.device = device
        self.provider = provider
        self.artifact = artifact
        self.options = options
        self.runs = 0
        self._compute = compute
        self._closed = False
        self._lock = threading.Lock()

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self._closed:
            raise ModelClosedError("session is closed")
        with self._lock:
            self.runs += 1
        return {"output": self._compute(inputs["images"])}

    def close(self) -> None:
        self._closed = True


def fake_backend_plugin(
    name: str,
    *,
    formats: Sequence[str] = ("onnx",),
    devices: Sequence[str] = ("cpu",),
    priority: int = 10,
    usable: bool | Callable[[Device], bool] = True,
    reason: str = "fake runtime present",
    fix: str | None = "pip install fake-runtime",
    load_error: ModelRTError | None = None,
    compute: Callable[[Any], Any] | None = None,
    loads: list[Any] | None = None,
    builds: list[Any] | None = None,
) -> Any:
    """A plugin registering one fake backend.

    ``usable`` decides availability (a bool, or a function of the device); ``load_error`` is raised
    by ``load``; ``compute`` maps the input batch to the output (default: zeros [batch, 1]);
    ``loads`` (a list) receives every session loaded, for assertions. With ``builds`` (a list) the
    backend is also an ``EngineBuilder``: each ``build`` call appends ``(artifact, device, request)``.
    """

    def default_compute(batch: Any) -> Any:
        import numpy as np

        return np.zeros((batch.shape[0], 1), np.float32)

    class FakeBackend:
        def availability(self, env: Any, device: Device) -> Availability:
            ok = usable(device) if callable(usable) else usable
            return Availability(ok, reason if ok else f"{name} cannot run on {device}", None if ok else fix)

        def load(self, artifact: Artifact, device: Device, options: RunOptions) -> FakeSession:
            if load_error is not None:
                raise load_error
            session = FakeSession(compute or default_compute, device, f"{name}:{device}", artifact, options)
            if loads is not None:
                loads.append(session)
            return session

    class FakeBuildingBackend(FakeBackend):
        def build(
            self,
            artifact: Artifact,
            device: Device,
            options: RunOptions,
            request: BuildRequest,
            progress: Callable[[str, int, int], None] | None = None,
        ) -> BuildOutcome:
            assert builds is not None
            builds.append((artifact, device, request))
            if progress is not None:
                progress("building", 1, 1)
            engine = artifact.file.with_suffix(".engine")
            return BuildOutcome(artifact.role, artifact.file.name, engine, False, 0.0, f"{name} built it for {device}")

    backend_class = FakeBackend if builds is None else FakeBuildingBackend
    class_name = f"FakeBackend_{next(_counter)}"
    backend_class.__name__ = backend_class.__qualname__ = class_name
    setattr(sys.modules[__name__], class_name, backend_class)
    spec = BackendSpec(name, tuple(formats), tuple(devices), priority, f"{__name__}:{class_name}")

    class Plugin:
        @hookimpl
        def register_backends(self) -> list[BackendSpec]:
            return [spec]

    Plugin.__name__ = f"{name}-plugin"
    return Plugin()

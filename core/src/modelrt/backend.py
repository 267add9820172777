"""The runtime protocols a backend plugin implements: ``Backend`` and the ``Session`` it loads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    import numpy as np

    from modelrt.devices import Device
    from modelrt.host_environment import Environment
    from modelrt.options import RunOptions
    from modelrt.specs import Availability

__all__ = ["Artifact", "Backend", "Session", "TensorInfo"]


@attrs.frozen
class TensorInfo:
    """A model input or output: name, shape (ints, or strings for symbolic dims, None if unknown), dtype."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str


@attrs.frozen
class Artifact:
    """A verified artifact file of a package, as a backend receives it.

    ``file`` is absolute and already checked (inside the package, size and sha256 as the manifest
    says); ``package_root`` lets a backend check side files (e.g. ONNX external data) stay inside.
    """

    role: str
    format: str
    file: Path
    package_root: Path
    precision: str | None = None
    target: Mapping[str, Any] | None = None


@runtime_checkable
class Session(Protocol):
    """A loaded network, ready to run. ``run`` must be safe to call from several threads."""

    inputs: Sequence[TensorInfo]
    outputs: Sequence[TensorInfo]
    device: Device
    provider: str

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network on named input arrays and return all outputs by name."""
        ...

    def close(self) -> None:
        """Release the session's memory; ``run`` afterwards raises ``ModelClosedError``."""
        ...


@runtime_checkable
class Backend(Protocol):
    """A way to run artifacts of some formats. Built without arguments from ``BackendSpec.factory``."""

    def availability(self, env: Environment, device: Device) -> Availability:
        """Whether this backend can run on ``device`` here; the one place a framework may be imported."""
        ...

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> Session:
        """Load ``artifact`` on ``device``; raise a ``ModelRTError`` subclass on failure."""
        ...

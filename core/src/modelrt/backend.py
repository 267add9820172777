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

__all__ = ["Artifact", "Backend", "DataFile", "Session", "TensorInfo"]


@attrs.frozen
class TensorInfo:
    """A model input or output: name, shape (ints, or strings for symbolic dims, None if unknown), dtype."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str


@attrs.frozen
class DataFile:
    """A side file that an artifact reads at load time (ONNX external data), verified like the artifact.

    ``file`` is absolute and inside the package; ``path`` is how the manifest names it. ``sha256`` is
    ``None`` only when the caller loaded with ``verify=False``.
    """

    file: Path
    path: str
    size: int | None = None
    sha256: str | None = None

    def read_bytes(self) -> bytes:
        """The file's content, read once and checked: hand exactly these bytes to the runtime."""
        from modelrt.integrity import read_verified

        return read_verified(self.file, self.size, self.sha256)


@attrs.frozen
class Artifact:
    """A verified artifact file of a package, as a backend receives it.

    ``file`` is absolute and already checked (inside the package, size and sha256 as the manifest
    says); ``package_root`` lets a backend check side files (e.g. ONNX external data) stay inside, and
    ``data_files`` are the side files the manifest covers. A backend whose runtime accepts bytes or a
    file object loads ``read_bytes()``, so what runs is what was verified, even if the file is replaced
    after this check. ``verified`` is False only for a load with ``verify=False``.
    """

    role: str
    format: str
    file: Path
    package_root: Path
    precision: str | None = None
    target: Mapping[str, Any] | None = None
    size: int | None = None
    sha256: str | None = None
    data_files: tuple[DataFile, ...] = ()
    verified: bool = True

    def read_bytes(self) -> bytes:
        """The artifact's content, read once and checked against the manifest's size and sha256."""
        from modelrt.integrity import read_verified

        return read_verified(self.file, self.size, self.sha256)

    def data_file(self, file: Path) -> DataFile:
        """The manifest's entry for side file ``file`` (absolute); ``SecurityError`` if none covers it.

        A runtime must read no file that was not verified: a model naming a side file that its manifest
        does not list is refused, unless this load passed ``verify=False`` (the file must still lie
        inside the package).
        """
        from modelrt.errors import SecurityError

        for data_file in self.data_files:
            if data_file.file == file:
                return data_file
        root = self.package_root
        relative = file.relative_to(root) if file.is_relative_to(root) else file
        if not self.verified:
            return DataFile(file=file, path=str(relative))
        raise SecurityError(
            f"{self.file.name} reads {relative}, which the package manifest does not list, so its content "
            "cannot be verified. Re-create the package with `modelrt package "
            f"{self.file.name} -o DIR` (it records every external data file with its sha256), or load with "
            "verify=False if you trust these files."
        )


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

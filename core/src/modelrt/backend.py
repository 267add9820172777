"""The runtime protocols a backend plugin implements: ``Backend`` and the ``Session`` it loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    import numpy as np

    from modelrt.devices import Device
    from modelrt.host_environment import Environment
    from modelrt.options import RunOptions
    from modelrt.specs import Availability

__all__ = ["Artifact", "Backend", "BuildOutcome", "BuildRequest", "DataFile", "EngineBuilder", "Session", "TensorInfo"]


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
    """A way to run artifacts of some formats. Built without arguments from ``BackendSpec.factory``.

    Optional: ``readiness(entry: ArtifactEntry, device, options, *, package: ModelPackage) ->
    Availability | None`` says, without loading, whether a load of that artifact would succeed where
    availability cannot know (a compiled engine is or is not cached, an engine file was built for other
    hardware); ``explain`` and ``pull`` ask it so their plans match what ``load`` does. ``None`` means no
    opinion. It must not trust what it reads: ``load`` verifies the files again.
    """

    def availability(self, env: Environment, device: Device) -> Availability:
        """Whether this backend can run on ``device`` here; the one place a framework may be imported."""
        ...

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> Session:
        """Load ``artifact`` on ``device``; raise a ``ModelRTError`` subclass on failure."""
        ...


def _shape_ranges(
    value: Mapping[str, Sequence[Sequence[int]]] | None,
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    ranges = {}
    for name, (low, opt, high) in (value or {}).items():
        ranges[str(name)] = (tuple(int(d) for d in low), tuple(int(d) for d in opt), tuple(int(d) for d in high))
    return ranges


@attrs.frozen
class BuildRequest:
    """What ``modelrt build`` asks a backend to compile ahead of time (TensorRT engines).

    ``precision``: ``auto`` lets the backend choose and report its rule. ``batch``: (min, opt, max)
    for a dynamic batch dimension. ``shapes``: full (min, opt, max) shapes per input name, for inputs
    with other dynamic dimensions. ``workspace_bytes``: the builder's scratch memory limit (``None``: the
    backend's default); the device (``cuda:N``, or ``dla:N`` on a Jetson) is the build's own argument.
    ``version_compatible``: a plan later TensorRT runtimes of the same major can run. ``rebuild``:
    build even when a fitting engine is cached.
    """

    precision: str = "auto"
    batch: tuple[int, int, int] | None = None
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = attrs.field(
        factory=dict, converter=_shape_ranges, hash=False
    )
    workspace_bytes: int | None = None
    version_compatible: bool = False
    rebuild: bool = False


@attrs.frozen
class BuildOutcome:
    """One compiled artifact: where it is, whether it was already cached, and what it was built for."""

    role: str
    artifact: str
    engine: Path
    cached: bool
    seconds: float
    summary: str


@runtime_checkable
class EngineBuilder(Protocol):
    """A backend that can compile an artifact ahead of time (optional; the TensorRT backend is one).

    ``progress(phase, step, total)`` is called while the build runs (``total`` 0 when unknown), so the
    CLI can show a progress display on a terminal.
    """

    def build(
        self,
        artifact: Artifact,
        device: Device,
        options: RunOptions,
        request: BuildRequest,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> BuildOutcome:
        """Build (or find cached) the compiled form of ``artifact`` for ``device``."""
        ...

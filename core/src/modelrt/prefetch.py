"""``modelrt pull``: fetch and check now what ``modelrt.load`` will need, so later loads work offline.

By default it fetches what a load on this host would use: per role, the artifact of the first usable
candidate of the plan (with its side files). ``all_formats`` fetches every artifact, for a copy that
will move to an air-gapped machine whose hardware differs. Every file fetched is checked against the
manifest; nothing is loaded into a runtime. Under offline mode it fetches nothing and tells whether
everything needed is already cached and intact.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from modelrt.context import current_environment, default_manager
from modelrt.errors import NoUsableBackendError
from modelrt.load_request import plan_for, run_options
from modelrt.manifest import ArtifactEntry
from modelrt.plan import AUTO, build_backends, probe_plan

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.plugin_manager import PluginManager

__all__ = ["PulledFile", "PullReport", "pull"]


@attrs.frozen
class PulledFile:
    """A file now cached and checked: its path in the package, size in bytes, role and format."""

    path: str
    size: int | None
    role: str
    format: str


@attrs.frozen
class PullReport:
    """What ``pull`` made available: the model, the source that opened it, where it lies, and its files."""

    reference: str
    source: str
    location: str
    files: tuple[PulledFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(file.size or 0 for file in self.files)


def pull(
    model: str | os.PathLike[str],
    *,
    revision: str | None = None,
    subfolder: str | None = None,
    all_formats: bool = False,
    device: str | Device = AUTO,
    backend: str = AUTO,
    precision: str = "auto",
    allow_pickle: bool = False,
    manager: PluginManager | None = None,
) -> PullReport:
    """Fetch and verify the files a load of ``model`` needs here (every artifact with ``all_formats``).

    The options mean what they mean for ``modelrt.load``: the artifacts chosen are those that load would
    choose with them. Offline mode (``HF_HUB_OFFLINE``/``MODELRT_OFFLINE``) is honoured: then nothing is
    downloaded, and a file that is missing is a ``NotCachedError``.

    :raises NoUsableBackendError: no backend here can run some role (``all_formats`` fetches anyway).
    """
    manager = manager or default_manager()
    options = run_options(None, precision, 0, None, allow_pickle, True)
    package, plan, _arch = plan_for(
        model,
        device=device,
        backend=backend,
        options=options,
        offline=None,
        allow_pickle=allow_pickle,
        manager=manager,
        revision=revision,
        subfolder=subfolder,
    )
    if all_formats:
        entries = [entry for entry in package.manifest.artifacts if not entry.is_data_file]
    else:
        probed = probe_plan(plan, current_environment(manager), build_backends(plan, manager), package)
        chosen = probed.chosen()
        unrunnable = [role for role in package.manifest.roles if role not in chosen]
        if unrunnable:
            raise NoUsableBackendError(
                f"no backend here can run role {unrunnable[0]!r} of {os.fspath(model)!r}, so a load would fetch "
                "nothing for it; `modelrt explain` says why. To copy every format for another machine, pull "
                "with --all-formats",
                probed,
            )
        by_path = {entry.path: entry for entry in package.manifest.artifacts}
        entries = [by_path[candidate.artifact] for candidate in chosen.values()]
    files: list[PulledFile] = []
    for entry in entries:
        package.open_artifact(entry)
        files.extend(_pulled(each) for each in (entry, *package.manifest.data_files_of(entry)))
    return PullReport(reference=os.fspath(model), source=package.source, location=str(package.root), files=tuple(files))


def _pulled(entry: ArtifactEntry) -> PulledFile:
    return PulledFile(path=entry.path, size=entry.size, role=entry.role, format=entry.format)

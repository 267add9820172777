"""How modelrt-core was installed here, and how to install more of modelrt the same way.

From a package index, ``pip install "modelrt[onnx]"`` is the advice. From a source tree (a checkout installed
with ``pip install ./core`` or ``make install``) those released names either do not exist yet or would mix
released plugins with a core from the checkout, so the same extras come from the checkout's directories
instead, editable where the core is. pip records which it was in the core's ``direct_url.json`` (PEP 610):
a local directory (``dir_info``) that is the ``core/`` of a modelrt checkout means a source tree.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from packaging.utils import canonicalize_name

from modelrt.installed import CORE_DISTRIBUTION

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "CORE_DISTRIBUTION",
    "FROM_INDEX",
    "META_DISTRIBUTION",
    "META_EXTRAS",
    "SOURCE_DIRECTORIES",
    "Installation",
    "detect_installation",
    "installation_of",
    "requirements_installed",
]

#: The distribution with no code whose extras pull the plugins for each kind of hardware.
META_DISTRIBUTION = "modelrt"

#: The meta-distribution's extras (the repository's ``pyproject.toml``): the distributions each one pulls.
META_EXTRAS: dict[str, tuple[str, ...]] = {
    "onnx": ("modelrt-onnx[cpu]",),
    "onnx-gpu": ("modelrt-onnx[gpu]",),
    "torch": ("modelrt-torch[torch]",),
    "cpu": ("modelrt-onnx[cpu]", "modelrt-torch[torch]"),
    "trt-cu12": ("modelrt-trt[cu12]",),
    "trt-cu13": ("modelrt-trt[cu13]",),
    "jetson": ("modelrt-jetson", "modelrt-onnx", "modelrt-torch", "modelrt-trt"),
    "hub": ("modelrt-core[hub]",),
    "ray": ("modelrt-core[ray]",),
}

#: Where each of modelrt's distributions lives in a source tree.
SOURCE_DIRECTORIES: dict[str, str] = {
    "modelrt-core": "core",
    "modelrt-onnx": "plugins/onnx_backend",
    "modelrt-torch": "plugins/torch_backend",
    "modelrt-trt": "plugins/trt_backend",
    "modelrt-jetson": "plugins/jetson",
}

# Characters that a double-quoted shell word would still expand.
_SHELL_ACTIVE = frozenset('"$`\\!')


@attrs.frozen
class Installation:
    """Where modelrt-core was installed from.

    ``source_tree`` is the checkout it came from, or ``None`` for a package index, a wheel file or anything
    else pip does not trace to a checkout; ``editable`` when it was installed with ``pip install -e``.
    """

    source_tree: Path | None = None
    editable: bool = False

    def pip_arguments(self, requirements: Iterable[str]) -> list[str]:
        """The arguments of ``pip install`` for ``requirements``, shell-quoted, de-duplicated, order kept.

        From a source tree, ``modelrt[...]`` and modelrt's own distributions become their directories in
        the tree (each as ``-e "DIR"`` where the core is editable); every other requirement stays as it is.
        """
        arguments: list[str] = []
        for requirement in requirements:
            arguments.extend(self._arguments_for(requirement))
        return list(dict.fromkeys(arguments))

    def pip_install(self, requirements: Iterable[str]) -> str:
        """``pip install`` with ``pip_arguments(requirements)``: one command a user can paste."""
        return " ".join(["pip install", *self.pip_arguments(requirements)])

    def _arguments_for(self, requirement: str) -> list[str]:
        tree = self.source_tree
        directories = _source_directories(requirement) if tree is not None else None
        if tree is None or directories is None:
            return [_shell_word(requirement)]
        editable = "-e " if self.editable else ""
        return [f"{editable}{_shell_word(str(tree / directory))}" for directory in directories]


#: An installation pip does not trace to a source tree: advice names released distributions.
FROM_INDEX = Installation()


def _source_directories(requirement: str) -> list[str] | None:
    """``plugins/onnx_backend[cpu]`` for ``modelrt[onnx]``: directories relative to the tree, or ``None``.

    ``None`` for anything that is not one of modelrt's distributions (or an extra of the meta-distribution
    this core does not know, or a requirement with an environment marker): it stays a requirement.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    if parsed.marker is not None:
        return None
    if canonicalize_name(parsed.name) == META_DISTRIBUTION:
        if not parsed.extras <= META_EXTRAS.keys():
            return None
        pulled = [Requirement(line) for extra in sorted(parsed.extras) for line in META_EXTRAS[extra]]
        return [_directory(distribution) for distribution in pulled or [Requirement(CORE_DISTRIBUTION)]]
    if canonicalize_name(parsed.name) in SOURCE_DIRECTORIES:
        return [_directory(parsed)]
    return None


def _directory(distribution: Requirement) -> str:
    """``plugins/onnx_backend[cpu]``: where a distribution of modelrt lives, with the extras asked of it."""
    directory = SOURCE_DIRECTORIES[canonicalize_name(distribution.name)]
    return f"{directory}[{','.join(sorted(distribution.extras))}]" if distribution.extras else directory


def requirements_installed(requirements: Iterable[str]) -> bool:
    """Whether every requirement (``modelrt[onnx]``, ``onnxruntime-gpu``) is met in this Python environment.

    The meta-distribution's extras count as the distributions they pull (it need not be installed
    itself, as from a source tree); a distribution's own extras count as the requirements they add.
    """
    return all(_requirement_installed(requirement, depth=0) for requirement in requirements)


def _requirement_installed(text: str, depth: int) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return False
    name = canonicalize_name(requirement.name)
    if name == META_DISTRIBUTION:
        pulled = [META_EXTRAS.get(extra) for extra in sorted(requirement.extras)]
        if any(entries is None for entries in pulled):
            return False
        return all(_requirement_installed(entry, depth + 1) for entries in pulled for entry in entries or ())
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    if not requirement.specifier.contains(distribution.version, prereleases=True):
        return False
    if depth > 2:  # extras of extras of extras: far deeper than any modelrt requirement goes
        return True
    return all(
        _requirement_installed(dependency, depth + 1)
        for extra in requirement.extras
        for dependency in _added_by_extra(distribution, extra)
    )


def _added_by_extra(distribution: importlib.metadata.Distribution, extra: str) -> list[str]:
    """The requirements that ``distribution[extra]`` adds here, without their markers."""
    from packaging.requirements import Requirement

    added = []
    for line in distribution.requires or ():
        dependency = Requirement(line)
        marker = dependency.marker
        if marker is not None and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            dependency.marker = None
            added.append(str(dependency))
    return added


def _shell_word(text: str) -> str:
    """Double quotes like every modelrt command (``"modelrt[onnx]"``), unless the text holds what they expand."""
    return shlex.quote(text) if _SHELL_ACTIVE & set(text) else f'"{text}"'


def detect_installation() -> Installation:
    """How this Python environment's modelrt-core was installed (``FROM_INDEX`` when it has no metadata)."""
    try:
        distribution = importlib.metadata.distribution(CORE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return FROM_INDEX
    return installation_of(distribution)


def installation_of(distribution: importlib.metadata.Distribution) -> Installation:
    """Read a distribution's PEP 610 record: a source tree when it names the ``core/`` of a modelrt checkout.

    A record that is missing, unreadable, or points anywhere else counts as ``FROM_INDEX``: advice that
    names released distributions is never wrong about paths that do not exist.
    """
    try:
        text = distribution.read_text("direct_url.json")
        record = json.loads(text) if text else None
    except (OSError, ValueError):
        return FROM_INDEX
    if not isinstance(record, dict):
        return FROM_INDEX
    dir_info, url = record.get("dir_info"), record.get("url")
    if not isinstance(dir_info, dict) or not isinstance(url, str):
        return FROM_INDEX
    core = _local_directory(url)
    if core is None or core.name != SOURCE_DIRECTORIES[CORE_DISTRIBUTION]:
        return FROM_INDEX
    tree = core.parent
    if not all((tree / directory).is_dir() for directory in SOURCE_DIRECTORIES.values()):
        return FROM_INDEX
    return Installation(source_tree=tree, editable=dir_info.get("editable") is True)


def _local_directory(url: str) -> Path | None:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path))

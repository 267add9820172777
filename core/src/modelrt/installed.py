"""What is installed: modelrt's plugin entry points and every distribution's version, read once per install.

Reading this through ``importlib.metadata`` at every start costs about 35 ms (its import pulls in
``email`` and ``zipfile``, the scan reads every distribution's metadata, and checking each plugin's
declared core range imports packaging's requirement parser), a third of what a first prediction cost
beyond raw onnxruntime. So the answer is kept in the modelrt cache, one entry per Python environment
(``installed/<digest of sys.prefix>/index.json``, so venvs sharing the cache keep their own), under a
fingerprint of what is installed: for every folder on ``sys.path`` that holds distributions, in order,
the name and modification time of each ``*.dist-info``/``*.egg-info`` folder and of its
``entry_points.txt`` (a zip or egg on ``sys.path``: its own time and size). pip, uv and conda create
those folders afresh on every install, upgrade and removal, so any change gives another fingerprint and
a fresh read through ``importlib.metadata``; the fingerprint costs one folder listing per ``sys.path``
entry and two ``stat`` calls per distribution. A damaged, unreadable or unwritable index only costs the
time: the answer is then read from the metadata.

Within a process the index is read once; ``forget()`` (called by ``reset_plugin_manager``) reads again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

import attrs

from modelrt._version import __version__ as CORE_VERSION

__all__ = [
    "CORE_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "CoreRequirement",
    "IndexedDistribution",
    "IndexedEntryPoint",
    "cache_key",
    "core_requirement",
    "distribution_facts",
    "fingerprint",
    "forget",
    "installed_version",
    "plugin_entry_points",
]

logger = logging.getLogger("modelrt.plugins")

CORE_DISTRIBUTION = "modelrt-core"
ENTRY_POINT_GROUP = "modelrt.plugins"
#: Bumped when the index's layout changes, so an older modelrt's index is read afresh.
INDEX_FORMAT = 1
CACHE_KIND, INDEX_FILE = "installed", "index.json"
_METADATA_FOLDERS = (".dist-info", ".egg-info")


@attrs.frozen
class CoreRequirement:
    """What a plugin distribution requires of modelrt-core, checked against this core's version.

    ``range`` is the range as people write it (``>=0.2,<1``), ``None`` when none is declared;
    ``specifier`` is packaging's spelling of it; ``unreadable`` holds the message for a requirement line
    that packaging cannot parse.
    """

    range: str | None = None
    specifier: str = ""
    admits: bool = True
    unreadable: str | None = None


@attrs.frozen
class IndexedDistribution:
    """What the plugin manager needs of a plugin's distribution: names, version, core requirement."""

    name: str
    canonical_name: str
    version: str
    core_requirement: CoreRequirement


@attrs.frozen
class IndexedEntryPoint:
    """A ``modelrt.plugins`` entry point from the index: ``load()`` imports it as importlib.metadata's would."""

    name: str
    value: str
    dist: IndexedDistribution
    group = ENTRY_POINT_GROUP

    def load(self) -> Any:
        module_name, _, attribute = self.value.partition(":")
        found: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.split("[")[0].strip().split(".")):
            found = getattr(found, part)
        return found


@attrs.frozen
class _Index:
    plugins: tuple[IndexedEntryPoint, ...]
    versions: dict[str, str]


_lock = threading.Lock()
_index: _Index | None = None


def plugin_entry_points() -> list[IndexedEntryPoint]:
    """The installed ``modelrt.plugins`` entry points, one per distribution, in ``importlib.metadata``'s order."""
    return list(_current().plugins)


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, named as PEP 503 normalises it (``onnxruntime-gpu``), or ``None``."""
    return _current().versions.get(distribution)


def forget() -> None:
    """Read the index again at the next question (after an install within this process)."""
    global _index
    with _lock:
        _index = None


def core_requirement(requires: Iterable[str] | None) -> CoreRequirement:
    """What the ``Requires-Dist`` lines ``requires`` say about modelrt-core, checked against this core."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in requires or ():
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            return CoreRequirement(unreadable=f"its metadata has an unreadable requirement {line!r}: {exc}")
        if _canonical(requirement.name) != CORE_DISTRIBUTION:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if not str(requirement.specifier):
            return CoreRequirement()
        return CoreRequirement(
            range=_range_text(requirement.specifier),
            specifier=str(requirement.specifier),
            admits=requirement.specifier.contains(CORE_VERSION, prereleases=True),
        )
    return CoreRequirement()


def distribution_facts(dist: Any) -> IndexedDistribution | None:
    """An entry point's distribution as the index describes it: from the index, or read from its metadata now."""
    if dist is None or isinstance(dist, IndexedDistribution):
        return dist
    name = dist.metadata["Name"]
    return IndexedDistribution(name, _canonical(name), dist.version, core_requirement(dist.requires))


def fingerprint(path: Iterable[str] | None = None) -> str:
    """A digest of which distributions are installed on ``path`` (default ``sys.path``), and when."""
    digest = hashlib.sha256(f"{INDEX_FORMAT} {CORE_VERSION} {sys.version}".encode())
    for entry in sys.path if path is None else path:
        found = _distributions_in(entry or ".")
        if found:  # a script's own folder, first on sys.path, usually has none: it changes nothing
            digest.update(f"\0{entry}\n{found}".encode())
    return digest.hexdigest()


def _distributions_in(entry: str) -> str:
    """What ``entry`` of ``sys.path`` holds that ``importlib.metadata`` reads, as text that changes with it.

    For a folder: each metadata folder's name and modification times (its own and its ``entry_points.txt``'s).
    For a file (a zip or an egg, which may hold metadata too): its own modification time and size.
    """
    try:
        with os.scandir(entry) as entries:
            found = sorted((item.name, item.path) for item in entries if item.name.endswith(_METADATA_FOLDERS))
    except NotADirectoryError:
        try:
            status = os.stat(entry)
        except OSError:
            return ""
        return f"file {status.st_mtime_ns} {status.st_size}"
    except OSError:
        return ""
    return "\n".join(f"{name} {_mtime(path)} {_mtime(os.path.join(path, 'entry_points.txt'))}" for name, path in found)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _current() -> _Index:
    global _index
    with _lock:
        if _index is None:
            _index = _read_or_build()
        return _index


def cache_key() -> str:
    """The cache entry of this Python environment's index."""
    return hashlib.sha256(os.path.realpath(sys.prefix).encode()).hexdigest()[:32]


def _read_or_build() -> _Index:
    from modelrt import cache
    from modelrt.errors import ModelRTError

    key = fingerprint()
    try:
        text = cache.read_text(CACHE_KIND, cache_key(), INDEX_FILE)
        if text is not None:
            found = _parse(text, key)
            if found is not None:
                return found
    except (ModelRTError, OSError) as error:  # damaged or unreadable: read the metadata instead
        logger.debug("installed-distribution index not read: %s", error)
    index = _from_metadata()
    try:
        with cache.open_entry(CACHE_KIND, cache_key()) as entry:
            entry.write_text(INDEX_FILE, json.dumps(_record(index, key), indent=1) + "\n")
    except (ModelRTError, OSError) as error:  # a read-only or full cache costs only the time
        logger.debug("installed-distribution index not written: %s", error)
    return index


def _from_metadata() -> _Index:
    import importlib.metadata

    versions: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            versions.setdefault(_canonical(name), distribution.version)  # the first on sys.path is imported
    plugins = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        described = distribution_facts(entry_point.dist)
        if described is not None:
            plugins.append(IndexedEntryPoint(entry_point.name, entry_point.value, described))
    return _Index(tuple(plugins), versions)


def _record(index: _Index, key: str) -> dict[str, Any]:
    return {
        "format": INDEX_FORMAT,
        "fingerprint": key,
        "versions": index.versions,
        "plugins": [attrs.asdict(p) for p in index.plugins],
    }


def _parse(text: str, key: str) -> _Index | None:
    """The index in ``text`` when it was written for ``key``; ``None`` when it is stale or not an index."""
    try:
        record = json.loads(text)
        if record.get("format") != INDEX_FORMAT or record.get("fingerprint") != key:
            return None
        plugins = tuple(
            IndexedEntryPoint(
                item["name"],
                item["value"],
                IndexedDistribution(
                    item["dist"]["name"],
                    item["dist"]["canonical_name"],
                    item["dist"]["version"],
                    CoreRequirement(**item["dist"]["core_requirement"]),
                ),
            )
            for item in record["plugins"]
        )
        return _Index(plugins, {str(name): str(version) for name, version in record["versions"].items()})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _canonical(name: str) -> str:
    """PEP 503's normalised name (what ``packaging.utils.canonicalize_name`` gives for valid names)."""
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def _range_text(specifier: Any) -> str:
    """A specifier set lower bounds first, as people write it (``>=0.2,<1``; packaging sorts it ``<1,>=0.2``)."""
    return ",".join(sorted((str(item) for item in specifier), key=lambda text: (not text.startswith(">"), text)))

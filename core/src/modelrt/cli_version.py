"""``modelrt --version`` and the plugin lines of ``modelrt plugins``: which modelrt distributions are
installed, at which versions, and which core each plugin declares it works with.

Versions come from package metadata only (no plugin is imported), and only when asked: ``--version`` is
an argparse action that reads them when it runs, so every other command pays nothing for it.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelrt._version import __version__

if TYPE_CHECKING:
    from modelrt.plugin_manager import PluginInfo

__all__ = ["ShowVersions", "installed_versions", "plugin_line", "versions_text"]

META_DISTRIBUTION = "modelrt"
# ``modelrt.installation.CORE_DISTRIBUTION`` and ``modelrt.plugin_manager.ENTRY_POINT_GROUP``, spelt out
# (a test keeps them equal): every ``modelrt`` command imports this module for its ``--version`` option,
# and importing those modules costs attrs and pluggy, 0.1 s.
CORE_DISTRIBUTION = "modelrt-core"
ENTRY_POINT_GROUP = "modelrt.plugins"


def installed_versions() -> dict[str, str]:
    """Each installed modelrt distribution and its version: the core that runs first, then the
    meta-distribution and every distribution providing a ``modelrt.plugins`` entry point, by name."""
    import importlib.metadata

    found: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if dist is not None:
            found[dist.metadata["Name"]] = dist.version
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        found[META_DISTRIBUTION] = importlib.metadata.version(META_DISTRIBUTION)
    # The core's version is the code running now, even where its metadata is stale or absent.
    found.pop(CORE_DISTRIBUTION, None)
    return {CORE_DISTRIBUTION: __version__, **dict(sorted(found.items()))}


def versions_text(versions: dict[str, str]) -> str:
    """One ``name version`` line per distribution, versions aligned."""
    width = max(map(len, versions))
    return "\n".join(f"{name:<{width}}  {version}" for name, version in versions.items())


def plugin_line(info: PluginInfo) -> str:
    """A plugin as ``modelrt plugins`` heads it: name, distribution and version, the core range it
    declares, status (``onnx (modelrt-onnx 0.2.0, modelrt-core>=0.2,<1): ok``)."""
    version = f" {info.version}" if info.version else ""
    declared = f", {CORE_DISTRIBUTION}{info.core_range}" if info.core_range else ""
    return f"{info.name} ({info.distribution or '?'}{version}{declared}): {info.status}"


class ShowVersions(argparse.Action):
    """``--version``: print every installed modelrt distribution with its version, then exit 0."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the version of every installed modelrt distribution and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(versions_text(installed_versions()))  # stdout, as argparse's own version action prints
        parser.exit()

"""Plugin managers built from explicit plugins, so a test sees exactly the plugins it names."""

from __future__ import annotations

from collections.abc import Sequence

from modelrt.errors import InputError
from modelrt.plugin_manager import PluginManager

__all__ = ["manager_with"]


def manager_with(*plugins: object, names: Sequence[str] | None = None, strict: bool = True) -> PluginManager:
    """A manager over the built-in plugin and ``plugins`` only, ignoring installed entry points.

    ``names`` default to each plugin's ``__name__`` (a module's dotted name). ``strict`` defaults to
    ``True`` so that a plugin under test that breaks fails the test loudly with a ``PluginError``;
    pass ``strict=False`` to test how a broken plugin is isolated.
    """
    if names is None:
        names = [getattr(plugin, "__name__", type(plugin).__name__) for plugin in plugins]
    elif len(names) != len(plugins):
        raise InputError(f"manager_with got {len(plugins)} plugins but {len(names)} names; give one each")
    if len(set(names)) != len(names):
        raise InputError(f"manager_with got the plugin names {list(names)}; each plugin needs its own name")
    return PluginManager(strict=strict, entry_points=False, plugins=dict(zip(names, plugins, strict=True)))

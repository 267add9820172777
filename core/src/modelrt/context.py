"""The plugin manager and probed host that ``load``, ``explain`` and ``pull`` use when given none.

They sit below ``model``, ``api`` and ``prefetch`` so each of those imports them at module level; the
plugin machinery itself is imported only when first asked for, keeping ``import modelrt`` light.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrt.host_environment import Environment
    from modelrt.plugin_manager import PluginManager

__all__ = ["current_environment", "default_manager"]

_environment_lock = threading.Lock()
#: Probed once per manager; weak keys so a dropped manager (tests build many) takes its entry with it.
_environments: weakref.WeakKeyDictionary[PluginManager, Environment] = weakref.WeakKeyDictionary()


def default_manager() -> PluginManager:
    """The process-wide plugin manager, built on first use."""
    from modelrt.plugin_manager import get_plugin_manager

    return get_plugin_manager()


def current_environment(manager: PluginManager | None = None, *, refresh: bool = False) -> Environment:
    """The probed environment of this host, probed once per manager (probing reads files only)."""
    from modelrt.host import Host
    from modelrt.host_environment import probe_environment

    manager = manager or default_manager()
    with _environment_lock:
        if refresh or manager not in _environments:
            host = Host.from_environment()
            _environments[manager] = probe_environment(host, manager.environment_facts(host))
        return _environments[manager]

# mypy: disable-error-code="empty-body"
"""The whole plugin contract of modelrt, in one module.

A plugin is a module whose functions carry the ``modelrt.hookimpl`` marker, named in its
distribution's entry points::

    [project.entry-points."modelrt.plugins"]
    onnx = "modelrt_onnx.plugin"

Hooks are called with keyword arguments only, and an implementation may accept *fewer* parameters
than its spec, so adding a parameter here never breaks an old plugin. Hooks return declarative data;
code that needs a framework is named by a ``factory`` string and imported only when needed.
Ranking is done by the core from explicit priorities and availability, never from call order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from modelrt.host import Host
    from modelrt.host_environment import Environment
    from modelrt.specs import ArchitectureSpec, BackendSpec, Finding, SourceSpec

PROJECT_NAME = "modelrt"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------------
# Registration: what a plugin contributes
# -------------------------------------------------------------------------------------------------


@hookspec
def register_backends() -> Iterable[BackendSpec]:
    """Declare the backends this plugin provides.

    :return: ``BackendSpec`` records (name, formats, device kinds, priority, requirements, factory).
        A backend name must be unique across all plugins; two plugins that claim the same name are
        both reported and the second is rejected.

    The factory is ``"module:Class"``; the class is instantiated without arguments only when the
    backend becomes a candidate for a load, and it is the only place a framework may be imported.

    .. versionadded:: 0.1
    """


@hookspec
def register_architectures() -> Iterable[ArchitectureSpec]:
    """Declare the model architectures this plugin provides.

    :return: ``ArchitectureSpec`` records. The factory names a class built with
        ``(package, sessions)``: the ``ModelPackage`` and a mapping of role to ``Session``, so that
        multi-stage models receive all their networks. Names must be unique across plugins.

    .. versionadded:: 0.1
    """


@hookspec
def register_sources() -> Iterable[SourceSpec]:
    """Declare the model sources this plugin provides.

    :return: ``SourceSpec`` records. A source turns the reference a user passed to
        ``modelrt.load`` (a directory, a ``.onnx`` file, an ``hf://`` id, a third party's
        ``s3://`` URL) into a ``ModelPackage``. Its factory names a class built without arguments
        with a method ``open(reference: str, offline: bool) -> ModelPackage``.

    A source that reads a versioned store may also take ``revision: str | None`` and ``subfolder:
    str | None`` keywords; they are passed only when the caller gave them, so a source without them
    keeps working (and is refused with a clear error when they are given for its references).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``open`` may take ``revision`` and ``subfolder``.
    """


# -------------------------------------------------------------------------------------------------
# Environment: facts about the host and verdicts on it
# -------------------------------------------------------------------------------------------------


@hookspec
def probe_environment(host: Host) -> Mapping[str, object] | None:
    """Add platform facts to the ``Environment``.

    :param host: the seam to read the machine through (files under its root, platform facts,
        environment variables). Read only through it, so fake roots work in tests.
    :return: a JSON-serialisable mapping merged into ``Environment.facts`` under the plugin's own
        keys, or ``None`` when this plugin has nothing to say about the host. Must not raise, must
        not run a subprocess, must not import a framework.

    .. versionadded:: 0.1
    """


@hookspec
def check_compatibility(env: Environment) -> Iterable[Finding]:
    """Judge the host against the hardware compatibility matrix.

    :param env: the probed ``Environment``, including facts added by ``probe_environment``.
    :return: ``Finding`` records (matrix row, status, severity, message, fix, extras to install).
        ``modelrt env`` shows all of them and merges their ``install`` entries into one command.

    .. versionadded:: 0.1
    """

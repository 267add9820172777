"""From what a caller passed to ``load``, ``explain`` or ``pull`` to a ranked plan: one path for all three.

Also the core's own ``RunOptions.extras`` namespace, which carries this load's consents (pickle,
checksum verification) to backends: only the call's arguments write it, never the caller's extras.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelrt.devices import Device
from modelrt.errors import InputError, PackageError
from modelrt.options import RunOptions
from modelrt.plan import AUTO, LoadPlan, make_plan, raise_if_unplannable
from modelrt.specs import load_factory

if TYPE_CHECKING:
    from modelrt.packages import ModelPackage
    from modelrt.plugin_manager import PluginManager

__all__ = ["CORE_EXTRAS", "pickle_allowed", "plan_for", "run_options", "verification_required"]

#: The ``RunOptions.extras`` namespace modelrt itself writes for backends to read; callers may not set it.
CORE_EXTRAS = "modelrt"


def pickle_allowed(options: RunOptions) -> bool:
    """Whether the caller passed ``allow_pickle=True`` to this very load.

    The planner refuses pickle artifacts without that consent; a backend that unpickles checks it again
    before touching the file, so neither a planner bug nor a direct ``Backend.load`` call unpickles
    without it. ``modelrt.load`` writes the flag into ``options.extras["modelrt"]`` from its argument
    only: no environment variable (torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` included) sets it.
    """
    return options.for_backend(CORE_EXTRAS).get("allow_pickle") is True


def verification_required(options: RunOptions) -> bool:
    """Whether artifacts must carry a sha256 and match it: always, unless this load passed ``verify=False``.

    Like pickle consent, only the ``load``/``explain`` argument sets it; no environment variable does.
    """
    return options.for_backend(CORE_EXTRAS).get("verify") is not False


def run_options(
    threads: int | None,
    precision: str,
    warmup: int,
    extras: Mapping[str, Mapping[str, Any]] | None,
    allow_pickle: bool = False,
    verify: bool = True,
) -> RunOptions:
    """The ``RunOptions`` of one call: the caller's settings plus the consents only its arguments give."""
    if extras and CORE_EXTRAS in extras:
        raise InputError(
            f"extras[{CORE_EXTRAS!r}] is written by modelrt itself, not by callers; "
            "to load pickle weights you trust, pass allow_pickle=True to modelrt.load"
        )
    merged = dict(extras or {})
    core: dict[str, bool] = {}
    if allow_pickle:
        core["allow_pickle"] = True
    if not verify:
        core["verify"] = False
    if core:
        merged[CORE_EXTRAS] = core
    return RunOptions(threads=threads, precision=precision, warmup=warmup, extras=merged)


def plan_for(
    reference: str | os.PathLike[str],
    *,
    device: str | Device = AUTO,
    backend: str = AUTO,
    options: RunOptions,
    offline: bool | None,
    allow_pickle: bool,
    manager: PluginManager,
    revision: str | None = None,
    subfolder: str | None = None,
) -> tuple[ModelPackage, LoadPlan, Any]:
    """Open the package and rank its candidates. Returns (package, plan, architecture class).

    The architecture's roles are checked against the manifest here, once, so ``explain`` and ``pull``
    refuse a package that ``load`` would refuse, before any backend is built.
    """
    from modelrt.sources import open_package, resolve_offline

    if device != AUTO:
        device = Device.parse(device)  # a bad device string fails before any file is opened
    package = open_package(reference, manager, offline=resolve_offline(offline), revision=revision, subfolder=subfolder)
    plan = make_plan(package, manager, backend=backend, device=device, options=options, allow_pickle=allow_pickle)
    roles = package.manifest.roles
    raise_if_unplannable(plan, roles)
    arch_spec = manager.architectures()[package.manifest.architecture]
    arch_class = load_factory(arch_spec.factory)
    missing = [role for role in getattr(arch_class, "roles", ("main",)) if role not in roles]
    if missing:
        raise PackageError(
            f"model {package.manifest.name!r}: architecture {arch_spec.name!r} needs artifacts for roles "
            f"{missing}, but the manifest only has {list(roles)}"
        )
    return package, plan, arch_class

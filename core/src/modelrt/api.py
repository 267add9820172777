"""The public functions behind ``modelrt.explain``, ``modelrt.host_environment`` and ``modelrt.plugins``.

Each returns data; the CLI is a thin layer over them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelrt.context import current_environment, default_manager
from modelrt.devices import AUTO

if TYPE_CHECKING:
    from modelrt.devices import Device
    from modelrt.env_report import EnvironmentReport
    from modelrt.host_environment import Environment
    from modelrt.plan import LoadPlan
    from modelrt.plugin_manager import PluginInfo, PluginManager

__all__ = ["current_environment", "default_manager", "environment", "explain", "plugins"]


def environment(*, manager: PluginManager | None = None) -> EnvironmentReport:
    """This host, its place in the hardware matrix, installed plugins, and what to install."""
    from modelrt.env_report import build_report

    manager = manager or default_manager()
    env = current_environment(manager, refresh=True)
    infos = [_plugin_row(info) for info in manager.plugins()]
    return build_report(env, manager.findings(env), infos)


def plugins(*, manager: PluginManager | None = None) -> list[PluginInfo]:
    """Installed plugins with their distribution, version, what they register, status and error."""
    return (manager or default_manager()).plugins()


def explain(
    model: str | os.PathLike[str],
    *,
    device: str | Device = AUTO,
    backend: str = AUTO,
    precision: str = "auto",
    threads: int | None = None,
    offline: bool | None = None,
    allow_pickle: bool = False,
    verify: bool = True,
    extras: Mapping[str, Mapping[str, Any]] | None = None,
    manager: PluginManager | None = None,
    environment: Environment | None = None,
    all_candidates: bool = False,
    revision: str | None = None,
    subfolder: str | None = None,
) -> LoadPlan:
    """The LoadPlan ``modelrt.load`` would follow, without loading: candidates ranked and probed in order.

    By default the plan speaks to this host: candidates on device kinds it cannot have (CUDA without
    an NVIDIA driver, MPS and CoreML off macOS) are left out, each kind listed once in
    ``plan.hidden_devices`` with the reason; ``all_candidates=True`` keeps the full ranking.
    ``environment`` replaces the probed host (as for ``load``). ``revision`` and ``subfolder`` mean
    what they mean for ``load``; for a Hub model only its manifest is fetched.
    """
    # Imported here: ``plugins()`` and ``environment()`` need none of the planning machinery.
    from modelrt.load_request import plan_for, run_options
    from modelrt.plan import build_backends, probe_plan

    manager = manager or default_manager()
    options = run_options(threads, precision, 0, extras, allow_pickle, verify)
    package, plan, _arch = plan_for(
        model,
        device=device,
        backend=backend,
        options=options,
        offline=offline,
        allow_pickle=allow_pickle,
        manager=manager,
        revision=revision,
        subfolder=subfolder,
    )
    env = environment or current_environment(manager)
    plan = probe_plan(plan, env, build_backends(plan, manager), package)
    return plan if all_candidates else plan.on_host(env)


def _plugin_row(info: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(info)

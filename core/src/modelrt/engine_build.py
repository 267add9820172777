"""``modelrt.build``: compile a model ahead of time with a backend that can (TensorRT engines).

The same planning as ``load`` (sources, checksums, ranking, availability) picks, per role of the
package, the first usable candidate of the named backend; the backend's ``build`` (the optional
``EngineBuilder`` protocol) then finds a fitting compiled form in the modelrt cache or makes one. A later
``load`` with that backend uses it; ``backend="auto"`` never builds, it only uses what is cached.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelrt.backend import BuildOutcome, BuildRequest, EngineBuilder
from modelrt.context import current_environment, default_manager
from modelrt.devices import Device
from modelrt.errors import InputError, NoUsableBackendError
from modelrt.load_request import plan_for, run_options, verification_required
from modelrt.plan import AUTO, Candidate, CandidateStatus, LoadPlan, build_backends, probe_role

if TYPE_CHECKING:
    from modelrt.host_environment import Environment
    from modelrt.plugin_manager import PluginManager
    from modelrt.specs import Availability

__all__ = ["build"]

Progress = Callable[[str, int, int], None]


def build(
    model: str | os.PathLike[str],
    *,
    backend: str = "tensorrt",
    device: str | Device = AUTO,
    precision: str = "auto",
    batch: Sequence[int] | None = None,
    shapes: Mapping[str, Sequence[Sequence[int]]] | None = None,
    workspace_gb: float | None = None,
    version_compatible: bool = False,
    rebuild: bool = False,
    offline: bool | None = None,
    verify: bool = True,
    revision: str | None = None,
    subfolder: str | None = None,
    extras: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    manager: PluginManager | None = None,
    environment: Environment | None = None,
) -> list[BuildOutcome]:
    """Build (or find in the cache) the compiled form of every role of ``model``; one outcome per role.

    ``batch`` is (min, opt, max) for a dynamic batch; ``shapes`` maps an input name to its (min, opt,
    max) shapes; ``device`` ``dla:N`` builds for a Jetson DLA core. ``rebuild`` builds even when a fitting
    engine is cached.

    :raises NoUsableBackendError: ``backend`` is ``auto``, builds nothing, or cannot run here (the
        reasons of every candidate are in the message).
    """
    if backend.strip().lower() == AUTO:
        raise InputError("build needs a backend to build for, e.g. backend='tensorrt' (`--backend tensorrt`)")
    request = BuildRequest(
        precision=precision,
        batch=_batch_range(batch),
        shapes=dict(shapes or {}),
        workspace_bytes=None if workspace_gb is None else _workspace_bytes(workspace_gb),
        version_compatible=version_compatible,
        rebuild=rebuild,
    )
    manager = manager or default_manager()
    options = run_options(None, precision, 0, extras, verify=verify)
    package, plan, _ = plan_for(
        model,
        device=device,
        backend=backend,
        options=options,
        offline=offline,
        allow_pickle=False,
        manager=manager,
        revision=revision,
        subfolder=subfolder,
    )
    env = environment or current_environment(manager)
    backends = build_backends(plan, manager)
    outcomes: list[BuildOutcome] = []

    def attempt(candidate: Candidate, availability: Availability) -> Candidate:
        builder = backends.instances[candidate.backend]
        if not isinstance(builder, EngineBuilder):
            return candidate.with_status(CandidateStatus.FAILED, f"backend {candidate.backend!r} builds nothing")
        (entry,) = [e for e in package.entries(candidate.role) if e.path == candidate.artifact]
        artifact = package.open_artifact(entry, verify=verification_required(options))
        outcomes.append(builder.build(artifact, Device.parse(candidate.device), options, request, progress))
        return candidate.with_status(CandidateStatus.CHOSEN, outcomes[-1].summary)

    for role in package.manifest.roles:
        plan = probe_role(plan, role, env, backends, attempt)
        if not any(outcome.role == role for outcome in outcomes):
            raise NoUsableBackendError(_nothing_built(plan, role, backend), plan)
    return outcomes


def _nothing_built(plan: LoadPlan, role: str, backend: str) -> str:
    tried = [c for c in plan.candidates if c.role == role]
    reasons = "; ".join(f"{c.artifact} on {c.device}: {c.reason}" for c in tried) or "no candidate"
    fixes = list(dict.fromkeys(c.fix for c in tried if c.fix))
    fix_text = f" Fix: {' or '.join(fixes)}." if fixes else " Run `modelrt env` to see what this machine supports."
    return f"cannot build role {role!r} of {plan.model!r} with {backend}: {reasons}.{fix_text}"


def _batch_range(batch: Sequence[int] | None) -> tuple[int, int, int] | None:
    if batch is None:
        return None
    values = tuple(int(value) for value in batch)
    if len(values) != 3 or not 1 <= values[0] <= values[1] <= values[2]:
        raise InputError(f"batch must be (min, opt, max) with 1 <= min <= opt <= max, not {tuple(batch)}")
    return values


def _workspace_bytes(gigabytes: float) -> int:
    if not gigabytes > 0:
        raise InputError(f"the builder workspace must be a positive number of GB, not {gigabytes}")
    return int(gigabytes * (1 << 30))

"""Load planning: rank every (artifact, backend, device) candidate, probe in rank order, explain the choice.

Ranking is the core's, never pluggy's call order: first the device (CUDA before MPS/CoreML before CPU;
MPS and CoreML only for MPS-capable architectures; DLA only when asked for), then the backend's declared
priority, then the artifact's place in the manifest. Probing stops at the first usable candidate, so a
framework behind a lower-ranked backend is never imported when a better one is usable.

A plan keeps what was asked (``requested_backend``, ``requested_device``) apart from what was chosen
(``backend``, ``device``, and per role ``chosen()``). ``on_host`` gives the view ``modelrt explain``
shows: candidates on device kinds the host cannot have are left out, one line per such kind instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from modelrt.backend_names import resolve_backend
from modelrt.devices import AUTO, Device
from modelrt.errors import NoUsableBackendError, PackageError, SecurityError
from modelrt.host_devices import absent_device_reason
from modelrt.options import RunOptions
from modelrt.specs import ArchitectureSpec, Availability, BackendSpec, StatusValue, load_factory

if TYPE_CHECKING:
    from modelrt.host_environment import Environment
    from modelrt.manifest import ArtifactEntry
    from modelrt.packages import ModelPackage
    from modelrt.plugin_manager import PluginManager

__all__ = [
    "AUTO",
    "BuiltBackends",
    "Candidate",
    "CandidateStatus",
    "HiddenDevice",
    "LoadPlan",
    "build_backends",
    "make_plan",
    "probe_plan",
    "probe_role",
]

#: Device kinds that ``device="auto"`` considers, best first. DLA is only used when asked for.
AUTO_DEVICE_ORDER: tuple[str, ...] = ("cuda", "mps", "coreml", "cpu")
ACCELERATOR_ONLY_FOR_MPS_CAPABLE = ("mps", "coreml")


class CandidateStatus(StatusValue):
    """What happened to a candidate."""

    CHOSEN = "chosen"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"
    NOT_PROBED = "not-probed"
    REFUSED = "refused"


@attrs.frozen
class Candidate:
    """One way to run one role of a package, and what the planner concluded about it."""

    role: str
    artifact: str
    format: str
    backend: str
    device: str
    priority: int
    status: CandidateStatus = attrs.field(default=CandidateStatus.NOT_PROBED, converter=CandidateStatus)
    reason: str = ""
    fix: str | None = None

    def with_status(self, status: CandidateStatus, reason: str, fix: str | None = None) -> Candidate:
        return attrs.evolve(self, status=status, reason=reason, fix=fix)


@attrs.frozen
class HiddenDevice:
    """A device kind this host cannot have: ``on_host`` leaves its candidates out and says why once."""

    kind: str
    reason: str


@attrs.frozen
class LoadPlan:
    """The ranked candidates for a package on this host, each chosen or rejected with reason and fix.

    ``requested_backend`` and ``requested_device`` are what the caller asked for (``auto``, or a
    backend's registered name when an alias such as ``onnx`` was typed); ``backend`` and ``device`` are
    what was chosen. ``withheld_devices`` are the Apple accelerator kinds ``auto`` left out because the
    architecture is not marked MPS-capable; ``hidden_devices`` the kinds ``on_host`` left out.
    """

    model: str
    reference: str
    source: str
    architecture: str
    requested_backend: str
    requested_device: str
    options: RunOptions
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...] = ()
    withheld_devices: tuple[str, ...] = ()
    hidden_devices: tuple[HiddenDevice, ...] = ()

    @property
    def backend(self) -> str | None:
        """The backend chosen (roles on different backends: their names joined by ``+``); None until
        every role has one."""
        return self._placement("backend")

    @property
    def device(self) -> str | None:
        """The device chosen, as ``cpu`` or ``cuda:0`` (roles on different devices: joined by ``+``); None
        until every role has one."""
        return self._placement("device")

    def chosen(self) -> dict[str, Candidate]:
        """The chosen candidate of each role (roles with none are absent)."""
        return {c.role: c for c in self.candidates if c.status == CandidateStatus.CHOSEN}

    def _placement(self, attribute: str) -> str | None:
        chosen = self.chosen()
        if not chosen or any(role not in chosen for role in self.roles()):
            return None
        return "+".join(dict.fromkeys(getattr(candidate, attribute) for candidate in chosen.values()))

    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.role for c in self.candidates))

    def with_notes(self, notes: tuple[str, ...]) -> LoadPlan:
        """This plan with ``notes`` added after its own (each once)."""
        return attrs.evolve(self, notes=tuple(dict.fromkeys(self.notes + notes)))

    def replace(self, index: int, candidate: Candidate) -> LoadPlan:
        candidates = list(self.candidates)
        candidates[index] = candidate
        return attrs.evolve(self, candidates=tuple(candidates))

    def on_host(self, env: Environment) -> LoadPlan:
        """This plan without the candidates on device kinds ``env`` cannot have, one ``HiddenDevice`` each.

        The choice is untouched: a kind some backend was chosen on stays whatever the host shows, and
        every candidate stays when the caller named a device (the backend's reason is then the answer).
        The note on Apple accelerators that ``auto`` left out goes when the host has none of them.
        """
        if self.requested_device != AUTO:
            return self
        chosen_kinds = {Device.parse(candidate.device).kind for candidate in self.chosen().values()}
        hidden = {device.kind: device.reason for device in self.hidden_devices}
        kept: list[Candidate] = []
        for candidate in self.candidates:
            kind = Device.parse(candidate.device).kind
            reason = None if kind in chosen_kinds else absent_device_reason(env, kind)
            if reason is None:
                kept.append(candidate)
            else:
                hidden[kind] = reason
        notes = self.notes
        withheld_reasons = {kind: absent_device_reason(env, kind) for kind in self.withheld_devices}
        if withheld_reasons and all(withheld_reasons.values()):
            hidden.update({kind: reason for kind, reason in withheld_reasons.items() if reason})
            notes = tuple(note for note in notes if note != _withheld_note(self.withheld_devices, self.architecture))
        ordered = sorted(hidden.items(), key=lambda item: _device_rank(item[0]))
        return attrs.evolve(
            self,
            candidates=tuple(kept),
            notes=notes,
            hidden_devices=tuple(HiddenDevice(kind, reason) for kind, reason in ordered),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: every field, plus the chosen ``backend`` and ``device`` (ignored by ``from_dict``)."""
        return {**_CONVERTER.unstructure(self), "backend": self.backend, "device": self.device}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadPlan:
        return _CONVERTER.structure(dict(data), cls)

    def __str__(self) -> str:
        lines = [
            f"Load plan for {self.model!r} ({self.architecture}) from {self.reference or self.source}",
            f"  asked: backend={self.requested_backend} device={self.requested_device} "
            f"precision={self.options.precision} threads={self.options.threads or 'auto'}",
            f"  chosen: {self._chosen_words()}",
        ]
        for role in self.roles():
            lines.append(f"  role {role!r}:")
            for rank, c in enumerate((c for c in self.candidates if c.role == role), start=1):
                marker = {"chosen": "->", "failed": " x", "unavailable": " -", "refused": " !"}.get(c.status, "  ")
                line = f"   {marker} {rank}. {c.backend} on {c.device} ({c.format}: {c.artifact}) [{c.status}]"
                if c.reason:
                    line += f": {c.reason}"
                lines.append(line)
                if c.fix and c.status != CandidateStatus.CHOSEN:
                    lines.append(f"          fix: {c.fix}")
        if self.hidden_devices:
            lines.append(
                "  devices this host lacks (their candidates are left out; `modelrt explain --all` shows them):"
            )
            lines.extend(f"    {hidden.kind}: {hidden.reason}" for hidden in self.hidden_devices)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _chosen_words(self) -> str:
        chosen = self.chosen()
        missing = [role for role in self.roles() if role not in chosen]
        if missing or not chosen:
            return f"nothing for {', '.join(f'role {role!r}' for role in missing) or 'any role'}"
        placements = {f"{c.backend} on {c.device}" for c in chosen.values()}
        if len(placements) == 1:
            return placements.pop()
        return "; ".join(f"{role}: {c.backend} on {c.device}" for role, c in chosen.items())


_CONVERTER = cattrs.Converter()


def _device_rank(kind: str) -> int:
    return AUTO_DEVICE_ORDER.index(kind) if kind in AUTO_DEVICE_ORDER else len(AUTO_DEVICE_ORDER)


def _devices_for(spec: BackendSpec, requested: Device | None, arch: ArchitectureSpec) -> list[Device]:
    if requested is not None:
        return [requested] if requested.kind in spec.devices else []
    devices = []
    for kind in spec.devices:
        if kind not in AUTO_DEVICE_ORDER:
            continue  # e.g. dla: only used when the user asks for it
        if kind in ACCELERATOR_ONLY_FOR_MPS_CAPABLE and not arch.mps_capable:
            continue
        devices.append(Device.parse(kind))
    return devices


def _withheld_accelerators(spec: BackendSpec, requested: Device | None, arch: ArchitectureSpec) -> set[str]:
    """Apple accelerator kinds ``spec`` offers that ``device="auto"`` leaves out for ``arch``."""
    if requested is not None or arch.mps_capable:
        return set()
    return set(spec.devices) & set(ACCELERATOR_ONLY_FOR_MPS_CAPABLE)


def _format_refusal(entry: ArtifactEntry, allow_pickle: bool) -> str | None:
    if entry.format == "torch-pickle" and not allow_pickle:
        return (
            "pickle weights can run arbitrary code when loaded; refused unless you pass "
            "allow_pickle=True for this load (only for files you trust)"
        )
    return None


def make_plan(
    package: ModelPackage,
    manager: PluginManager,
    *,
    backend: str = AUTO,
    device: str | Device = AUTO,
    options: RunOptions | None = None,
    allow_pickle: bool = False,
) -> LoadPlan:
    """Rank every candidate for every role of ``package``; nothing is probed yet.

    ``backend`` is ``auto``, a registered backend name or an alias of one (``modelrt.backend_names``).
    """
    options = options or RunOptions()
    manifest = package.manifest
    architectures = manager.architectures()
    arch = architectures.get(manifest.architecture)
    if arch is None:
        known = ", ".join(sorted(architectures)) or "none"
        raise PackageError(
            f"model {manifest.name!r} needs architecture {manifest.architecture!r}, which no installed plugin "
            f"provides (installed: {known}); install the plugin that provides it, see `modelrt plugins`"
        )
    backends = manager.backends()
    backend = AUTO if backend.strip().lower() == AUTO else resolve_backend(backend, backends, manager.plugins())
    requested_device = None if device == AUTO else Device.parse(device)

    candidates: list[tuple[tuple[int, int, int], Candidate]] = []
    notes: list[str] = []
    withheld: set[str] = set()
    for role in manifest.roles:
        for order, entry in enumerate(package.entries(role)):
            refusal = _format_refusal(entry, allow_pickle)
            for spec in backends.values():
                if entry.format not in spec.formats or backend not in (AUTO, spec.name):
                    continue
                withheld |= _withheld_accelerators(spec, requested_device, arch)
                for dev in _devices_for(spec, requested_device, arch):
                    candidate = Candidate(role, entry.path, entry.format, spec.name, str(dev), spec.priority)
                    if refusal:
                        candidate = candidate.with_status(CandidateStatus.REFUSED, refusal)
                    candidates.append(((_device_rank(dev.kind), -spec.priority, order), candidate))
            if not any(c.artifact == entry.path and c.role == role for _, c in candidates):
                notes.append(_no_candidate_note(entry, backend, requested_device, backends))
    withheld_devices = tuple(sorted(withheld))
    if withheld_devices:
        notes.append(_withheld_note(withheld_devices, arch.name))
    ranked = [c for _, c in sorted(candidates, key=lambda item: (item[1].role, item[0]))]
    return LoadPlan(
        model=manifest.name,
        reference=package.reference,
        source=package.source,
        architecture=manifest.architecture,
        requested_backend=backend,
        requested_device=str(device),
        options=options,
        candidates=tuple(ranked),
        notes=tuple(notes),
        withheld_devices=withheld_devices,
    )


def _no_candidate_note(
    entry: ArtifactEntry, backend: str, requested_device: Device | None, backends: Mapping[str, BackendSpec]
) -> str:
    """Why an artifact got no candidate: the named backend runs other formats, none runs it, or not there."""
    artifact = f"{entry.path} ({entry.format})"
    if backend != AUTO and entry.format not in backends[backend].formats:
        return f"{artifact}: backend {backend!r} runs {', '.join(backends[backend].formats)} artifacts, not this one"
    runners = [spec.name for spec in backends.values() if entry.format in spec.formats]
    if not runners:
        return f"{artifact}: no installed backend runs {entry.format!r} artifacts"
    where = f"on {requested_device}" if requested_device else "on any device that device='auto' tries"
    return f"{artifact}: {' and '.join(runners)} run{'s' if len(runners) == 1 else ''} it, but not {where}"


def _withheld_note(kinds: tuple[str, ...], architecture: str) -> str:
    """The note on Apple accelerators ``device="auto"`` left out for an architecture not marked for them."""
    names = " and ".join(kinds)
    tries = " or ".join(f"device={kind!r}" for kind in kinds)
    return (
        f"{names} not tried: Apple's accelerators (MPS and CoreML) are experimental, so device='auto' offers "
        f"them only to architectures registered with mps_capable=True, and {architecture!r} is not; "
        f"pass {tries} to try anyway"
    )


def probe_plan(
    plan: LoadPlan, env: Environment, backends: BuiltBackends, package: ModelPackage | None = None
) -> LoadPlan:
    """Mark, per role, the first usable candidate as chosen; candidates below it stay not-probed.

    With the ``package``, a backend that can tell from the manifest entry alone that a load would fail
    (``Backend.readiness``: no compiled engine cached for this GPU) gets that candidate marked failed
    with its reason, as ``load`` would, and the walk goes on.
    """

    def choose_without_loading(candidate: Candidate, availability: Availability) -> Candidate:
        ready = None if package is None else backends.readiness(candidate, package, plan.options)
        if ready is not None and not ready.usable:
            return candidate.with_status(CandidateStatus.FAILED, ready.reason, ready.fix)
        return candidate.with_status(CandidateStatus.CHOSEN, ready.reason if ready else availability.reason)

    for role in plan.roles():
        plan = probe_role(plan, role, env, backends, choose_without_loading)
    gpu_notes = _gpu_notes(plan, env)
    return plan.with_notes((*plan.notes, *gpu_notes)) if gpu_notes else plan


def probe_role(
    plan: LoadPlan,
    role: str,
    env: Environment,
    backends: BuiltBackends,
    attempt: Callable[[Candidate, Availability], Candidate],
) -> LoadPlan:
    """Walk the role's not-probed candidates in rank order until one is chosen; the one loop behind
    ``explain``, ``pull`` and ``load``, so what they report cannot drift apart.

    A candidate whose backend is not usable here is marked unavailable with its reason and fix; a usable
    one is handed to ``attempt``, which returns it chosen (the walk stops) or failed (the walk goes on).
    """
    for index, candidate in enumerate(plan.candidates):
        if candidate.role != role or candidate.status != CandidateStatus.NOT_PROBED:
            continue
        availability = backends.availability(candidate.backend, env, candidate.device)
        if not availability.usable:
            plan = plan.replace(
                index, candidate.with_status(CandidateStatus.UNAVAILABLE, availability.reason, availability.fix)
            )
            continue
        outcome = attempt(candidate, availability)
        plan = plan.replace(index, outcome)
        if outcome.status == CandidateStatus.CHOSEN:
            break
    return plan


def _gpu_notes(plan: LoadPlan, env: Environment) -> tuple[str, ...]:
    """Which physical GPU each chosen ``cuda:N`` is, by name: ``cuda:0`` is whatever CUDA_VISIBLE_DEVICES puts first."""
    chosen = {Device.parse(candidate.device) for candidate in plan.chosen().values()}
    by_ordinal = {gpu.cuda_index: gpu for gpu in env.visible_gpus}
    notes = []
    for device in sorted((device for device in chosen if device.kind == "cuda"), key=str):
        gpu = by_ordinal.get(device.index)
        if gpu is None:
            continue
        exposed = (
            f"; CUDA_VISIBLE_DEVICES={env.cuda_visible_devices!r} exposes it as {device}"
            if env.cuda_visible_devices is not None
            else ""
        )
        notes.append(
            f"{device} is {gpu.name or 'an unnamed GPU'} (NVML index {gpu.index}, {gpu.uuid or 'no UUID'}{exposed})"
        )
    return tuple(notes)


@attrs.frozen
class BuiltBackends:
    """The backends a plan mentions, built once per load: instances by name, and why any could not be built."""

    instances: Mapping[str, Any]
    unbuildable: Mapping[str, Availability]

    def availability(self, name: str, env: Environment, device: str) -> Availability:
        """Ask backend ``name``; one that could not be built or whose check raises is reported unusable."""
        if name in self.unbuildable:
            return self.unbuildable[name]
        try:
            result = self.instances[name].availability(env, Device.parse(device))
        except Exception as error:  # a third-party backend's bug must not take the whole plan down
            return Availability(False, f"availability check failed: {type(error).__name__}: {error}")
        if not isinstance(result, Availability):
            return Availability(False, f"availability check returned {type(result).__name__}, not Availability")
        return result

    def readiness(self, candidate: Candidate, package: ModelPackage, options: RunOptions) -> Availability | None:
        """Whether the candidate's artifact would load, for backends that can tell without loading.

        ``Backend.readiness(entry, device, options, package=package)`` is optional: ``None`` means "no
        opinion" (the availability stands). A check that raises is reported as a failed candidate, like a
        load would be.
        """
        check = getattr(self.instances.get(candidate.backend), "readiness", None)
        if check is None:
            return None
        (entry,) = [e for e in package.entries(candidate.role) if e.path == candidate.artifact]
        try:
            result = check(entry, Device.parse(candidate.device), options, package=package)
        except Exception as error:
            return Availability(False, f"readiness check failed: {type(error).__name__}: {error}")
        return result if isinstance(result, Availability) or result is None else None


def build_backends(plan: LoadPlan, manager: PluginManager) -> BuiltBackends:
    """Instantiate each backend the plan mentions; a factory that fails is recorded with its reason and fix."""
    specs = manager.backends()
    instances: dict[str, Any] = {}
    unbuildable: dict[str, Availability] = {}
    for name in dict.fromkeys(c.backend for c in plan.candidates):
        spec = specs[name]
        try:
            instances[name] = load_factory(spec.factory)()
        except Exception as error:
            unbuildable[name] = Availability(
                False,
                f"backend {name!r} could not be built from {spec.factory}: {type(error).__name__}: {error}",
                f"reinstall the plugin that provides it ({manager.owner('backend', name)})",
            )
    return BuiltBackends(instances, unbuildable)


def raise_if_unplannable(plan: LoadPlan, roles: tuple[str, ...]) -> None:
    """Explain, as an error, why some role has no candidate that could ever be tried."""
    for role in roles:
        role_candidates = [c for c in plan.candidates if c.role == role]
        if role_candidates and all(c.status == CandidateStatus.REFUSED for c in role_candidates):
            raise SecurityError(f"{plan.model!r}: {role_candidates[0].reason}")
        if not role_candidates:
            detail = "; ".join(plan.notes) or "the package has no artifacts for it"
            raise NoUsableBackendError(
                f"no installed backend can run role {role!r} of {plan.model!r} with "
                f"backend={plan.requested_backend} device={plan.requested_device}: {detail}. "
                "Run `modelrt env` to see what this machine supports "
                "and what to install.",
                plan,
            )

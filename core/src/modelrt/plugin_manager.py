"""Plugin discovery and isolation: the one place modelrt talks to pluggy.

pluggy's own entry-point loader stops at the first plugin that fails to import, crashes on a
distribution visible twice on ``sys.path``, lets a misspelt hook name pass silently, and calls
implementations last-registered-first, stopping at the first exception. This wrapper does instead:

- its own loop over the ``modelrt.plugins`` entry points, run lazily on the first query and once,
  de-duplicated by distribution, in entry-point name order (so which of two conflicting plugins wins
  never depends on ``sys.path`` order);
- the core range a plugin's distribution declares (``Requires-Dist: modelrt-core>=X,<Y``) is checked
  from metadata *before* the plugin is imported; a plugin that declares none is "unversioned";
- each plugin is isolated: failing to import, to register (pluggy validation, ``check_pending`` for
  misspelt hooks), or to answer a hook (raising, or answering with the wrong types) marks that plugin
  broken, unregisters it and drops what it registered; the rest keep working. Strict mode
  (``strict=True`` or ``MODELRT_STRICT_PLUGINS=1``) turns any broken plugin into a ``PluginError``
  from every query except ``plugins()``, which stays the way to see what went wrong;
- a plugin's import and hooks are isolated from ``SystemExit`` too (a plugin calling ``sys.exit`` at
  import is broken, not fatal); only ``KeyboardInterrupt`` goes through;
- a contested name: when two plugins claim the same backend, architecture or source name, *every*
  claimant is rejected, and each one's error names the others. Load order never decides who gets a
  name, so an impostor cannot take ``onnxruntime`` by sorting before ``onnx``; the user settles it by
  uninstalling one or skipping it with ``MODELRT_DISABLE_PLUGINS``. Names the core's own plugin
  registers are reserved: a plugin claiming one is rejected alone;
- ``MODELRT_PLUGINS=a,b`` loads only those entry points, ``MODELRT_DISABLE_PLUGINS=a`` skips some; a
  name in either that matches no installed plugin is a warning naming the installed ones. The core's
  own plugin (``builtin``) is always registered first and cannot be disabled.

Hooks are called one plugin at a time, in load order, with the keyword arguments each implementation
accepts (an implementation may take fewer than its spec). Ranking is the caller's business, from
explicit priorities, never from this order.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pluggy

from modelrt import hookspecs, installed
from modelrt._version import __version__ as CORE_VERSION
from modelrt.env_flags import env_flag
from modelrt.errors import InputError, PluginError
from modelrt.installed import CORE_DISTRIBUTION, ENTRY_POINT_GROUP, distribution_facts
from modelrt.specs import ArchitectureSpec, BackendSpec, Finding, SourceSpec, StatusValue

if TYPE_CHECKING:
    from modelrt.host import Host
    from modelrt.host_environment import Environment

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginManager",
    "PluginStatus",
    "discover_entry_points",
    "get_plugin_manager",
    "reset_plugin_manager",
]

logger = logging.getLogger("modelrt.plugins")

BUILTIN_NAME = "builtin"
STRICT_ENV = "MODELRT_STRICT_PLUGINS"
ONLY_ENV = "MODELRT_PLUGINS"
DISABLE_ENV = "MODELRT_DISABLE_PLUGINS"


class PluginStatus(StatusValue):
    """Where a plugin stands: working (declaring a core range or not), broken, or disabled by the user."""

    OK = "ok"
    BROKEN = "broken"
    UNVERSIONED = "unversioned"
    DISABLED = "disabled"


#: What ``owner()`` accepts as ``kind``: the registration hook and the record type it must return.
_REGISTRATIONS: dict[str, tuple[str, type]] = {
    "backend": ("register_backends", BackendSpec),
    "architecture": ("register_architectures", ArchitectureSpec),
    "source": ("register_sources", SourceSpec),
}

_T = TypeVar("_T")


@attrs.frozen
class PluginInfo:
    """One plugin as ``modelrt plugins`` shows it.

    ``name`` is the entry-point name (``builtin`` for the core's own); ``registers`` maps
    ``backends``/``architectures``/``sources`` to the names it registered (empty unless it works);
    ``error`` says why a plugin is broken or disabled, and what to do; ``core_range`` is the
    ``modelrt-core`` range its distribution declares (``>=0.2,<1``), ``None`` where it declares none or
    was not looked at (a disabled plugin).
    """

    name: str
    distribution: str | None
    version: str | None
    status: PluginStatus = attrs.field(converter=PluginStatus)
    error: str | None = None
    registers: dict[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)
    core_range: str | None = None


@attrs.define
class _PluginRecord:
    """What the manager knows of one plugin while it loads and answers hooks."""

    name: str
    distribution: str | None
    version: str | None
    status: PluginStatus = PluginStatus.OK
    error: str | None = None
    cause: BaseException | None = None
    plugin: object = None
    registers: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    core_range: str | None = None
    #: What the plugin asked to register, kept until every plugin has been heard (contested names).
    claims: dict[str, tuple[Any, ...]] = attrs.field(factory=dict)

    def info(self) -> PluginInfo:
        registers: dict[str, tuple[str, ...]] = {_registers_key(kind): () for kind in _REGISTRATIONS}
        registers.update(self.registers)
        return PluginInfo(
            self.name, self.distribution, self.version, self.status, self.error, registers, self.core_range
        )

    def label(self) -> str:
        return f"{self.name!r} ({self.distribution})" if self.distribution else repr(self.name)


class _BadAnswer(Exception):
    """A hook implementation answered with something the contract does not allow."""


class _PluginBroke(Exception):
    """Raised internally once a plugin has been marked broken, to stop working with it."""


def discover_entry_points() -> list[Any]:
    """The installed ``modelrt.plugins`` entry points (tests replace this to simulate installs).

    Each has ``name``, ``value``, ``dist`` and ``load()``; these come from ``modelrt.installed``'s index of
    the installed distributions (``dist`` an ``IndexedDistribution``). A replacement may hand
    ``importlib.metadata`` entry points instead: ``distribution_facts`` reads either kind of ``dist``.
    """
    return list(installed.plugin_entry_points())


class PluginManager:
    """Finds, checks and isolates plugins; answers what they register and what they say about a host.

    ``strict``: ``None`` reads ``MODELRT_STRICT_PLUGINS``. ``entry_points=False`` skips installed
    plugins, leaving the built-in one and ``plugins`` (an explicit ``{name: module_or_object}``
    mapping, as tests use). Nothing is imported until the first query.
    """

    def __init__(
        self,
        *,
        strict: bool | None = None,
        entry_points: bool = True,
        plugins: Mapping[str, object] | None = None,
    ) -> None:
        self.strict = env_flag(STRICT_ENV) if strict is None else strict
        self._use_entry_points = entry_points
        self._explicit = dict(plugins or {})
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._records: list[_PluginRecord] = []
        self._claims: dict[str, dict[str, tuple[Any, _PluginRecord]]] = {kind: {} for kind in _REGISTRATIONS}
        self._lock = threading.RLock()
        self._loaded = False

    # ---------------------------------------------------------------------------------------- queries

    def backends(self) -> dict[str, BackendSpec]:
        """Every registered backend by name."""
        return self._claimed("backend")

    def architectures(self) -> dict[str, ArchitectureSpec]:
        """Every registered architecture by name."""
        return self._claimed("architecture")

    def sources(self) -> list[SourceSpec]:
        """Every registered source, highest priority first (ties keep load order)."""
        return sorted(self._claimed("source").values(), key=lambda spec: -spec.priority)

    def owner(self, kind: str, name: str) -> str:
        """The plugin that registered the ``kind`` (backend, architecture, source) called ``name``."""
        if kind not in _REGISTRATIONS:
            raise InputError(f"unknown registration kind {kind!r}: expected one of {', '.join(_REGISTRATIONS)}")
        with self._lock:
            self._checked()
            claim = self._claims[kind].get(name)
            if claim is None:
                known = ", ".join(sorted(self._claims[kind])) or "none"
                raise InputError(
                    f"no plugin registers a {kind} named {name!r} (registered: {known}); "
                    "run `modelrt plugins` to see what is installed and what is broken"
                )
            return claim[1].name

    def environment_facts(self, host: Host) -> dict[str, dict[str, Any]]:
        """Each plugin's ``probe_environment`` answer by plugin name (``None`` answers left out)."""
        with self._lock:
            self._checked()
            facts: dict[str, dict[str, Any]] = {}
            for record in self._working():
                try:
                    answer = self._ask(record, "probe_environment", _facts, host=host)
                except _PluginBroke:
                    continue
                if answer is not None:
                    facts[record.name] = answer
            self._checked()
            return facts

    def findings(self, env: Environment) -> list[Finding]:
        """All plugins' ``check_compatibility`` verdicts on ``env``, in load order."""
        with self._lock:
            self._checked()
            findings: list[Finding] = []
            for record in self._working():
                try:
                    findings.extend(self._ask(record, "check_compatibility", _records_of(Finding), env=env))
                except _PluginBroke:
                    continue
            self._checked()
            return findings

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, including broken and disabled ones; never raises, even in strict mode."""
        with self._lock:
            self._ensure_loaded()
            return [record.info() for record in self._records]

    # ---------------------------------------------------------------------------------------- loading

    def _claimed(self, kind: str) -> dict[str, Any]:
        with self._lock:
            self._checked()
            return {name: spec for name, (spec, _owner) in self._claims[kind].items()}

    def _checked(self) -> None:
        """Load if needed; in strict mode, refuse to answer while any plugin is broken."""
        self._ensure_loaded()
        broken = [record for record in self._records if record.status == PluginStatus.BROKEN]
        if self.strict and broken:
            causes = "; ".join(f"plugin {record.label()}: {record.error}" for record in broken)
            raise PluginError(
                f"{causes} (strict plugin mode is on: unset {STRICT_ENV} or pass strict=False to skip "
                "broken plugins instead)"
            ) from broken[0].cause

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        builtin = _PluginRecord(BUILTIN_NAME, CORE_DISTRIBUTION, CORE_VERSION)
        self._records.append(builtin)
        try:
            module = importlib.import_module("modelrt.builtin")
        except Exception as exc:  # a broken core install must still leave third-party plugins usable
            self._break(builtin, f"failed to import modelrt.builtin: {_describe(exc)}", exc)
        else:
            self._admit(builtin, module, declares_core_range=True)
        for name, plugin in self._explicit.items():
            record = _PluginRecord(name, None, None)
            self._records.append(record)
            self._admit(record, plugin, declares_core_range=True)
        if self._use_entry_points:
            self._load_entry_points()
        self._settle_claims()

    def _load_entry_points(self) -> None:
        only = _names_from_env(ONLY_ENV) or None
        disabled = _names_from_env(DISABLE_ENV)
        if BUILTIN_NAME in disabled:
            logger.warning(
                "%s names %r, which cannot be disabled: it is the core's own plugin",
                DISABLE_ENV,
                BUILTIN_NAME,
            )
        seen: set[tuple[str | None, str]] = set()
        for entry_point in sorted(discover_entry_points(), key=lambda entry_point: entry_point.name):
            dist = distribution_facts(getattr(entry_point, "dist", None))
            distribution = dist.canonical_name if dist is not None else None
            if (distribution, entry_point.name) in seen:
                # The same distribution visible twice on sys.path (pluggy crashes here): Python imports
                # the first one, so that is the one we keep.
                logger.debug(
                    "plugin %r of %s seen twice on sys.path; keeping the first", entry_point.name, distribution
                )
                continue
            seen.add((distribution, entry_point.name))
            record = _PluginRecord(entry_point.name, dist.name if dist else None, dist.version if dist else None)
            self._records.append(record)
            with contextlib.suppress(_PluginBroke):
                self._load_entry_point(record, entry_point, dist, only, disabled)
        found = {record.name for record in self._records}
        for variable, names in ((ONLY_ENV, only or set()), (DISABLE_ENV, disabled - {BUILTIN_NAME})):
            for name in sorted(names - found):
                logger.warning(
                    "%s names %r, but no installed plugin has that entry-point name (installed: %s)",
                    variable,
                    name,
                    ", ".join(sorted(found)),
                )

    def _load_entry_point(
        self,
        record: _PluginRecord,
        entry_point: Any,
        dist: installed.IndexedDistribution | None,
        only: set[str] | None,
        disabled: set[str],
    ) -> None:
        holder = next((other for other in self._records if other.name == record.name and other is not record), None)
        if holder is not None:
            raise self._break(
                record,
                f"its name {record.name!r} is taken by plugin {holder.label()}; uninstall one of them",
            )
        if (only is not None and record.name not in only) or record.name in disabled:
            record.status = PluginStatus.DISABLED
            variable = DISABLE_ENV if record.name in disabled else ONLY_ENV
            record.error = f"disabled by {variable}={os.environ.get(variable, '')}"
            logger.info("plugin %s not loaded: %s", record.label(), record.error)
            return
        declared = self._check_core_range(record, dist.core_requirement if dist is not None else None)
        try:
            plugin = entry_point.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # whatever a plugin's import raises (sys.exit too) must not stop the others
            raise self._break(record, f"failed to import {entry_point.value}: {_describe(exc)}", exc) from None
        self._admit(record, plugin, declares_core_range=declared)

    def _check_core_range(self, record: _PluginRecord, requirement: installed.CoreRequirement | None) -> bool:
        """Whether the distribution declares a core range; break the plugin if this core is outside it."""
        if requirement is None:
            return False
        if requirement.unreadable is not None:
            raise self._break(record, requirement.unreadable)
        if requirement.range is None:
            return False
        record.core_range = requirement.range
        if requirement.admits:
            return True
        raise self._break(
            record,
            f"it requires {CORE_DISTRIBUTION}{requirement.specifier} but {CORE_DISTRIBUTION} "
            f"{CORE_VERSION} is installed, so it was not imported; install a matching pair: "
            f'pip install -U "{record.distribution}" (a release that supports {CORE_VERSION}) '
            f'or pip install -U "{CORE_DISTRIBUTION}{requirement.specifier}"',
        )

    def _admit(self, record: _PluginRecord, plugin: object, *, declares_core_range: bool) -> None:
        """Register ``plugin`` and collect what it registers; any failure breaks only this plugin."""
        record.plugin = plugin
        try:
            self._pm.register(plugin, name=record.name)
        except Exception as exc:  # pluggy's PluginValidationError, or ValueError for a name taken twice
            self._break(record, f"could not be registered: {_describe(exc)}", exc)
            return
        try:
            self._pm.check_pending()
            self._refuse_wrappers(record)
            claims: dict[str, tuple[Any, ...]] = {
                kind: self._ask(record, hook_name, _records_of(spec_type))
                for kind, (hook_name, spec_type) in _REGISTRATIONS.items()
            }
            self._refuse_repeated_names(record, claims)
        except pluggy.PluginValidationError as exc:
            self._break(record, self._unknown_hooks(record), exc)
            return
        except _PluginBroke:
            return
        record.claims = claims
        record.status = PluginStatus.OK if declares_core_range else PluginStatus.UNVERSIONED

    def _unknown_hooks(self, record: _PluginRecord) -> str:
        """Why ``check_pending`` refused ``record``: which hook names modelrt does not define."""
        defined = [name for name, caller in vars(self._pm.hook).items() if caller.has_spec()]
        problems = []
        for caller in self._pm.get_hookcallers(record.plugin) or ():
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, defined, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{caller.name!r}{hint}")
        return f"it implements hooks modelrt does not define: {', '.join(problems)}"

    def _refuse_wrappers(self, record: _PluginRecord) -> None:
        for caller in self._pm.get_hookcallers(record.plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin_name == record.name and (impl.wrapper or impl.hookwrapper):
                    raise self._break(
                        record,
                        f"its {caller.name} is a hook wrapper; modelrt calls each plugin on its own, so "
                        "implement the hook as a plain function",
                    )

    def _refuse_repeated_names(self, record: _PluginRecord, claims: Mapping[str, tuple[Any, ...]]) -> None:
        for kind, specs in claims.items():
            names = [spec.name for spec in specs]
            for name in names:
                if names.count(name) > 1:
                    raise self._break(record, f"it registers the {kind} {name!r} twice")

    def _settle_claims(self) -> None:
        """Grant each name claimed by exactly one plugin; reject every claimant of a contested name.

        Names of the core's own plugin are reserved. Any other contest rejects all its claimants, so
        which plugin loads first never decides who runs a model.
        """
        claimants: dict[tuple[str, str], list[_PluginRecord]] = {}
        for record in self._working():
            for kind, specs in record.claims.items():
                for spec in specs:
                    claimants.setdefault((kind, spec.name), []).append(record)
        reasons: dict[int, str] = {}
        for (kind, name), records in claimants.items():
            if len(records) == 1:
                continue
            for record in records:
                if record.name == BUILTIN_NAME or id(record) in reasons:
                    continue
                others = [other for other in records if other is not record]
                if records[0].name == BUILTIN_NAME:
                    reasons[id(record)] = (
                        f"it registers the {kind} {name!r}, a name reserved by modelrt's core plugin "
                        f"{records[0].label()}; skip it with {DISABLE_ENV}={record.name} or uninstall it"
                    )
                else:
                    skips = " or ".join(f"{DISABLE_ENV}={plugin.name}" for plugin in records)
                    reasons[id(record)] = (
                        f"it registers the {kind} {name!r}, also registered by plugin "
                        f"{', '.join(other.label() for other in others)}; a contested name goes to none of them. "
                        f"Uninstall the one you do not want, or skip it with {skips}"
                    )
        for record in list(self._working()):
            if id(record) in reasons:
                self._break(record, reasons[id(record)], with_fix=False)
                continue
            for kind, specs in record.claims.items():
                for spec in specs:
                    self._claims[kind][spec.name] = (spec, record)
            record.registers = {
                _registers_key(kind): tuple(spec.name for spec in specs) for kind, specs in record.claims.items()
            }

    # ---------------------------------------------------------------------------------------- hooks

    def _working(self) -> list[_PluginRecord]:
        return [record for record in self._records if record.status in (PluginStatus.OK, PluginStatus.UNVERSIONED)]

    def _ask(self, record: _PluginRecord, hook_name: str, accept: Callable[[Any], _T], **kwargs: object) -> _T:
        """Call ``record``'s own implementation of a hook; a failure breaks it and raises ``_PluginBroke``."""
        impl = next(
            (impl for impl in getattr(self._pm.hook, hook_name).get_hookimpls() if impl.plugin_name == record.name),
            None,
        )
        if impl is None:
            return accept(None)
        try:
            return accept(impl.function(**{argument: kwargs[argument] for argument in impl.argnames}))
        except _BadAnswer as exc:
            raise self._break(record, f"its {hook_name} answered {exc}", exc) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's failure (sys.exit too) must not reach the caller: it is isolated
            raise self._break(record, f"its {hook_name} raised {_describe(exc)}", exc) from None

    def _break(
        self, record: _PluginRecord, reason: str, cause: BaseException | None = None, *, with_fix: bool = True
    ) -> _PluginBroke:
        """Mark ``record`` broken, unregister it and drop its claims; returns the exception to raise."""
        record.status = PluginStatus.BROKEN
        record.error = f"{reason}{_fix_for(record)}" if with_fix else reason
        record.cause = cause
        record.registers = {}
        for claims in self._claims.values():
            for name in [name for name, (_spec, owner) in claims.items() if owner is record]:
                del claims[name]
        if record.plugin is not None and self._pm.get_plugin(record.name) is record.plugin:
            self._pm.unregister(name=record.name)
        logger.warning("plugin %s is broken and was skipped: %s", record.label(), record.error)
        return _PluginBroke(record.name)


def _registers_key(kind: str) -> str:
    """``backend`` -> ``backends``: the key of ``PluginInfo.registers``, named after the hook."""
    return _REGISTRATIONS[kind][0].removeprefix("register_")


def _records_of(record_type: type[_T]) -> Callable[[Any], tuple[_T, ...]]:
    """An acceptor for hooks that answer with an iterable of ``record_type`` (``None`` means none)."""

    def accept(answer: Any) -> tuple[_T, ...]:
        if answer is None:
            return ()
        if isinstance(answer, (str, bytes, Mapping)) or not isinstance(answer, Iterable):
            raise _BadAnswer(f"a {type(answer).__name__}, not an iterable of {record_type.__name__} records")
        items = tuple(answer)
        for item in items:
            if not isinstance(item, record_type):
                raise _BadAnswer(f"{item!r} (a {type(item).__name__}) where {record_type.__name__} records belong")
        return items

    return accept


def _facts(answer: Any) -> dict[str, Any] | None:
    if answer is None:
        return None
    if not isinstance(answer, Mapping):
        raise _BadAnswer(f"a {type(answer).__name__}, not a mapping of facts or None")
    return dict(answer)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _fix_for(record: _PluginRecord) -> str:
    if record.distribution == CORE_DISTRIBUTION:
        return f'; reinstall the core: pip install --force-reinstall "{CORE_DISTRIBUTION}"'
    if record.distribution is None:
        return ""
    return f'; upgrade it (pip install -U "{record.distribution}") or skip it with {DISABLE_ENV}={record.name}'


def _names_from_env(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


_default_manager: PluginManager | None = None
_default_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager over installed plugins, built on first use."""
    global _default_manager
    with _default_lock:
        if _default_manager is None:
            _default_manager = PluginManager()
        return _default_manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager, so the next use rediscovers plugins (after installing one)."""
    global _default_manager
    with _default_lock:
        _default_manager = None
    installed.forget()

"""Declarative records that plugins return from hooks.

These are the data half of the plugin contract (``hookspecs.py`` is the other half). They import
nothing heavy so that plugin discovery stays cheap.
"""

from __future__ import annotations

import enum
import importlib
from typing import Any

import attrs

__all__ = [
    "ArchitectureSpec",
    "Availability",
    "BackendSpec",
    "Finding",
    "Severity",
    "SourceSpec",
    "Status",
    "StatusValue",
    "load_factory",
]


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


@attrs.frozen
class BackendSpec:
    """A named way to run artifacts of some formats on some device kinds.

    ``devices`` are device kinds (``cpu``, ``cuda``, ``mps``, ``coreml``, ``dla``); ``priority`` ranks
    backends that can run the same artifact (higher first); ``requires`` lists PEP 508 requirements the
    backend's runtime needs, used for install advice; ``factory`` is ``"module:Class"`` and is imported
    only when the backend becomes a candidate.
    """

    name: str
    formats: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    devices: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    priority: int
    factory: str
    requires: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)


@attrs.frozen
class ArchitectureSpec:
    """A model architecture: turns images into tensors and tensors into results.

    ``tasks`` are the manifest tasks it serves; ``mps_capable`` says whether it is known to run
    correctly on Apple's MPS (MPS is only offered for such architectures).
    """

    name: str
    tasks: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    factory: str
    mps_capable: bool = False


@attrs.frozen
class SourceSpec:
    """Turns what the user passed to ``modelrt.load`` into a ``ModelPackage``.

    ``schemes_or_suffixes`` holds what this source claims: ``"hf://"`` (a URL scheme, ends with
    ``://``), ``".onnx"`` (a file suffix, starts with ``.``) or ``"dir:model_config.json"`` (a
    directory that contains that file). The highest ``priority`` among matching sources wins.
    """

    name: str
    schemes_or_suffixes: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    priority: int
    factory: str

    def matches(self, reference: str, is_dir: bool, dir_entries: frozenset[str]) -> bool:
        """Whether this source claims ``reference`` (a path or URL as the user wrote it)."""
        lowered = reference.lower()
        return any(_claims(claim, lowered, is_dir, dir_entries) for claim in self.schemes_or_suffixes)


def _claims(claim: str, lowered_reference: str, is_dir: bool, dir_entries: frozenset[str]) -> bool:
    if claim.endswith("://"):
        return lowered_reference.startswith(claim.lower())
    if claim.startswith("dir:"):
        return is_dir and claim[len("dir:") :] in dir_entries
    if claim.startswith("."):
        return not is_dir and lowered_reference.endswith(claim.lower())
    return False


class StatusValue(str, enum.Enum):
    """The one way modelrt types a status: an enum whose members compare, print and serialise as their
    plain string (``"stable"``, ``"chosen"``, ``"broken"``), whatever the Python version."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)


class Status(StatusValue):
    """Where a host stands in the hardware compatibility matrix."""

    STABLE = "stable"
    EXPERIMENTAL = "experimental"
    REQUIRES_VERIFICATION = "requires-verification"
    NOT_TESTED = "not-tested"
    NOT_POSSIBLE = "not-possible"
    OUTSIDE_VERIFIED_MATRIX = "outside-verified-matrix"
    UNKNOWN = "unknown"


class Severity(str, enum.Enum):
    """How loudly a Finding should be reported."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@attrs.frozen
class Finding:
    """One verdict about this host: which matrix row, its status, and what to do about it.

    ``fix`` is a shell command or instruction; ``install`` holds pip requirement strings (for example
    ``modelrt[onnx]``) that ``modelrt env`` merges into one install command. ``index_install`` holds
    requirements that must come from another package index, ``index_url`` (pip's ``--index-url``):
    runtime builds that PyPI does not carry for this platform, such as the Jetson wheels of
    ``onnxruntime-gpu``. ``--index-url`` rather than ``--extra-index-url``, because with several
    indexes pip takes the highest version from any of them, which would be PyPI's build.
    """

    row: str
    status: Status = attrs.field(converter=Status)
    severity: Severity = attrs.field(converter=Severity)
    message: str
    fix: str | None = None
    install: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    index_url: str | None = None
    index_install: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)

    @index_install.validator
    def _index_install_needs_an_index(self, _attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if value and not self.index_url:
            raise ValueError(
                f"Finding {self.row!r} lists index_install {list(value)} without an index_url; name the index "
                "they come from, or move them to install"
            )


@attrs.frozen
class Availability:
    """Whether a backend can run on a device here, why (not), and the fix."""

    usable: bool
    reason: str
    fix: str | None = None


def load_factory(factory: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute.

    Raises ``ImportError``/``AttributeError`` as they come: callers decide how to report them.
    """
    module_name, _, attribute = factory.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"factory {factory!r} must be written 'module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj

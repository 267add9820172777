"""``RunOptions``: one options type for every backend, recorded in the LoadPlan and cache keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from modelrt.cpus import usable_cpu_count
from modelrt.errors import InputError

__all__ = ["PRECISIONS", "RunOptions"]

PRECISIONS = ("auto", "fp32", "fp16", "int8")


def _check_precision(_instance: object, _attribute: object, value: str) -> None:
    if value not in PRECISIONS:
        raise InputError(f"unknown precision {value!r}: expected one of {', '.join(PRECISIONS)}")


def _check_threads(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise InputError(f"threads must be a positive integer or None (all usable CPUs), not {value!r}")


def _check_warmup(_instance: object, _attribute: object, value: int) -> None:
    if not isinstance(value, int) or value < 0:
        raise InputError(f"warmup must be a non-negative number of runs, not {value!r}")


def _freeze_extras(value: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(namespace): dict(options) for namespace, options in (value or {}).items()}


@attrs.frozen
class RunOptions:
    """How to run a model, whatever the backend.

    ``threads``: intra-op threads; ``None`` means the CPUs this process may use (affinity and cgroup
    quota), resolved by ``resolved_threads()``. ``precision``: ``auto`` lets the backend pick the
    fastest precision the artifact and device allow. ``warmup``: runs done at load time.
    ``extras``: backend-specific settings under the backend's name, e.g.
    ``{"onnxruntime": {"graph_optimization": "extended"}}``.
    """

    threads: int | None = attrs.field(default=None, validator=_check_threads)
    precision: str = attrs.field(default="auto", validator=_check_precision)
    warmup: int = attrs.field(default=0, validator=_check_warmup)
    extras: dict[str, dict[str, Any]] = attrs.field(factory=dict, converter=_freeze_extras, hash=False)

    def resolved_threads(self) -> int:
        """The thread count to use: the explicit one, or the CPUs this process may use."""
        return self.threads if self.threads is not None else usable_cpu_count()

    def for_backend(self, backend: str) -> dict[str, Any]:
        """The extras a given backend reads."""
        return dict(self.extras.get(backend, {}))

    def cache_key(self) -> str:
        """A stable string that identifies these options in cache keys."""
        return json.dumps(attrs.asdict(self), sort_keys=True, default=str)

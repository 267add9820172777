"""The tensorrt backend's own settings, from ``RunOptions.extras["tensorrt"]``, checked once.

``flavour``: ``tensorrt``, ``tensorrt_rtx`` or ``tensorrt_lean`` (default: the first installed, in that
order). ``build``: a load may build a missing engine (default False: loads only use cached engines, and
``modelrt build`` makes them). ``contexts``: execution contexts per session, the number of ``run`` calls
that proceed at once (default 2). ``cuda_graphs``: replay CUDA graphs for static shapes (default True).
``batch``/``shapes``: the profile a load looks for or builds (as ``modelrt build --batch/--shape``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from modelrt.errors import InputError
from modelrt_trt.binding import FLAVOUR_MODULES

if TYPE_CHECKING:
    from modelrt.options import RunOptions

__all__ = ["BACKEND_NAME", "TrtSettings"]

BACKEND_NAME = "tensorrt"
_KNOWN = ("flavour", "build", "contexts", "cuda_graphs", "batch", "shapes")


@attrs.frozen
class TrtSettings:
    flavour: str | None = None
    build: bool = False
    contexts: int = 2
    cuda_graphs: bool = True
    batch: tuple[int, int, int] | None = None
    shapes: Mapping[str, Sequence[Sequence[int]]] = attrs.field(factory=dict)

    @property
    def names_profile(self) -> bool:
        return self.batch is not None or bool(self.shapes)

    @classmethod
    def from_options(cls, options: RunOptions) -> TrtSettings:
        extras: dict[str, Any] = options.for_backend(BACKEND_NAME)
        unknown = sorted(set(extras) - set(_KNOWN))
        if unknown:
            raise InputError(f"unknown tensorrt settings {unknown}: the tensorrt backend reads {', '.join(_KNOWN)}")
        flavour = extras.get("flavour")
        if flavour is not None and flavour not in FLAVOUR_MODULES:
            raise InputError(f"tensorrt flavour {flavour!r}: expected one of {', '.join(FLAVOUR_MODULES)}")
        contexts = extras.get("contexts", 2)
        if not isinstance(contexts, int) or isinstance(contexts, bool) or contexts < 1:
            raise InputError(f"tensorrt contexts must be a positive integer, not {contexts!r}")
        batch = extras.get("batch")
        return cls(
            flavour=flavour,
            build=extras.get("build") is True,
            contexts=contexts,
            cuda_graphs=extras.get("cuda_graphs", True) is not False,
            batch=None if batch is None else tuple(int(value) for value in batch),  # type: ignore[arg-type]
            shapes=dict(extras.get("shapes") or {}),
        )

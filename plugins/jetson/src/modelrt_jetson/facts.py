"""``JetsonFacts``: what the jetson plugin found, as it sits in ``Environment.facts["jetson"]``.

The record is plain data, so it survives ``Environment.to_json`` and is read back, typed, with
``JetsonFacts.from_environment``. A TensorRT backend takes from it what it must bind on a Jetson
(``tensorrt_library``, the bindings in ``tensorrt_bindings``, never a wheel) and how many DLA cores
it may offer as ``dla:0``/``dla:1``, without probing again. Fields are only ever added, with
defaults, so facts written by an older plugin still load; keys from a newer one are ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from modelrt.compatibility import JETSON_FACTS_KEY
from modelrt.errors import InputError

if TYPE_CHECKING:
    import cattrs

    from modelrt.host_environment import Environment

__all__ = ["JetsonFacts", "PythonDistribution", "TensorRTBindings"]


@attrs.frozen(order=True)
class TensorRTBindings:
    """JetPack's ``tensorrt`` Python package for one Python (``3.10``), at ``path``."""

    python: str
    path: str
    version: str | None = None


@attrs.frozen(order=True)
class PythonDistribution:
    """An installed distribution (normalised name), its version, and the site directory holding it."""

    name: str
    version: str
    location: str


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _dict(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class JetsonFacts:
    """Facts about an NVIDIA Jetson, or why a host that looked like one is not.

    ``is_jetson`` is the plugin's verdict on the host and ``evidence`` what it rests on (files, the
    kernel); ``not_jetson_reason`` says why L4T files alone did not make it one. ``l4t`` is the
    release in effect (``36.4.0``), ``l4t_source`` where it came from (``MODELRT_L4T_VERSION`` wins
    over ``/etc/nv_tegra_release``, then the ``nvidia-l4t-core`` package), ``l4t_override`` the
    variable's raw value when set. ``jetpack`` is the table's name for the release (``6.1``),
    ``jetpack_major`` the major used for logic. ``l4t_ubuntu`` is the Ubuntu that L4T ships. ``model``
    is the device tree's display string; ``module``/``module_part``/``carrier_part``/``soc`` come
    from its part numbers (``soc_source`` says when the SoC was inferred from an L4T that supports
    only one). ``container_marks`` list what shows a container (empty on bare metal). Versions
    carry their source; paths are as the board sees them. ``wheel_index`` is the Jetson wheel index
    for this JetPack and CUDA. ``unknown`` maps a field to why it is ``None``.
    """

    is_jetson: bool
    evidence: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    not_jetson_reason: str | None = None
    l4t: str | None = None
    l4t_source: str | None = None
    l4t_override: str | None = None
    jetpack: str | None = None
    jetpack_major: int | None = None
    l4t_ubuntu: str | None = None
    model: str | None = None
    module: str | None = None
    module_part: str | None = None
    carrier_part: str | None = None
    soc: str | None = None
    soc_source: str | None = None
    gpu_compute_capability: str | None = None
    dla_cores: int | None = None
    power_mode: str | None = None
    container_marks: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    cuda: str | None = None
    cuda_source: str | None = None
    cudnn: str | None = None
    tensorrt: str | None = None
    tensorrt_source: str | None = None
    tensorrt_library: str | None = None
    tensorrt_bindings: tuple[TensorRTBindings, ...] = attrs.field(default=(), converter=_tuple)
    tensorrt_wheels: tuple[PythonDistribution, ...] = attrs.field(default=(), converter=_tuple)
    wheel_index: str | None = None
    unknown: dict[str, str] = attrs.field(factory=dict, converter=_dict, hash=False)

    @property
    def in_container(self) -> bool:
        return bool(self.container_marks)

    def bindings_for(self, python_version: str) -> TensorRTBindings | None:
        """JetPack's TensorRT bindings for a Python (``3.10`` or ``3.10.12``), or ``None``."""
        major_minor = ".".join(python_version.split(".")[:2])
        return next((bindings for bindings in self.tensorrt_bindings if bindings.python == major_minor), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, as ``probe_environment`` returns it."""
        return _converter().unstructure(self)

    @classmethod
    def from_dict(cls, data: Any) -> JetsonFacts:
        """Rebuild from ``to_dict`` data; an ``InputError`` says what is wrong with it."""
        import cattrs

        if not isinstance(data, Mapping):
            raise InputError(f"jetson facts must be a JSON object, got {type(data).__name__}")
        try:
            return _converter().structure(dict(data), cls)
        except cattrs.BaseValidationError as error:
            problems = "; ".join(cattrs.transform_error(error, path="facts.jetson"))
            raise InputError(f"invalid jetson facts: {problems}; probe the host again with `modelrt env`") from None
        except (TypeError, ValueError) as error:
            raise InputError(f"invalid jetson facts: {error}; probe the host again with `modelrt env`") from None

    @classmethod
    def from_environment(cls, env: Environment) -> JetsonFacts | None:
        """The jetson plugin's facts in ``env``, or ``None`` when it contributed none."""
        data = env.facts.get(JETSON_FACTS_KEY)
        return None if data is None else cls.from_dict(data)


@functools.cache
def _converter() -> cattrs.Converter:
    # cattrs is slow to import and discovery imports this module: import it on first use.
    import cattrs

    return cattrs.Converter()

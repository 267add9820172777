"""Backend names as people type them: aliases, near misses, and which distribution provides each backend.

``backend=`` takes the name a backend plugin registers (``onnxruntime``, ``torch``) or one of the
documented aliases in ``BACKEND_ALIASES`` (``onnx``/``ort``, ``pytorch``/``pt``, ``trt``), in any case.
A name no installed plugin registers is an error that says why: a near miss names what was meant, a
backend of a modelrt plugin that is installed but not working says what is wrong with that plugin
(never to install it again), one that is not installed gives the install command, and a backend no
released plugin provides is said to be so.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from modelrt import installed
from modelrt.devices import DEVICE_KINDS
from modelrt.errors import NoUsableBackendError

if TYPE_CHECKING:
    from modelrt.plugin_manager import PluginInfo

__all__ = ["BACKEND_ALIASES", "PLANNED_BACKENDS", "RELEASED_BACKENDS", "resolve_backend"]

#: Other names people use for a backend, mapped to the name its plugin registers.
BACKEND_ALIASES: dict[str, str] = {
    "onnx": "onnxruntime",
    "ort": "onnxruntime",
    "pytorch": "torch",
    "pt": "torch",
    "trt": "tensorrt",
}

#: Backends of modelrt's released plugin distributions: (distribution, meta extra that installs it).
RELEASED_BACKENDS: dict[str, tuple[str, str]] = {
    "onnxruntime": ("modelrt-onnx", "onnx"),
    "torch": ("modelrt-torch", "torch"),
}

#: Backends in modelrt's design with no released plugin yet, and the distribution that will provide each.
PLANNED_BACKENDS: dict[str, str] = {"tensorrt": "modelrt-trt"}


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None (a seam: tests simulate installs)."""
    return installed.installed_version(distribution)


def resolve_backend(name: str, installed: Collection[str], plugins: Sequence[PluginInfo]) -> str:
    """The registered name ``name`` means, given the ``installed`` backend names; raise if there is none.

    ``plugins`` is the plugin manager's listing, used to say why a modelrt backend is missing.
    """
    if name in installed:
        return name
    typed = name.strip().lower()
    meant = BACKEND_ALIASES.get(typed, typed)
    by_lower = {backend.lower(): backend for backend in installed}
    if meant in by_lower:
        return by_lower[meant]
    raise NoUsableBackendError(_unknown_message(name, meant, installed, plugins))


def _unknown_message(name: str, meant: str, installed: Collection[str], plugins: Sequence[PluginInfo]) -> str:
    listing = f"installed backends: {', '.join(sorted(installed)) or 'none'}"
    if meant in DEVICE_KINDS:
        return f"{name!r} is a device, not a backend: pass device={meant!r}, with backend='auto' ({listing})"
    if meant in RELEASED_BACKENDS or meant in PLANNED_BACKENDS:
        return f"{_named(name, meant)}: {_why_missing(meant, plugins)} ({listing})"
    suggestion = _near_miss(meant, installed)
    if suggestion is not None:
        missing = "" if suggestion in installed else f"; {_why_missing(suggestion, plugins)}"
        return f"unknown backend {name!r}: did you mean {suggestion!r}?{missing} ({listing})"
    known = ", ".join(sorted(RELEASED_BACKENDS))
    return (
        f"unknown backend {name!r}: no installed plugin registers it, and no modelrt plugin release provides "
        f"it (modelrt's plugins provide {known}); a third-party plugin may, see `modelrt plugins` ({listing})"
    )


def _named(name: str, meant: str) -> str:
    return f"backend {meant!r}" if name.strip().lower() == meant else f"backend {name!r} (that is {meant!r})"


def _why_missing(backend: str, plugins: Sequence[PluginInfo]) -> str:
    """Why a modelrt backend is absent: no release yet, its plugin broken, disabled, not loaded, or not installed."""
    if backend in PLANNED_BACKENDS:
        return (
            f"no released modelrt plugin provides it yet (it is planned for {PLANNED_BACKENDS[backend]}) "
            "and no installed plugin registers it"
        )
    from packaging.utils import canonicalize_name  # a failed load only: it costs 10 ms to import

    distribution, extra = RELEASED_BACKENDS[backend]
    record = next(
        (info for info in plugins if info.distribution and canonicalize_name(info.distribution) == distribution), None
    )
    if record is not None and record.status in ("broken", "disabled"):
        return f"its plugin {record.name!r} ({distribution}) is installed but {record.status}: {record.error}"
    version = installed_version(distribution)
    if record is not None or version is not None:
        installed_as = f"{distribution} {version}" if version else distribution
        return (
            f"{installed_as} is installed, but no plugin loaded here registers {backend!r}; "
            "`modelrt plugins` shows what each plugin registers"
        )
    return f'its plugin is not installed: pip install "modelrt[{extra}]"'


def _near_miss(typed: str, installed: Collection[str]) -> str | None:
    """The backend (installed, modelrt's own, or by a documented alias) ``typed`` is closest to, if close."""
    words = {backend: backend for backend in (*RELEASED_BACKENDS, *PLANNED_BACKENDS)}
    words.update(BACKEND_ALIASES)
    words.update({backend.lower(): backend for backend in installed})
    close = difflib.get_close_matches(typed, list(words), n=1, cutoff=0.75)
    return words[close[0]] if close else None

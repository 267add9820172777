"""Resolving what the user passed to ``modelrt.load`` into a ``ModelPackage`` through the source plugins."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelrt.env_flags import env_flag
from modelrt.errors import InputError, ModelRTError, PackageError
from modelrt.packages import ModelPackage
from modelrt.specs import load_factory

if TYPE_CHECKING:
    from modelrt.plugin_manager import PluginManager

__all__ = ["open_package", "resolve_offline"]


def resolve_offline(offline: bool | None) -> bool:
    """``offline=None`` follows ``HF_HUB_OFFLINE``/``MODELRT_OFFLINE``; an explicit value wins."""
    if offline is not None:
        return offline
    return any(env_flag(name) for name in ("HF_HUB_OFFLINE", "MODELRT_OFFLINE"))


def open_package(
    reference: str | os.PathLike[str],
    manager: PluginManager,
    offline: bool = False,
    *,
    revision: str | None = None,
    subfolder: str | None = None,
) -> ModelPackage:
    """Find the highest-priority source that claims ``reference`` and open it.

    ``revision`` and ``subfolder`` are passed only when given, and only to a source whose ``open``
    takes them (the Hub's); for any other source they are an ``InputError``.
    """
    text = os.fspath(reference)
    path = Path(text).expanduser()
    is_dir = path.is_dir()
    entries = frozenset(os.listdir(path)) if is_dir else frozenset()
    matching = [spec for spec in manager.sources() if spec.matches(text, is_dir, entries)]
    if not matching:
        raise PackageError(_no_source_message(text, path, is_dir, manager))
    spec = matching[0]
    try:
        source = load_factory(spec.factory)()
        options = _where_in_source(source, spec.name, text, revision=revision, subfolder=subfolder)
        package = source.open(text, offline=offline, **options)
    except ModelRTError:
        raise
    except Exception as error:  # a source plugin's bug is reported as such, not as a raw traceback
        raise PackageError(
            f"source {spec.name!r} (plugin {manager.owner('source', spec.name)}) failed to open {text!r}: "
            f"{type(error).__name__}: {error}"
        ) from error
    if not isinstance(package, ModelPackage):
        raise PackageError(f"source {spec.name!r} returned {type(package).__name__}, not a ModelPackage")
    return package


def _where_in_source(source: object, name: str, text: str, **given: str | None) -> dict[str, str]:
    """The ``revision``/``subfolder`` options to pass: those given, if the source's ``open`` takes them."""
    options = {key: value for key, value in given.items() if value is not None}
    if not options:
        return options
    parameters = inspect.signature(source.open).parameters  # type: ignore[attr-defined]
    takes_any = any(parameter.kind == inspect.Parameter.VAR_KEYWORD for parameter in parameters.values())
    refused = [key for key in options if key not in parameters and not takes_any]
    if refused:
        raise InputError(
            f"{' and '.join(f'{key}=' for key in refused)} applies to models on a hub (hf://org/repo), but "
            f"{text!r} is opened by source {name!r}, which has no {' or '.join(refused)}; leave it out"
        )
    return options


def _no_source_message(text: str, path: Path, is_dir: bool, manager: PluginManager) -> str:
    claims = sorted({claim for spec in manager.sources() for claim in spec.schemes_or_suffixes})
    understood = ", ".join(claims) or "none (no source plugin is installed)"
    if "://" not in text and not path.exists():
        return f"model {text!r} not found: no such file or directory. Check the path."
    kind = "directory" if is_dir else "file"
    return (
        f"no installed source understands the {kind} {text!r} (understood: {understood}). A modelrt package "
        "is a directory with modelrt.json; make one with `modelrt package MODEL_FILE --task TASK -o DIR`, "
        'or install the plugin for this format (e.g. pip install "modelrt[onnx]" for .onnx files).'
    )

"""Resolving what the user passed to ``modelrt.load`` into a ``ModelPackage`` through the source plugins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelrt.errors import ModelRTError, PackageError
from modelrt.packages import ModelPackage
from modelrt.specs import load_factory

if TYPE_CHECKING:
    from modelrt.plugin_manager import PluginManager

__all__ = ["open_package", "resolve_offline"]

_TRUTHY = {"1", "true", "yes", "on"}


def resolve_offline(offline: bool | None) -> bool:
    """``offline=None`` follows ``HF_HUB_OFFLINE``/``MODELRT_OFFLINE``; an explicit value wins."""
    if offline is not None:
        return offline
    return any(os.environ.get(name, "").strip().lower() in _TRUTHY for name in ("HF_HUB_OFFLINE", "MODELRT_OFFLINE"))


def open_package(reference: str | os.PathLike[str], manager: PluginManager, offline: bool = False) -> ModelPackage:
    """Find the highest-priority source that claims ``reference`` and open it."""
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
        package = source.open(text, offline=offline)
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

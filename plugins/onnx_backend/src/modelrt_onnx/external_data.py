"""Checks that an ONNX model is a readable file whose external-data files stay inside its package.

An ONNX tensor may keep its bytes in another file named by a relative ``location``; the ``onnx``
library has had path-traversal advisories for such locations, and older onnxruntime builds follow them
without checking. So before onnxruntime sees the model, every location is checked here: absolute
locations are refused, and each must resolve (symlinks followed) inside the package directory.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from modelrt.errors import PackageError, SecurityError
from modelrt_onnx.onnx_proto import OnnxFormatError, external_data_locations

__all__ = ["check_model_file"]


def check_model_file(model: Path, package_root: Path) -> tuple[Path, ...]:
    """Raise unless ``model`` is a non-empty file whose external data lies inside ``package_root``.

    :return: the resolved external-data files (empty for a self-contained model).
    :raises PackageError: missing or empty file, unparsable protobuf, missing external-data file.
    :raises SecurityError: an absolute location, or one that resolves outside ``package_root``.
    """
    try:
        size = model.stat().st_size
    except FileNotFoundError:
        raise PackageError(f"ONNX model {model} does not exist; restore the file or fix the path") from None
    except OSError as error:
        raise PackageError(f"cannot read ONNX model {model}: {error.strerror}") from None
    if not model.is_file():
        raise PackageError(f"{model} is not a file; an ONNX model is a single .onnx file")
    if size == 0:
        raise PackageError(f"ONNX model {model} is empty (0 bytes); download or export it again")
    try:
        locations = external_data_locations(model)
    except OnnxFormatError as error:
        raise PackageError(
            f"{model} is not a valid ONNX model ({error}); the file is corrupt or truncated. Download or "
            "export it again."
        ) from None
    root = package_root.resolve()
    return tuple(_resolve_inside(model, location, root) for location in locations)


def _resolve_inside(model: Path, location: str, root: Path) -> Path:
    if not location or PurePosixPath(location).anchor or PureWindowsPath(location).anchor:
        raise SecurityError(
            f"{model} names external data at {location!r}, an absolute or empty path; ONNX external data "
            "must be a path relative to the model. Re-export the model with relative external data."
        )
    # onnxruntime resolves locations against the directory of the model path it was given.
    target = (model.absolute().parent / location).resolve()
    if not target.is_relative_to(root):
        raise SecurityError(
            f"{model} names external data {location!r}, which resolves to {target}, outside the package "
            f"directory {root}; a model may only read files of its own package"
        )
    if not target.is_file():
        raise PackageError(
            f"{model} keeps weights in {location!r}, but {target} does not exist; copy that file next to the model"
        )
    return target

"""Builds an onnxruntime session from verified bytes only, so that what runs is what the manifest pins.

onnxruntime gets the model as bytes, and each external-data file as bytes too
(``SessionOptions.add_external_initializers_from_files_in_memory``, onnxruntime 1.24.1 and later): it
opens no file of the package, so a file replaced after verification is never what runs. Its session's
external-data folder is an empty private directory, so a tensor that still asks onnxruntime to read a
file finds nothing there (loaded from bytes, onnxruntime would otherwise read it from the current working
directory).

onnxruntime takes external data from memory only for dense initializers of the main graph: it reads the
files itself for subgraphs (If/Loop/Scan bodies), sparse initializers, node attributes and model-local
functions. For such a model, and with an onnxruntime that lacks the method (the newest one for Python
3.10 is 1.23.2), the verified bytes are copied into a private temporary directory, in the package's
layout, and the session is built from there: onnxruntime then reads copies that nothing else can change.
That costs a disk copy of the weights, removed once the session is built.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

from modelrt.errors import PackageError
from modelrt.storage import storage_errors

__all__ = ["EXTERNAL_DATA_FOLDER_KEY", "create_session"]

#: The session config entry naming the directory external data is read from (1.23 honours it, 1.17 ignores it).
EXTERNAL_DATA_FOLDER_KEY = "session.model_external_initializers_file_folder_path"
_IN_MEMORY_METHOD = "add_external_initializers_from_files_in_memory"


def create_session(
    ort: ModuleType,
    model: bytes,
    model_path: PurePath,
    external_data: Mapping[str, bytes],
    top_level_only: bool,
    session_options: Any,
    providers: Sequence[Any],
) -> Any:
    """An ``InferenceSession`` of ``model`` (verified bytes) and its verified ``external_data``.

    ``external_data`` maps each location, as the model writes it, to that file's content;
    ``model_path`` is the model's path inside its package (for the layout of a private copy);
    ``top_level_only`` says whether all external data belongs to main-graph initializers.
    """
    takes_bytes = hasattr(session_options, _IN_MEMORY_METHOD)
    if external_data and not (top_level_only and takes_bytes):
        return _session_from_private_copy(ort, model, model_path, external_data, session_options, providers)
    with tempfile.TemporaryDirectory(prefix="modelrt-onnx-nothing-") as empty:
        session_options.add_session_config_entry(EXTERNAL_DATA_FOLDER_KEY, empty)
        if external_data:
            names = list(external_data)
            contents = [external_data[name] for name in names]
            getattr(session_options, _IN_MEMORY_METHOD)(names, contents, [len(content) for content in contents])
        return ort.InferenceSession(model, sess_options=session_options, providers=list(providers))


def _session_from_private_copy(
    ort: ModuleType,
    model: bytes,
    model_path: PurePath,
    external_data: Mapping[str, bytes],
    session_options: Any,
    providers: Sequence[Any],
) -> Any:
    # mkdtemp makes the directory readable and writable by this user only.
    with tempfile.TemporaryDirectory(prefix="modelrt-onnx-", ignore_cleanup_errors=True) as private:
        root = Path(private)
        staged_model = root / model_path
        files = {staged_model: model}
        for location, content in external_data.items():
            files[_staged_path(root, model_path, location)] = content
        for path, content in files.items():
            with storage_errors(path):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        return ort.InferenceSession(str(staged_model), sess_options=session_options, providers=list(providers))


def _staged_path(root: Path, model_path: PurePath, location: str) -> Path:
    """Where ``location`` lands in a copy of the package rooted at ``root``, as a runtime resolves it."""
    relative = os.path.normpath(model_path.parent / location)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
        # Only a symlink inside the package lets a location climb above the package root and still
        # resolve inside it; a copy without that symlink cannot reproduce the layout.
        raise PackageError(
            f"{model_path} names external data {location!r}, which reaches its file through a symlink above "
            "the model's directory; copy the file to a plain path inside the package and re-export the model"
        )
    return root / relative

"""What a ``.pt2`` exported program holds, checked on the verified bytes before ``torch.export.load`` reads them.

An exported program is a zip archive, and torch 2.13 runs code from it in these places
(torch/export/pt2_archive/_package.py and torch/_export/serde/serialize.py):

- a weight or tensor constant whose config says ``"use_pickle": true``: ``torch.load(weights_only=False)``;
- a constant stored as ``custom_obj_N`` (torch's TorchScript-object pickle) or ``opaque_obj_N``
  (``pickle.loads``), whatever its config says;
- the example inputs, ``data/sample_inputs/model.pt``: ``torch.load(weights_only=True)``, retried with
  ``weights_only=False`` when that fails;
- the layout torch 2.7 and older wrote (a top-level ``version``, ``serialized_*.pt``) and its leftovers
  (``data/weights/model.pt``): weights, constants and example inputs through the same retry. torch falls
  back to that layout whenever the current one fails to load, reading the zip again with Python's reader;
- ``data/aotinductor/``: compiled shared libraries, loaded into the process;
- shape expressions and guards: Python's ``eval`` and ``exec`` (``program_expressions.py``).

Weights and constants saved as raw tensors (``"use_pickle": false``) are copied from bytes, never unpickled.

So the archive must list the same entries through torch's zip reader and Python's, no two names may differ
only in case, and every entry must be one ``torch.export.save`` writes for one program; configs must have
exactly the fields torch 2.13 writes. Pickled payloads need the caller's ``allow_pickle=True``, and
example inputs must load with ``weights_only=True`` (torch's first try then succeeds, so it never retries).
Shape expressions and guards must be the arithmetic torch writes, consent or not.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from modelrt.errors import PackageError, SecurityError
from modelrt_torch.program_expressions import is_torch_guard, is_torch_shape_expression
from modelrt_torch.torch_errors import load_error

__all__ = ["audit_exported_program"]

_PROGRAM = "models/model.json"
_EXAMPLE_INPUTS = "data/sample_inputs/model.pt"
_WEIGHTS_CONFIG = "data/weights/model_weights_config.json"
_CONSTANTS_CONFIG = "data/constants/model_constants_config.json"
_FIXED_ENTRIES = frozenset(
    {
        "archive_format",
        "archive_version",
        "byteorder",
        ".data/version",
        ".data/serialization_id",
        _PROGRAM,
        _EXAMPLE_INPUTS,
        _WEIGHTS_CONFIG,
        _CONSTANTS_CONFIG,
    }
)
_OLD_LAYOUT_PICKLES = {"data/weights/model.pt": "weights", "data/constants/model.pt": "constants"}
_RAW_WEIGHT = re.compile(r"weight_\d+")
_CONSTANT = re.compile(r"(tensor|custom_obj|opaque_obj)_\d+")
_PAYLOAD_FIELDS = frozenset({"path_name", "is_param", "use_pickle", "tensor_meta"})
#: Read as text into ``extra_files``, never interpreted.
_EXTRA_FILES = "extra/"
_FIX = "Export the model again with torch.export.save."


def audit_exported_program(torch: ModuleType, data: bytes, path: Path, allow_pickle: bool) -> None:
    """Raise unless torch can load ``data``, the content of ``path``, without running code from it.

    Pickled payloads pass only with ``allow_pickle``; an entry or a config this check does not know is
    refused (``SecurityError``), and a file that is not a ``.pt2`` archive is a ``PackageError``.
    """
    name = path.name
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as opened:
            zip_names = opened.namelist()
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as error:
        raise load_error(error, path, "exported-program", str(torch.__version__)) from None
    view = _torch_view(data)
    if view is None:
        if "version" not in zip_names:
            raise PackageError(
                f"torch {torch.__version__} could not read {path} as exported-program: it is a zip archive "
                f"without torch.export's archive_format entry under one top-level folder. {_FIX}"
            )
        _require_consent(name, ["all its tensors (it is in the layout torch 2.7 and older wrote)"], allow_pickle)
        return
    archive, listed = view
    records = _records(listed, zip_names, name)
    for record in records:
        _check_entry(record, name)
    if _PROGRAM not in records:
        raise PackageError(f"{path} holds no exported program ({_PROGRAM} is missing). {_FIX}")
    pickled = list(_pickled_payloads(archive, records, name))
    if not allow_pickle and _EXAMPLE_INPUTS in records and not _weights_only(torch, archive, _EXAMPLE_INPUTS, name):
        pickled.append("example inputs (they are not plain tensors)")
    _check_program_text(archive, name)
    _require_consent(name, pickled, allow_pickle)


# ------------------------------------------------------------------------------------- the zip itself


def _torch_view(data: bytes) -> tuple[Any, list[str]] | None:
    """The archive and its entries through torch's own reader, as ``torch.export.load`` sees them.

    None where that reader fails (no common top folder, no ``archive_format``, not "pt2"): there
    ``torch.export.load`` falls back to the old layout. None too for a torch without this reader (before
    2.8), whose ``torch.export.load`` reads only the old layout.
    """
    try:
        from torch.export.pt2_archive import PT2ArchiveReader

        archive = PT2ArchiveReader(io.BytesIO(data))
        return archive, list(archive.get_file_names())
    except Exception:  # ImportError, RuntimeError from torch's zip reader, AssertionError for another format
        return None


def _records(records: list[str], zip_names: list[str], name: str) -> set[str]:
    """The entries torch sees, once it is clear Python's zip reader sees the same ones (torch's fallback uses it)."""
    root = zip_names[0].split("/", 1)[0] if zip_names else ""
    folded = {entry.lower() for entry in zip_names}
    if len(folded) != len(zip_names) or sorted(zip_names) != sorted(f"{root}/{record}" for record in records):
        raise _not_understood(
            name,
            "entries whose names repeat (or differ only in case), or that torch's and Python's zip readers list "
            "differently",
        )
    return set(records)


def _check_entry(record: str, name: str) -> None:
    folder, _, file = record.rpartition("/")
    if (
        record in _FIXED_ENTRIES
        or record in _OLD_LAYOUT_PICKLES
        or record.startswith(_EXTRA_FILES)
        or (folder == "data/weights" and _RAW_WEIGHT.fullmatch(file))
        or (folder == "data/constants" and _CONSTANT.fullmatch(file))
    ):
        return
    what = (
        "compiled AOTInductor code, a shared library torch would load into this process"
        if record.startswith("data/aotinductor/")
        else "an entry torch.export.save does not write for a single exported program"
    )
    raise _not_understood(name, f"{record!r}: {what}")


# ------------------------------------------------------------------------------------- pickled payloads


def _pickled_payloads(archive: Any, records: set[str], name: str) -> Iterator[str]:
    """Describes each payload torch would unpickle with ``weights_only=False``; checks the configs on the way."""
    for record, what in _OLD_LAYOUT_PICKLES.items():
        if record in records:
            yield f"{what} (in the layout torch 2.7 and older wrote)"
    if _WEIGHTS_CONFIG in records:
        for fqn, path, use_pickle in _payloads(archive, _WEIGHTS_CONFIG, records, name):
            if not _RAW_WEIGHT.fullmatch(path):
                raise _not_understood(name, f"weight {fqn!r} stored as {path!r}")
            if use_pickle:
                yield f"weight {fqn!r}"
    if _CONSTANTS_CONFIG in records:
        for fqn, path, use_pickle in _payloads(archive, _CONSTANTS_CONFIG, records, name):
            kind = _CONSTANT.fullmatch(path)
            if kind is None:
                raise _not_understood(name, f"constant {fqn!r} stored as {path!r}")
            if kind.group(1) != "tensor" or use_pickle:  # objects are unpickled whatever use_pickle says
                yield f"constant {fqn!r}"


def _payloads(archive: Any, config: str, records: set[str], name: str) -> Iterator[tuple[str, str, bool]]:
    """``(name, file, use_pickle)`` for each entry of a weights or constants config, its fields checked."""
    parsed = _json(archive, config, name)
    entries = parsed.get("config") if isinstance(parsed, dict) and set(parsed) == {"config"} else None
    if not isinstance(entries, dict):
        raise _not_understood(name, f"{config}, which is not a config torch writes")
    folder = config.rpartition("/")[0]
    for fqn, entry in entries.items():
        if not (
            isinstance(entry, dict)
            and set(entry) == _PAYLOAD_FIELDS
            and isinstance(entry["path_name"], str)
            and isinstance(entry["use_pickle"], bool)
            and f"{folder}/{entry['path_name']}" in records
        ):
            raise _not_understood(name, f"the entry for {fqn!r} in {config}")
        yield fqn, entry["path_name"], entry["use_pickle"]


def _weights_only(torch: ModuleType, archive: Any, record: str, name: str) -> bool:
    """Whether ``record`` loads with ``weights_only=True``: then the pickle names only torch's safe types."""
    content = _read(archive, record, name)
    if not content:
        return True  # torch skips empty example inputs
    try:
        torch.load(io.BytesIO(content), weights_only=True, map_location="cpu")
    except Exception:  # UnpicklingError for a forbidden global; anything else is just as unproven
        return False
    return True


def _require_consent(name: str, pickled: list[str], allow_pickle: bool) -> None:
    if not pickled or allow_pickle:
        return
    listed = ", ".join(pickled[:3]) + (f" and {len(pickled) - 3} more" if len(pickled) > 3 else "")
    raise SecurityError(
        f"{name} is an exported program that stores {listed} as pickles, which torch unpickles with "
        "weights_only=False: that runs whatever code they hold, so the file could take over this process. It is "
        "loaded only with allow_pickle=True passed to this load, for a file you trust (no environment variable "
        "enables it); otherwise export it again with this torch, with plain tensors as weights, constants and "
        "example inputs."
    )


# ------------------------------------------------------------------------------------- code in the program text


def _check_program_text(archive: Any, name: str) -> None:
    """Every shape expression and guard is arithmetic torch writes (they are ``eval``-ed and ``exec``-ed)."""
    program = _json(archive, _PROGRAM, name)
    if not isinstance(program, dict):
        raise PackageError(f"{name}: {_PROGRAM} is not a serialized exported program. {_FIX}")
    guards = program.get("guards_code", [])
    if not isinstance(guards, list):
        raise _not_understood(name, f"guards_code in {_PROGRAM}, which is not a list")
    for guard in guards:
        if not is_torch_guard(guard):
            raise _code_in_text(name, "guard", guard)
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if "expr_str" in value and not is_torch_shape_expression(value["expr_str"]):
                raise _code_in_text(name, "shape expression", value["expr_str"])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _json(archive: Any, record: str, name: str) -> Any:
    """``record`` parsed as torch parses it (UTF-8 text, then JSON), so both see the same document."""
    try:
        return json.loads(_read(archive, record, name).decode("utf-8"))
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PackageError(f"{name}: {record} is not valid JSON ({error}). {_FIX}") from None


def _read(archive: Any, record: str, name: str) -> bytes:
    try:
        return bytes(archive.read_bytes(record))
    except RuntimeError as error:  # torch's zip reader: a CRC mismatch, a truncated entry
        detail = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise PackageError(f"{name}: torch cannot read its entry {record} ({detail}). {_FIX}") from None


def _code_in_text(name: str, kind: str, text: object) -> SecurityError:
    shown = repr(text)
    shown = shown if len(shown) <= 120 else f"{shown[:117]}..."
    return SecurityError(
        f"{name} holds a {kind} that is not the arithmetic torch writes there: {shown}. torch evaluates it as "
        "Python when it loads or runs the program, so the archive was altered to run code; it is refused whatever "
        f"allow_pickle says. {_FIX}"
    )


def _not_understood(name: str, what: str) -> SecurityError:
    return SecurityError(
        f"{name} holds {what}; this backend loads an exported program only when it knows everything torch would "
        f"read from it, since some entries run code on load. {_FIX}"
    )

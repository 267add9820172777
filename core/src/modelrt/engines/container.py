"""modelrt's engine container, and reading any TensorRT engine file modelrt knows.

A bare TensorRT plan says nothing about what it was built for, and TensorRT answers a plan that does not
fit with ``None`` and one log line (or worse). So modelrt stores every plan it builds in a container that
records the build facts (``EngineFacts``) and checksums, read and checked without TensorRT.

The container format, version 1 (all integers little-endian)::

    offset  size  field
         0     8  magic b"MRTENGN\\x00"
         8     2  u16 header version (1)
        10     2  u16 flags (0; no flag is defined)
        12     4  u32 header length H, in bytes
        16     8  u64 plan length P, in bytes
        24    32  SHA-256 of the plan
        56    32  SHA-256 of the header
        88     H  header: UTF-8 JSON {"facts": <EngineFacts.to_dict()>, "written_by": "modelrt-core <version>"}
      88+H     P  the plan, as TensorRT serialised it (starts with b"ftrt"; b"vtrt" for TensorRT for RTX);
                  the file ends here

Readers ignore header keys and fact names they do not know (a newer writer may add some); a new header
version is for a change older readers must not misread. ``read_engine`` also reads bare plans and
Ultralytics ``.engine`` files (``modelrt.engines.foreign``); their unrecorded facts are ``None``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from modelrt._version import __version__
from modelrt.engines.facts import EngineFacts
from modelrt.engines.foreign import PLAN_MAGICS, bare_plan_facts, is_bare_plan, split_ultralytics, ultralytics_facts
from modelrt.errors import IntegrityError, PackageError

__all__ = ["ENGINE_KINDS", "HEADER_VERSION", "MAGIC", "EngineFile", "peek_facts", "read_engine", "write_container"]

MAGIC = b"MRTENGN\x00"
HEADER_VERSION = 1
#: What ``EngineFile.kind`` may be: modelrt's container, a bare TensorRT plan, an Ultralytics file.
ENGINE_KINDS = ("modelrt", "bare", "ultralytics")
_MAGICS = " or ".join(map(repr, PLAN_MAGICS))
_PREFIX = struct.Struct("<8sHHIQ32s32s")


@attrs.frozen(eq=False)
class EngineFile:
    """A TensorRT plan and what its file says about it.

    ``plan`` is a view into the bytes given to ``read_engine`` (no copy); ``metadata`` is the JSON an
    Ultralytics file carries, empty for other kinds; ``plan_sha256`` is the hex SHA-256 of ``plan``.
    """

    kind: str
    facts: EngineFacts
    plan: memoryview
    metadata: Mapping[str, Any]
    plan_sha256: str


def write_container(plan: bytes, facts: EngineFacts) -> bytes:
    """``plan`` in a modelrt engine container recording ``facts``."""
    if not is_bare_plan(memoryview(plan)):
        raise PackageError(
            f"cannot store an engine: the plan starts with {_first_bytes(memoryview(plan))}, not {_MAGICS}, "
            f"so it is not a serialised TensorRT plan; store what the TensorRT builder returned"
        )
    document = {"facts": facts.to_dict(), "written_by": f"modelrt-core {__version__}"}
    header = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    prefix = _PREFIX.pack(
        MAGIC,
        HEADER_VERSION,
        0,
        len(header),
        len(plan),
        hashlib.sha256(plan).digest(),
        hashlib.sha256(header).digest(),
    )
    return b"".join((prefix, header, plan))


def read_engine(data: bytes | bytearray | memoryview, *, name: str) -> EngineFile:
    """The engine in ``data``, the bytes of the file called ``name`` (used in messages).

    Reads modelrt containers (every length and checksum checked), bare TensorRT plans and Ultralytics
    ``.engine`` files. Raises ``IntegrityError`` for a damaged container and ``PackageError`` for
    anything else that is not an engine modelrt can read.
    """
    view = memoryview(data).cast("B")
    if bytes(view[: len(MAGIC)]) == MAGIC:
        return _read_container(view, name)
    if is_bare_plan(view):
        return EngineFile("bare", bare_plan_facts(view), view, {}, hashlib.sha256(view).hexdigest())
    ultralytics = split_ultralytics(view, name=name)
    if ultralytics is not None:
        plan = ultralytics.plan
        facts = ultralytics_facts(ultralytics.metadata)
        return EngineFile("ultralytics", facts, plan, ultralytics.metadata, hashlib.sha256(plan).hexdigest())
    found = "the file is empty" if not view else f"the first bytes are {_first_bytes(view)}"
    raise PackageError(
        f"{name} is not a TensorRT engine: {found}; modelrt reads modelrt engine containers, "
        f"bare TensorRT plans and Ultralytics .engine files"
    )


def peek_facts(path: Path) -> EngineFacts | None:
    """The facts an engine file records, reading only its header (for ``explain``: no plan is read or
    checked, so ``read_engine`` must still run before the plan is used). ``None`` when the file cannot
    be read or is not a modelrt container or a bare plan (Ultralytics facts need the whole metadata)."""
    try:
        with path.open("rb") as file:
            prefix = file.read(_PREFIX.size)
            if len(prefix) >= len(MAGIC) and prefix[: len(MAGIC)] != MAGIC:
                return bare_plan_facts(memoryview(prefix)) if is_bare_plan(memoryview(prefix)) else None
            if len(prefix) < _PREFIX.size:
                return None
            _, version, flags, header_length, _, _, header_digest = _PREFIX.unpack(prefix)
            if version != HEADER_VERSION or flags:
                return None
            header = file.read(header_length)
    except OSError:
        return None
    if hashlib.sha256(header).digest() != header_digest:
        return None
    try:
        return _header_facts(memoryview(header), path.name)
    except PackageError:
        return None


def _read_container(view: memoryview, name: str) -> EngineFile:
    if len(view) < _PREFIX.size:
        raise _damaged(name, f"it ends after {len(view)} bytes, inside the {_PREFIX.size}-byte fixed header")
    _, version, flags, header_length, plan_length, plan_digest, header_digest = _PREFIX.unpack_from(view)
    if version > HEADER_VERSION or flags:
        raise PackageError(
            f"{name} is a modelrt engine container of a newer format (header version {version}, flags {flags:#x}; "
            f"this modelrt-core {__version__} reads version {HEADER_VERSION}): upgrade modelrt-core, "
            f"or build the engine again with this one"
        )
    if version < 1:
        raise _damaged(name, f"its header version is {version}, which no modelrt writes")
    expected = _PREFIX.size + header_length + plan_length
    if len(view) != expected:
        how = "it is truncated" if len(view) < expected else "it has extra bytes at the end"
        raise _damaged(name, f"{how}: its header says {expected} bytes, the file has {len(view)}")
    header = view[_PREFIX.size : _PREFIX.size + header_length]
    plan = view[_PREFIX.size + header_length :]
    if hashlib.sha256(header).digest() != header_digest:
        raise _damaged(name, "its header does not match the header's SHA-256")
    plan_sha256 = hashlib.sha256(plan).hexdigest()
    if plan_sha256 != plan_digest.hex():
        raise _damaged(name, "its plan does not match the plan's SHA-256")
    if not is_bare_plan(plan):
        raise PackageError(
            f"{name}: the container holds no TensorRT plan (it starts with {_first_bytes(plan)}, not {_MAGICS}); "
            f"build the engine again"
        )
    return EngineFile("modelrt", _header_facts(header, name), plan, {}, plan_sha256)


def _header_facts(header: memoryview, name: str) -> EngineFacts:
    try:
        document = json.loads(bytes(header).decode("utf-8"))
    except ValueError as error:
        raise _bad_header(name, f"it is not UTF-8 JSON ({error})") from None
    facts = document.get("facts") if isinstance(document, dict) else None
    if not isinstance(facts, dict):
        raise _bad_header(name, 'it has no "facts" object')
    try:
        return EngineFacts.from_dict(facts)
    except cattrs.BaseValidationError as error:
        problems = "; ".join(cattrs.transform_error(error))
        raise _bad_header(name, f"its facts do not have the expected types ({problems})") from None
    except (ValueError, TypeError, KeyError) as error:
        raise _bad_header(name, f"its facts do not have the expected types ({error})") from None


def _bad_header(name: str, why: str) -> PackageError:
    return PackageError(
        f"{name}: the engine container's header cannot be read: {why}; it was written by a faulty or "
        f"incompatible writer; build the engine again"
    )


def _damaged(name: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"{name} is a damaged modelrt engine container: {why}; delete it and build the engine again "
        f"(`modelrt cache clear` removes damaged cached engines)"
    )


def _first_bytes(view: memoryview) -> str:
    return repr(bytes(view[:8]))

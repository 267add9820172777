"""Engine files modelrt did not write: bare TensorRT plans and Ultralytics ``.engine`` files.

A bare plan is what TensorRT serialises (and ``trtexec --saveEngine`` writes): it starts with ``ftrt``
(``vtrt`` for TensorRT for RTX, which tells the product) and records nothing else modelrt can read
without TensorRT. An Ultralytics ``.engine`` file is a 4-byte
little-endian signed length N, a JSON metadata blob, then the plan; it has no magic, no version and no
checksum, and its metadata records the model (task, class names, input size, batch, half/int8) but not
the TensorRT version, GPU or L4T it was built for. So the facts of both are mostly unknown, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from modelrt.engines.facts import EngineFacts
from modelrt.errors import PackageError

__all__ = [
    "PLAN_MAGIC",
    "PLAN_MAGICS",
    "UltralyticsEngine",
    "bare_plan_facts",
    "is_bare_plan",
    "split_ultralytics",
    "ultralytics_facts",
]

#: The first bytes of every plan TensorRT itself serialises (Ultralytics exports those).
PLAN_MAGIC = b"ftrt"
#: The first bytes of a plan, by the TensorRT product (flavour) that wrote it.
PLAN_MAGICS = {PLAN_MAGIC: "tensorrt", b"vtrt": "tensorrt_rtx"}
#: Ultralytics metadata is a few kilobytes; a larger length prefix means the file is something else.
_MAX_METADATA = 1 << 24


@attrs.frozen(eq=False)
class UltralyticsEngine:
    """The two parts of an Ultralytics ``.engine`` file; ``plan`` is a view into the file's bytes."""

    metadata: dict[str, Any]
    plan: memoryview


def is_bare_plan(data: memoryview) -> bool:
    return bytes(data[: len(PLAN_MAGIC)]) in PLAN_MAGICS


def bare_plan_facts(data: memoryview) -> EngineFacts:
    """What a bare plan's first bytes tell: the product that wrote it (the lean runtime writes ``ftrt`` too,
    so a ``ftrt`` plan's flavour stays unknown)."""
    flavour = PLAN_MAGICS.get(bytes(data[: len(PLAN_MAGIC)]))
    return EngineFacts(flavour=flavour if flavour == "tensorrt_rtx" else None)


def split_ultralytics(data: memoryview, *, name: str) -> UltralyticsEngine | None:
    """The metadata and plan of an Ultralytics ``.engine`` file; ``None`` when ``data`` is not one.

    Raises ``PackageError`` for a file that starts like one (a plausible length, then ``{``) but holds no
    JSON object followed by a plan: a damaged file deserves that answer rather than "not an engine".
    """
    if len(data) < 5:
        return None
    length = int.from_bytes(data[:4], "little", signed=True)
    if not 0 < length <= min(len(data) - 4, _MAX_METADATA) or data[4] != ord("{"):
        return None
    found = _metadata(data, length)
    if found is None:
        raise PackageError(
            f"{name} starts like an Ultralytics .engine file (a length, then a JSON blob), but no JSON "
            f"object followed by a TensorRT plan was found in it: the file is damaged or not an engine; "
            f"export the engine again"
        )
    end, metadata = found
    return UltralyticsEngine(metadata=metadata, plan=data[end:])


def _metadata(data: memoryview, length: int) -> tuple[int, dict[str, Any]] | None:
    """The metadata, and where it ends and the plan begins.

    Ultralytics writes ``len(json_str)``, a count of characters, as the length, so metadata with
    non-ASCII text (a class name such as "café") is longer in bytes than the prefix says. When the
    prefix does not end the JSON right before a plan, the first ``ftrt`` after it that does is taken;
    a character is at most 4 UTF-8 bytes, which bounds the search.
    """
    stated = 4 + length
    metadata = _json_object(data[4:stated])
    if metadata is not None and is_bare_plan(data[stated:]):
        return stated, metadata
    window = bytes(data[: min(len(data), 4 + 4 * length + 16)])
    end = window.find(PLAN_MAGIC, stated)
    while end != -1:
        metadata = _json_object(data[4:end])
        if metadata is not None:
            return end, metadata
        end = window.find(PLAN_MAGIC, end + 1)
    return None


def _json_object(blob: memoryview) -> dict[str, Any] | None:
    try:
        value = json.loads(bytes(blob).decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return None
    return value if isinstance(value, dict) else None


def ultralytics_facts(metadata: Mapping[str, Any]) -> EngineFacts:
    """The facts Ultralytics metadata records: the precision (``half``/``int8``, at the top level or in
    ``args``) and the Ultralytics version that wrote it. The rest stays in the metadata itself."""
    args = metadata.get("args")
    options = {**(args if isinstance(args, Mapping) else {}), **metadata}
    precision = None
    if options.get("int8") is True:
        precision = "int8"
    elif isinstance(options.get("half"), bool):
        precision = "fp16" if options["half"] else "fp32"
    version = metadata.get("version")
    builder = f"Ultralytics {version}" if isinstance(version, str) and version else None
    return EngineFacts(precision=precision, builder=builder)

"""Device names: ``cpu``, ``cuda:N``, ``mps``, ``coreml``, ``dla:N``."""

from __future__ import annotations

import re

import attrs

from modelrt.errors import InputError

__all__ = ["AUTO", "DEVICE_KINDS", "Device"]

#: ``device="auto"`` / ``backend="auto"``: let the plan choose (the best usable candidate, then the next).
AUTO = "auto"

#: Device kinds and whether they carry an index.
DEVICE_KINDS: dict[str, bool] = {"cpu": False, "cuda": True, "mps": False, "coreml": False, "dla": True}

_DEVICE_PATTERN = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<index>\d+))?$")


@attrs.frozen(order=True)
class Device:
    """A device to run on. ``cuda:N`` uses CUDA's own numbering (after ``CUDA_VISIBLE_DEVICES``)."""

    kind: str
    index: int | None = None

    @classmethod
    def parse(cls, text: str | Device) -> Device:
        """Parse ``"cuda"``, ``"cuda:1"``, ``"cpu"``...; ``cuda`` alone means ``cuda:0``."""
        if isinstance(text, Device):
            return text
        match = _DEVICE_PATTERN.match(str(text).strip().lower())
        kind = match["kind"] if match else None
        if match is None or kind not in DEVICE_KINDS:
            raise InputError(
                f"unknown device {text!r}: expected one of cpu, cuda, cuda:N, mps, coreml, dla:N "
                "(or 'auto' to let modelrt choose)"
            )
        indexed = DEVICE_KINDS[kind]
        if match["index"] is not None and not indexed:
            raise InputError(f"device {text!r}: '{kind}' takes no index; write '{kind}'")
        index = int(match["index"]) if match["index"] is not None else (0 if indexed else None)
        return cls(kind, index)

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

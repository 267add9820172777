"""Where built engines live: entries of the modelrt cache, keyed by everything that makes a plan differ.

An engine entry (kind ``tensorrt-engines``) holds ``model.engine`` (a modelrt engine container) and
``key.json`` (its ``EngineKey``); its name is a digest of that key: the ONNX model's sha256, the
TensorRT flavour and version, the GPU (name and compute capability), precision, the requested profile
(batch range and input shapes), DLA core, version compatibility and L4T. Entries are written under the
cache's file lock, so two processes that build the same key build it once, and each file is published
atomically, so a killed build leaves nothing that is later served.

A load that names no profile takes the newest cached engine whose key matches in everything else, so
``modelrt build m.onnx --batch 1:4:8`` followed by ``modelrt predict m.onnx --backend tensorrt`` uses the
engine just built. Timing caches (kind ``tensorrt-timing``) are kept per TensorRT build and GPU and reused
by every build there, which makes rebuilds much faster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from modelrt import cache

__all__ = ["ENGINE_FILE", "ENGINE_KIND", "KEY_FILE", "TIMING_FILE", "TIMING_KIND", "EngineKey", "find_cached"]

ENGINE_KIND = "tensorrt-engines"
TIMING_KIND = "tensorrt-timing"
ENGINE_FILE = "model.engine"
KEY_FILE = "key.json"
TIMING_FILE = "timing.cache"
#: Keys written by this version; an entry with another is ignored (and rebuilt under a new digest).
KEY_FORMAT = 1


def _profile(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return json.loads(json.dumps(dict(value or {}), sort_keys=True))  # plain lists and dicts, comparable


@attrs.frozen
class EngineKey:
    """Everything an engine depends on; two builds with equal keys make interchangeable engines."""

    onnx_sha256: str
    flavour: str
    tensorrt_version: str
    gpu_name: str | None
    compute_capability: str | None
    precision: str
    profile: dict[str, Any] = attrs.field(converter=_profile, hash=False)  # {"batch": [..], "shapes": {..}}
    dla_core: int | None = None
    version_compatible: bool = False
    l4t: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": KEY_FORMAT, **attrs.asdict(self)}

    def digest(self) -> str:
        """The entry name: 32 hex digits of the key's sha256."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def timing_digest(self) -> str:
        """The timing cache's entry: one per TensorRT build and GPU (tactic timings do not depend on the model)."""
        parts = [
            self.flavour,
            self.tensorrt_version,
            self.gpu_name or "",
            self.compute_capability or "",
            str(self.dla_core),
        ]
        return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]

    def matches_without_profile(self, other: Mapping[str, Any]) -> bool:
        """Whether a stored key equals this one in everything but the profile."""
        mine = self.to_dict()
        return all(other.get(name) == value for name, value in mine.items() if name != "profile")


def find_cached(key: EngineKey, *, exact_profile: bool) -> tuple[EngineKey, bytes] | None:
    """The cached engine for ``key``: its own entry, or (``exact_profile`` False) the newest entry that
    differs only in profile. Damaged files are ``IntegrityError`` (``modelrt cache verify`` lists them)."""
    data = cache.read_bytes(ENGINE_KIND, key.digest(), ENGINE_FILE)
    if data is not None:
        return key, data
    if exact_profile:
        return None
    candidates = []
    for info in cache.list_entries():
        if info.kind != ENGINE_KIND:
            continue
        text = cache.read_text(ENGINE_KIND, info.key, KEY_FILE)
        stored = json.loads(text) if text else None
        if isinstance(stored, dict) and key.matches_without_profile(stored):
            candidates.append((info.last_used, info.key, stored))
    for _, digest, stored in sorted(candidates, key=lambda item: item[0], reverse=True):
        data = cache.read_bytes(ENGINE_KIND, digest, ENGINE_FILE)
        if data is not None:
            fields = {name: value for name, value in stored.items() if name != "format"}
            return EngineKey(**fields), data
    return None

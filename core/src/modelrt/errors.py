"""The one error tree of modelrt.

Every message states what happened, why, and what to do. The CLI prints ``str(error)`` on one line;
``--verbose`` adds the traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrt.plan import LoadPlan

__all__ = [
    "HardwareError",
    "InputError",
    "IntegrityError",
    "ModelClosedError",
    "ModelRTError",
    "NoUsableBackendError",
    "NotCachedError",
    "PackageError",
    "PluginError",
    "SecurityError",
    "StorageError",
    "StreamStalledError",
]


class ModelRTError(Exception):
    """Root of every error modelrt raises on purpose."""


class PluginError(ModelRTError):
    """A plugin failed to import, register or answer a hook (raised in strict mode)."""


class NoUsableBackendError(ModelRTError):
    """No candidate can run the model, or the requested backend is unknown or unavailable."""

    def __init__(self, message: str, plan: LoadPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


class HardwareError(ModelRTError):
    """A requested device is absent, or an artifact was built for other hardware."""


class PackageError(ModelRTError):
    """A model package is malformed: bad manifest, missing or unreadable artifact."""


class IntegrityError(PackageError):
    """An artifact's size or sha256 does not match its manifest."""


class NotCachedError(PackageError):
    """Offline mode was asked for and the model is not in the local cache."""


class InputError(ModelRTError, ValueError):
    """Bad input from the caller: an unreadable image, a bad device string, an image too large."""


class SecurityError(ModelRTError):
    """Refused for safety: pickle weights without opt-in, a path escaping its package."""


class ModelClosedError(ModelRTError):
    """The model was closed; load it again to keep predicting."""


class StorageError(ModelRTError, OSError):
    """Writing to disk failed: disk full, unwritable directory."""


class StreamStalledError(ModelRTError, TimeoutError):
    """A video stream gave no frame for longer than the stream's ``timeout``."""

"""``TorchBackend``: runs exported programs, TorchScript and (opted-in) pickled modules on cpu, cuda and mps.

torch is imported here, lazily, and only when this backend is a candidate (it takes over a second).
Availability is decided from data (``capabilities.py`` asks torch, ``availability.py`` explains), so
every device's verdict can be tested with a record of the machine it describes. ``load`` checks the
device again, reads the artifact from its verified bytes (``formats.py``), settles the precision
(``precision.py``) and, on the CPU, torch's process-wide thread count (``threads.py``, which also keeps
a forked process from hanging).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from modelrt.errors import HardwareError, NoUsableBackendError
from modelrt.model import pickle_allowed
from modelrt.specs import Availability
from modelrt_torch import capabilities as torch_capabilities
from modelrt_torch.auto_precision import choose_on_cuda
from modelrt_torch.availability import (
    INSTALL_FIX,
    broken_install,
    device_availability,
    torch_missing,
    torch_too_old,
)
from modelrt_torch.capabilities import TorchCapabilities
from modelrt_torch.formats import load_network, refuse_pickle_without_consent
from modelrt_torch.precision import resolve_precision
from modelrt_torch.session import TorchSession
from modelrt_torch.threads import process_threads

if TYPE_CHECKING:
    from modelrt.backend import Artifact
    from modelrt.devices import Device
    from modelrt.host_environment import Environment
    from modelrt.options import RunOptions

__all__ = ["BACKEND_NAME", "TorchBackend"]

BACKEND_NAME = "torch"

logger = logging.getLogger("modelrt.torch")


class TorchBackend:
    """The ``torch`` backend; ``probe`` (for tests) replaces asking torch about its devices."""

    name = BACKEND_NAME

    def __init__(self, probe: Callable[[ModuleType], TorchCapabilities] | None = None) -> None:
        self._probe = probe

    def _capabilities(self, torch: ModuleType) -> TorchCapabilities:
        return (self._probe or torch_capabilities.probe_capabilities)(torch)

    def availability(self, env: Environment, device: Device) -> Availability:
        """Whether torch can run on ``device`` here, why not, and the command or step that fixes it."""
        try:
            torch = torch_capabilities.import_torch()
        except ImportError as error:
            return torch_missing(error)
        except Exception as error:  # a half-installed wheel fails with OSError (missing .so), AttributeError...
            return broken_install(error)
        too_old = torch_too_old(str(torch.__version__))
        if too_old is not None:
            return too_old
        return device_availability(env, device, self._capabilities(torch))

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> TorchSession:
        """Load ``artifact`` on ``device``: checked device, chosen precision, network in inference mode."""
        allow_pickle = pickle_allowed(options)
        refuse_pickle_without_consent(artifact, allow_pickle)
        try:
            torch = torch_capabilities.import_torch()
        except ImportError as error:
            raise NoUsableBackendError(
                f"the torch backend cannot load {artifact.file.name}: torch is not installed ({error}). "
                f"Install it with: {INSTALL_FIX}"
            ) from None
        verdict = device_availability(None, device, self._capabilities(torch))
        if not verdict.usable:
            raise HardwareError(f"the torch backend cannot run on {device}: {verdict.reason}. Fix: {verdict.fix}")
        precision = resolve_precision(options.precision, artifact.precision, device, artifact.file.name)
        torch_device = torch.device(device.kind, device.index) if device.kind == "cuda" else torch.device(device.kind)
        # In a forked process torch must be on one thread before it reads a tensor, or its first parallel copy hangs.
        forked = process_threads.fork_safe(torch)
        network = load_network(torch, artifact, torch_device, allow_pickle)
        notes = [forked] if forked else []
        if options.precision == "auto" and device.kind == "cuda" and precision != "int8":
            auto = choose_on_cuda(torch, network.module, network.inputs, artifact, torch_device)
            precision = auto.precision
            notes.append(auto.reason)
        if precision == "fp16" and artifact.precision != "fp16":
            network.module.half()
        elif precision == "fp32" and artifact.precision == "fp16":
            network.module.float()
        if device.kind == "cpu":
            note = process_threads.apply(torch, options.resolved_threads())
            notes += [note] if note and note not in notes else []
        session = TorchSession(torch, network, device, torch_device, precision, notes)
        logger.info("loaded %s (%s) with %s", artifact.file, artifact.format, session.provider)
        return session

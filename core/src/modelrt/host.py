"""``Host``: the one seam through which modelrt reads the machine it runs on.

All probing goes through a ``Host``, so that a directory laid out like a machine's root (a *fake
root*) can stand in for the live system: with ``MODELRT_HOST_ROOT=/some/root`` every fact comes from
files under that root and the live process is not consulted, so a fake Jetson root is probed as a
Jetson on an x86_64 CI runner.

With a fake root, platform facts come from these files (a fact no file carries is unknown, ``None``):

- ``system``: ``Linux`` when ``etc/os-release`` or ``proc/`` exists;
- ``machine``: ``proc/sys/kernel/arch`` (Linux 6.1+), else read from ``proc/cpuinfo`` (x86 CPUs list
  the ``lm`` flag, 64-bit ARM ones ``CPU architecture: 8``);
- ``kernel_release``: ``proc/sys/kernel/osrelease``;
- macOS and Windows have no ``/proc``, so their fakes carry a JSON object in ``.modelrt-host.json``
  with any of ``system`` (``Darwin``/``Windows``), ``machine``, ``kernel_release``, ``mac_ver``,
  ``cpu_brand``, ``cpu_count``, ``memory_bytes`` and ``environ`` (the environment variables the fake
  host's process sees). A key there overrides what the files above say.

Probing never raises and never runs a subprocess: an unreadable or malformed file reads as absent.
"""

from __future__ import annotations

import json
import os
import platform
import stat
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["CGROUP_CPU_MAX", "FAKE_HOST_FILE", "HOST_ROOT_VARIABLE", "Host"]

#: Environment variable naming a fake root to probe instead of the live machine.
HOST_ROOT_VARIABLE = "MODELRT_HOST_ROOT"

#: JSON file at the top of a fake root carrying the facts that macOS and Windows keep outside files.
FAKE_HOST_FILE = ".modelrt-host.json"

#: The cgroup v2 file holding the CPU quota of this process's cgroup (containers), root-relative.
CGROUP_CPU_MAX = "sys/fs/cgroup/cpu.max"

#: Probed files are small; a cap keeps a wrong path (a disk image, a FIFO-like device) from hanging us.
_READ_LIMIT_BYTES = 4 * 1024 * 1024


class Host:
    """The machine being probed: the live one (``root=None``) or a fake root directory.

    ``environ`` overrides the environment variables the host reports; by default they are the live
    process's for the live machine, and the ``environ`` entry of ``.modelrt-host.json`` (or none) for
    a fake root.
    """

    def __init__(self, root: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self._fake_root = Path(root) if root is not None else None
        self._environ = environ

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Host:
        """The fake root named by ``MODELRT_HOST_ROOT`` when set, else the live machine."""
        variables = os.environ if environ is None else environ
        fake_root = variables.get(HOST_ROOT_VARIABLE, "").strip()
        return cls(Path(fake_root)) if fake_root else cls()

    def __repr__(self) -> str:
        return "Host(live)" if self.is_live else f"Host(root={str(self._fake_root)!r})"

    # ---------------------------------------------------------------------------------------- files

    @property
    def is_live(self) -> bool:
        """Whether this is the live machine rather than a fake root."""
        return self._fake_root is None

    @property
    def root(self) -> Path:
        """The directory that plays ``/``."""
        return self._fake_root if self._fake_root is not None else Path("/")

    def path(self, relative: str) -> Path:
        """Where ``relative`` (``etc/os-release`` or ``/etc/os-release``) lies under the root."""
        return self.root / relative.lstrip("/")

    def read_text(self, relative: str) -> str | None:
        """The file's text (undecodable bytes replaced), or ``None`` when absent, unreadable or not a file.

        Opened non-blocking and read only if it is a regular file: a FIFO or device node at a probed
        path would otherwise block ``modelrt env`` forever (``/proc`` and device-tree entries are regular).
        """
        try:
            fd = os.open(self.path(relative), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (OSError, ValueError):
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(_READ_LIMIT_BYTES)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data.decode("utf-8", errors="replace")

    def exists(self, relative: str) -> bool:
        """Whether anything (file, directory, device node) exists at ``relative``."""
        try:
            return self.path(relative).exists()
        except (OSError, ValueError):
            return False

    def list_dir(self, relative: str) -> list[str]:
        """Sorted entry names of a directory; empty when it is absent or unreadable."""
        try:
            return sorted(os.listdir(self.path(relative)))
        except (OSError, ValueError):
            return []

    def glob(self, pattern: str) -> list[str]:
        """Sorted root-relative POSIX paths matching a glob pattern such as ``dev/nvidia[0-9]*``."""
        try:
            matches = self.root.glob(pattern.lstrip("/"))
            return sorted(match.relative_to(self.root).as_posix() for match in matches)
        except (OSError, ValueError):
            return []

    # ----------------------------------------------------------------------------- environment

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment variables of the probed host's process."""
        if self._environ is not None:
            return self._environ
        if self.is_live:
            return os.environ
        declared = self._declared.get("environ")
        if isinstance(declared, dict):
            return {str(name): str(value) for name, value in declared.items()}
        return {}

    def env(self, name: str) -> str | None:
        """One environment variable, or ``None`` when unset."""
        return self.environ.get(name)

    # --------------------------------------------------------------------------- platform facts

    @property
    def system(self) -> str | None:
        """``Linux``, ``Darwin`` or ``Windows`` (as ``platform.system()`` spells them), or ``None``."""
        if self.is_live:
            return platform.system() or None
        declared = self._declared_str("system")
        if declared is not None:
            return declared
        return "Linux" if self.exists("etc/os-release") or self.exists("proc") else None

    @property
    def machine(self) -> str | None:
        """The machine name as the OS reports it (``x86_64``, ``aarch64``, ``arm64``, ``AMD64``)."""
        if self.is_live:
            return platform.machine() or None
        declared = self._declared_str("machine")
        if declared is not None:
            return declared
        arch = (self.read_text("proc/sys/kernel/arch") or "").strip()
        return arch or _machine_from_cpuinfo(self.read_text("proc/cpuinfo") or "")

    @property
    def kernel_release(self) -> str | None:
        """The kernel release (``6.8.0-45-generic``, ``5.15.148-tegra``), or ``None``."""
        if self.is_live:
            return platform.release() or None
        declared = self._declared_str("kernel_release")
        if declared is not None:
            return declared
        return (self.read_text("proc/sys/kernel/osrelease") or "").strip() or None

    @property
    def mac_version(self) -> str | None:
        """The macOS product version (``14.5``) on macOS, else ``None``."""
        if self.is_live:
            return platform.mac_ver()[0] or None
        return self._declared_str("mac_ver")

    @property
    def cpu_brand(self) -> str | None:
        """The CPU name where no ``/proc/cpuinfo`` exists (macOS, Windows), or ``None``.

        Live, this is ``platform.processor()``, which is coarse on macOS (``arm``, ``i386``) because
        the precise name needs ``sysctl``, a subprocess.
        """
        if self.is_live:
            return platform.processor() or None
        return self._declared_str("cpu_brand")

    @property
    def cpu_count(self) -> int | None:
        """CPUs this process may use as the platform reports them, capped by the cgroup quota (a fake
        root: its host file)."""
        if self.is_live:
            quota, affinity = self.cgroup_cpu_quota, _affinity_cpu_count()
            return min(affinity, quota) if quota else affinity
        return self._declared_positive_int("cpu_count")

    @property
    def cgroup_cpu_quota(self) -> int | None:
        """CPUs the cgroup v2 quota (``sys/fs/cgroup/cpu.max``) allows, rounded up; None when unlimited or unknown."""
        return _cgroup_quota_cpus(self.read_text(CGROUP_CPU_MAX))

    @property
    def memory_bytes(self) -> int | None:
        """Physical memory as the platform reports it, where no ``/proc/meminfo`` says it."""
        if self.is_live:
            try:
                return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (AttributeError, ValueError, OSError):  # Windows has no sysconf
                return None
        return self._declared_positive_int("memory_bytes")

    @cached_property
    def _declared(self) -> dict[str, Any]:
        """The fake root's ``.modelrt-host.json``, or empty when absent or malformed."""
        text = self.read_text(FAKE_HOST_FILE) if not self.is_live else None
        if not text:
            return {}
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # json raises RecursionError on very deep nesting
            return {}
        return data if isinstance(data, dict) else {}

    def _declared_str(self, key: str) -> str | None:
        value = self._declared.get(key)
        return (value.strip() or None) if isinstance(value, str) else None

    def _declared_positive_int(self, key: str) -> int | None:
        value = self._declared.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None
        return value


def _machine_from_cpuinfo(cpuinfo: str) -> str | None:
    """Infer the machine from ``/proc/cpuinfo`` for kernels older than ``/proc/sys/kernel/arch``."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "flags":
            return "x86_64" if "lm" in value.split() else "i686"
        if key == "CPU architecture":
            return "aarch64" if value == "8" else None
    return None


def _cgroup_quota_cpus(cpu_max: str | None) -> int | None:
    """CPUs a ``cpu.max`` text (``"<quota> <period>"``) allows, rounded up; None when unlimited or unknown."""
    fields = (cpu_max or "").split()
    if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit() or int(fields[1]) == 0:
        return None  # "max" (no quota), absent or malformed
    return max(1, -(-int(fields[0]) // int(fields[1])))


def _affinity_cpu_count() -> int:
    """CPUs in this process's affinity mask (all CPUs where the platform has no affinity API); at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity API
        return os.cpu_count() or 1

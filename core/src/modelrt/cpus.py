"""How many CPUs this process may really use (affinity capped by a cgroup quota), for default thread counts.

The quota file is read through ``Host`` like every other probed file, so there is one parser and a
fake root's quota counts exactly as the live machine's does.
"""

from __future__ import annotations

from modelrt.host import Host

__all__ = ["usable_cpu_count"]


def usable_cpu_count(host: Host | None = None) -> int:
    """CPUs ``host`` (default: the live machine) lets this process use, as ``Host.cpu_count``; at least 1."""
    return (host or Host()).cpu_count or 1

"""Which fork of the process a model was loaded in: torch's thread pool and CUDA do not survive ``fork``.

A counter that every forked child increments (``os.register_at_fork``) tells a process apart from the one
it was forked from, with no system call per run and whatever pid the child gets (a new pid namespace can
reuse the parent's). Platforms without ``fork`` (Windows) never count.
"""

from __future__ import annotations

import os

__all__ = ["fork_generation"]

_generation = 0


def _count_fork() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


def fork_generation() -> int:
    """0 in the process that imported this module, one more in each fork below it."""
    return _generation

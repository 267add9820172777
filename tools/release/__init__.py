"""Build, check and collect every distribution of this repository for a release: ``python -m tools.release``.

A release is all-or-nothing: each distribution's version and changelog are checked before anything is
built, every wheel and sdist is built into a scratch directory and checked there, and only a complete,
checked set is moved into the output directory. ``python -m tools.release compat`` (``compat.py``) runs each
plugin's tests against the lowest core it declares, to catch a declared range that is wrong.
"""

from __future__ import annotations

from tools.release.errors import ReleaseError
from tools.release.release import Release, release

__all__ = ["Release", "ReleaseError", "release"]

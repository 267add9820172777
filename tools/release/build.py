"""Building with uv and checking with twine, each in a subprocess whose failure becomes a release problem.

``uv build`` builds the sdist first and the wheel from that sdist, so a file missing from the sdist shows
up as a wheel that lacks it. With ``isolated=False`` the build backend (hatchling) comes from this
Python's environment instead of a fresh one from the package index: offline, and what the tests use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.release.errors import ReleaseError

__all__ = ["build", "build_wheel", "twine_check", "uv"]


def build(folder: Path, out: Path, *, isolated: bool = True) -> None:
    """Build the sdist and wheel of the distribution in ``folder`` into ``out``."""
    command = [uv(), "build", "--quiet", "--out-dir", str(out), str(folder)]
    if not isolated:
        command += ["--no-build-isolation", "--python", sys.executable]
    _run(command, f"building {folder}")


def build_wheel(folder: Path, out: Path, *, isolated: bool = True) -> Path:
    """Only the wheel of the distribution in ``folder``, straight from its source, into ``out``; returns it.

    What a compatibility run installs: the sdist round trip is ``build``'s check, not needed twice.
    """
    before = set(out.glob("*.whl"))
    command = [uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(folder)]
    if not isolated:
        command += ["--no-build-isolation", "--python", sys.executable]
    _run(command, f"building the wheel of {folder}")
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


def twine_check(files: Sequence[Path]) -> None:
    """``twine check --strict``: the metadata and the long description render as a package index shows them."""
    _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)], "twine check")


def uv() -> str:
    """The uv next to this Python, or else the one on PATH."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        raise ReleaseError([f"uv is not installed: install it with `{sys.executable} -m pip install uv`"])
    return found


def _run(command: list[str], what: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        if "No module named twine" in output:
            output = f"twine is not installed: install it with `{sys.executable} -m pip install twine`"
        raise ReleaseError([f"{what} failed (exit {completed.returncode}):\n{output}"])

"""``modelrt env`` on a fake host root, through the real CLI, compared with reviewed snapshots.

For a platform plugin's tests as for modelrt's own: run the command in a subprocess with this interpreter,
only the named plugins and ``MODELRT_HOST_ROOT``; word install commands as an install from a package index
words them (a source checkout words them with its own paths); compare, or rewrite the snapshot when
``MODELRT_UPDATE_SNAPSHOTS=1`` (review the diff before committing it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modelrt.host import HOST_ROOT_VARIABLE
from modelrt.installation import FROM_INDEX, META_DISTRIBUTION, META_EXTRAS, detect_installation

__all__ = ["UPDATE_VARIABLE", "as_from_an_index", "compare_with_snapshot", "run_env"]

#: Set to ``1`` to rewrite snapshots instead of comparing with them.
UPDATE_VARIABLE = "MODELRT_UPDATE_SNAPSHOTS"


def run_env(root: Path, *arguments: str, plugins: str) -> str:
    """``modelrt env ARGUMENTS`` on the fake root ``root``, with only ``plugins`` (``MODELRT_PLUGINS``) loaded.

    Other ``MODELRT_*`` variables of this process are left out, so the host alone decides the output.
    """
    environ = {name: value for name, value in os.environ.items() if not name.startswith("MODELRT_")}
    environ.update({HOST_ROOT_VARIABLE: str(root), "MODELRT_PLUGINS": plugins})
    completed = subprocess.run(
        [sys.executable, "-m", "modelrt", "env", *arguments], capture_output=True, text=True, env=environ, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def as_from_an_index(text: str) -> str:
    """``text`` with this interpreter's install arguments for each ``modelrt[extra]`` put as an index install's,
    also where one command installs several extras. Extras pulling more distributions go first, so ``cpu``'s
    directories are not taken for ``onnx``'s; the quotes around each directory keep ``onnx_backend`` from
    matching ``onnx_backend[gpu]``."""
    installation = detect_installation()
    for extra in sorted(META_EXTRAS, key=lambda extra: len(META_EXTRAS[extra]), reverse=True):
        requirement = f"{META_DISTRIBUTION}[{extra}]"
        local = " ".join(installation.pip_arguments([requirement]))
        text = text.replace(local, " ".join(FROM_INDEX.pip_arguments([requirement])))
    return text


def compare_with_snapshot(path: Path, actual: str) -> None:
    """Assert ``actual`` equals the snapshot at ``path`` (rewritten first when ``MODELRT_UPDATE_SNAPSHOTS=1``)."""
    if os.environ.get(UPDATE_VARIABLE) == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"`modelrt env` output differs from {path}"

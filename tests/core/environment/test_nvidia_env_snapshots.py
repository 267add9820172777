"""``modelrt env`` on simulated NVIDIA hosts, through the real CLI: text and ``--json`` against reviewed snapshots.

Only the core plugin runs (``MODELRT_PLUGINS=builtin``). What belongs to this interpreter rather than to
the fake host (Python version, installed runtimes, the root's temporary path, the plugin list, a source
checkout's install paths) is replaced by placeholders. ``MODELRT_UPDATE_SNAPSHOTS=1`` rewrites the
snapshots; review the diff before committing it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelrt.host import HOST_ROOT_VARIABLE
from modelrt.installation import FROM_INDEX, META_DISTRIBUTION, META_EXTRAS, detect_installation

from .nvidia_hosts import NVIDIA_HOSTS

SNAPSHOTS = Path(__file__).parent / "snapshots"
SNAPSHOT_HOSTS = ("ubuntu-24.04-two-gpus-mig", "cuda-13-blackwell", "driver-older-than-cuda")
PLACEHOLDERS = {"Host root": "<root> (a fake root)", "Python": "<python>", "Runtimes": "<runtimes>"}


def run_env(root: Path, *arguments: str) -> str:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("MODELRT_")}
    environ.update({HOST_ROOT_VARIABLE: str(root), "MODELRT_PLUGINS": "builtin"})
    completed = subprocess.run(
        [sys.executable, "-m", "modelrt", "env", *arguments], capture_output=True, text=True, env=environ, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def released_names(text: str) -> str:
    """``text`` with this interpreter's install commands for ``modelrt[extra]`` worded as from a package index."""
    installation = detect_installation()
    for extra in sorted(META_EXTRAS, key=lambda extra: len(META_EXTRAS[extra]), reverse=True):
        requirement = f"{META_DISTRIBUTION}[{extra}]"
        text = text.replace(installation.pip_install([requirement]), FROM_INDEX.pip_install([requirement]))
    return text


def compare_with_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("MODELRT_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"`modelrt env` output differs from {path}"


def normalised_text(text: str) -> str:
    """The host, compatibility and install sections, with this interpreter's facts as placeholders."""
    kept: list[str] = []
    section = ""
    skipping = False
    for line in text.splitlines():
        label = line[2:15].strip()
        if line and not line.startswith(" "):
            section = line
        elif section == "modelrt environment" and line.startswith("  ") and not line.startswith(" " * 10):
            skipping = label in PLACEHOLDERS or label == "Source tree"
            if label in PLACEHOLDERS:
                kept.append(line[:15] + PLACEHOLDERS[label])
                continue
        if section == "Compatibility" and _continues_a_paragraph(line, kept):
            kept[-1] += " " + line.strip()
        elif section != "Plugins" and not (skipping and section == "modelrt environment"):
            kept.append(line)
    return released_names("\n".join(kept) + "\n")


def _continues_a_paragraph(line: str, kept: list[str]) -> bool:
    """Verdicts are kept unwrapped: where their fix wraps depends on the length of this checkout's path."""
    paragraph = " " * 10
    return line.startswith(paragraph) and not line.strip().startswith("fix:") and kept[-1].startswith(paragraph)


def normalised_json(text: str) -> str:
    data: dict[str, Any] = json.loads(text)
    environment = data["environment"]
    environment.update(
        host_root="<root>",
        python_version="<python>",
        python_implementation="<python>",
        runtimes="<runtimes>",
        cpu_flags="<the fake cpuinfo's flags>",
    )
    for finding in data["findings"]:
        finding["fix"] = finding["fix"] and released_names(finding["fix"])
    kept = {
        "environment": environment,
        "findings": data["findings"],
        "install_commands": [released_names(command) for command in data["install_commands"]],
    }
    return json.dumps(kept, indent=2) + "\n"


@pytest.mark.parametrize("name", SNAPSHOT_HOSTS)
def test_env_text_of_an_nvidia_host_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    NVIDIA_HOSTS[name](tmp_path)
    compare_with_snapshot(f"nvidia-{name}.txt", normalised_text(run_env(tmp_path)))


@pytest.mark.parametrize("name", SNAPSHOT_HOSTS)
def test_env_json_of_an_nvidia_host_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    NVIDIA_HOSTS[name](tmp_path)
    compare_with_snapshot(f"nvidia-{name}.json", normalised_json(run_env(tmp_path, "--json")))

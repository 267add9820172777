"""``modelrt env`` on simulated NVIDIA hosts, through the real CLI: text and ``--json`` against reviewed snapshots.

Only the core plugin runs (``MODELRT_PLUGINS=builtin``). What belongs to this interpreter rather than to
the fake host (Python version, installed runtimes, the root's temporary path, the plugin list, a source
checkout's install paths) is replaced by placeholders. ``MODELRT_UPDATE_SNAPSHOTS=1`` rewrites the
snapshots; review the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelrt.testing.env_snapshots import as_from_an_index, compare_with_snapshot, run_env

from .nvidia_hosts import NVIDIA_HOSTS

SNAPSHOTS = Path(__file__).parent / "snapshots"
SNAPSHOT_HOSTS = ("ubuntu-24.04-two-gpus-mig", "cuda-13-blackwell", "driver-older-than-cuda")
PLACEHOLDERS = {"Host root": "<root> (a fake root)", "Python": "<python>", "Runtimes": "<runtimes>"}


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
    return as_from_an_index("\n".join(kept) + "\n")


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
        finding["fix"] = finding["fix"] and as_from_an_index(finding["fix"])
    kept = {
        "environment": environment,
        "findings": data["findings"],
        "install_commands": [as_from_an_index(command) for command in data["install_commands"]],
    }
    return json.dumps(kept, indent=2) + "\n"


@pytest.mark.parametrize("name", SNAPSHOT_HOSTS)
def test_env_text_of_an_nvidia_host_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    NVIDIA_HOSTS[name](tmp_path)
    compare_with_snapshot(SNAPSHOTS / f"nvidia-{name}.txt", normalised_text(run_env(tmp_path, plugins="builtin")))


@pytest.mark.parametrize("name", SNAPSHOT_HOSTS)
def test_env_json_of_an_nvidia_host_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    NVIDIA_HOSTS[name](tmp_path)
    compare_with_snapshot(
        SNAPSHOTS / f"nvidia-{name}.json", normalised_json(run_env(tmp_path, "--json", plugins="builtin"))
    )

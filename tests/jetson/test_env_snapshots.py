"""``modelrt env`` through the real CLI on fake roots: text and ``--json`` compared with reviewed snapshots.

The CLI runs in a subprocess with this interpreter and ``MODELRT_HOST_ROOT``, with only the jetson
plugin enabled. What belongs to this interpreter rather than to the fake host (the Python version,
installed runtimes, the built-in plugin's registrations, the temporary root's path, other plugins)
is replaced by placeholders before comparing; install commands are compared as an install from a package
index words them, since a source checkout words them with its own paths. ``MODELRT_UPDATE_SNAPSHOTS=1``
rewrites the snapshots; review the diff before committing it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelrt.host import Host
from modelrt.testing.env_snapshots import as_from_an_index, compare_with_snapshot, run_env
from modelrt.testing.hosts import (
    JETSON_ORIN_NX_16GB_COMPATIBLE,
    JETSON_ORIN_NX_MODEL,
    JETSON_R35_TEGRA_RELEASE,
    make_jetson_host,
    make_linux_host,
    write_jetson_libraries,
    write_nvpmodel,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
KEPT_PLUGINS = ("builtin", "jetson")
LABEL_INDENT = " " * 15


def linux_cpu(root: Path) -> Host:
    return make_linux_host(root, distro="ubuntu", version="22.04")


def jetpack_61_bare_metal(root: Path) -> Host:
    host = make_jetson_host(root)
    write_jetson_libraries(root)
    write_nvpmodel(root, mode_id=0)
    return host


def jetpack_51_bare_metal(root: Path) -> Host:
    host = make_jetson_host(
        root,
        nv_tegra_release=JETSON_R35_TEGRA_RELEASE,
        compatible=JETSON_ORIN_NX_16GB_COMPATIBLE,
        model=JETSON_ORIN_NX_MODEL,
    )
    write_jetson_libraries(root, tensorrt="8.5.2", cudnn="8.6.0", cuda="11.4.315", python="3.8")
    return host


HOSTS: dict[str, Callable[[Path], Host]] = {
    "linux-cpu": linux_cpu,
    "jetson-jp61-bare-metal": jetpack_61_bare_metal,
    "jetson-jp51-bare-metal": jetpack_51_bare_metal,
}


# --------------------------------------------------------------------------------------------- text


def normalised_text(text: str) -> str:
    lines = text.splitlines()
    kept: list[str] = []
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        continuation = _continuation(lines, index + 1)
        if line and not line.startswith(" "):
            section = line
            kept.append(line)
        elif section == "modelrt environment" and line.startswith(("  Host root ", "  Python ", "  Runtimes ")):
            label = line[:15]
            placeholder = {"Host root": "<root> (a fake root)", "Python": "<python>", "Runtimes": "<runtimes>"}
            kept.append(label + placeholder[label.strip()])
            index += len(continuation)
        elif section == "modelrt environment" and line.startswith("  Source tree "):
            index += len(continuation)
        elif section == "Plugins" and line.startswith("  ") and not line.startswith(LABEL_INDENT[:10]):
            name, *columns = line.split()
            if name in KEPT_PLUGINS:
                kept.append("  " + " ".join([name, *columns]))
                if name != "builtin":
                    kept.extend(continuation)
            index += len(continuation)
        else:
            kept.append(line)
        index += 1
    return as_from_an_index("\n".join(kept) + "\n")


def _continuation(lines: list[str], start: int) -> list[str]:
    """The lines after ``start - 1`` that continue its field (indented deeper than a field label)."""
    taken = []
    for line in lines[start:]:
        if not line.startswith(" " * 10):
            break
        taken.append(line)
    return taken


@pytest.mark.usefixtures("jetson_plugin_installed")
@pytest.mark.parametrize("name", sorted(HOSTS))
def test_env_text_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    HOSTS[name](root)
    compare_with_snapshot(SNAPSHOTS / f"{name}.txt", normalised_text(run_env(root, plugins="jetson")))


# --------------------------------------------------------------------------------------------- JSON


def normalised_json(text: str) -> str:
    data: dict[str, Any] = json.loads(text)
    environment = data["environment"]
    environment.update(
        host_root="<root>", python_version="<python>", python_implementation="<python>", runtimes="<runtimes>"
    )
    environment["unknown"].pop("runtimes", None)
    data["installation"] = "<installation>"
    data["install_commands"] = [as_from_an_index(command) for command in data["install_commands"]]
    data["install_command"] = data["install_command"] and as_from_an_index(data["install_command"])
    data["plugins"] = [plugin for plugin in data["plugins"] if plugin["name"] in KEPT_PLUGINS]
    for plugin in data["plugins"]:
        if plugin["name"] == "builtin":
            plugin["registers"] = "<builtin registrations>"
    return json.dumps(data, indent=2) + "\n"


@pytest.mark.usefixtures("jetson_plugin_installed")
@pytest.mark.parametrize("name", sorted(HOSTS))
def test_env_json_matches_its_snapshot(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    HOSTS[name](root)
    compare_with_snapshot(SNAPSHOTS / f"{name}.json", normalised_json(run_env(root, "--json", plugins="jetson")))


def test_normalising_keeps_what_the_fake_host_says_and_drops_what_this_interpreter_says() -> None:
    text = (
        "modelrt environment\n"
        "  Host root    /tmp/pytest-of-x/very/long/path (a fake root: the facts below come from its\n"
        "               files)\n"
        "  System       Linux, aarch64\n"
        "  Python       CPython 3.11.7\n"
        "  Runtimes     onnxruntime 1.32.0\n"
        "\n"
        "Plugins\n"
        "  builtin  modelrt-core 0.1.0    ok\n"
        "          registers: architectures: yolov8\n"
        "  jetson   modelrt-jetson 0.1.0  ok\n"
        "  onnx     modelrt-onnx 0.1.0    disabled\n"
        "          error: disabled by MODELRT_PLUGINS=jetson\n"
    )
    assert normalised_text(text) == (
        "modelrt environment\n"
        "  Host root    <root> (a fake root)\n"
        "  System       Linux, aarch64\n"
        "  Python       <python>\n"
        "  Runtimes     <runtimes>\n"
        "\n"
        "Plugins\n"
        "  builtin modelrt-core 0.1.0 ok\n"
        "  jetson modelrt-jetson 0.1.0 ok\n"
    )


def test_a_snapshot_mismatch_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELRT_UPDATE_SNAPSHOTS", raising=False)
    (tmp_path / "x.txt").write_text("expected\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="differs from"):
        compare_with_snapshot(tmp_path / "x.txt", "actual\n")

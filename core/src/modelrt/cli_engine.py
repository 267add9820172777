"""``modelrt engine inspect|strip``: what a TensorRT engine file records, and its bare plan.

Both work without TensorRT or a GPU, on modelrt engine containers, bare plans and Ultralytics
``.engine`` files (``modelrt.engines.container.read_engine``); the file is read once.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrt.cli_output import escaped
from modelrt.errors import InputError

if TYPE_CHECKING:
    from modelrt.engines.container import EngineFile

__all__ = ["add_engine_commands", "engine_report"]

ENGINE_EPILOG = """\
FILE may be a modelrt engine container (what `modelrt build` writes and the modelrt cache holds), a bare
TensorRT plan (trtexec --saveEngine) or an Ultralytics .engine file. A fact the file does not record is
shown as unknown. `strip` writes the bare plan, which trtexec --loadEngine and TensorRT itself read; the
plan alone records nothing about what it was built for."""

_KINDS = {
    "modelrt": "modelrt engine container",
    "bare": "bare TensorRT plan (it records no build facts)",
    "ultralytics": "Ultralytics .engine file (it records no TensorRT version, GPU or L4T)",
}
#: Facts shown in their own sections rather than in the list of facts.
_SECTIONS = ("profiles", "tensors")
#: Class names shown in the Ultralytics summary; the rest are counted.
_NAMES_SHOWN = 5
_VALUE_WIDTH = 100


def add_engine_commands(sub: Any, add_global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``engine inspect`` and ``engine strip`` to the ``modelrt`` command's subparsers
    (``add_global_options`` gives the actions the options every command takes)."""
    engine = sub.add_parser(
        "engine",
        help="inspect a TensorRT engine file, or extract its bare plan",
        epilog=ENGINE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = engine.add_subparsers(dest="action", required=True, metavar="ACTION")
    inspect = actions.add_parser("inspect", help="what the file records: kind, build facts, I/O, profiles, checksum")
    inspect.add_argument("file", metavar="FILE", help="the engine file")
    inspect.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    inspect.set_defaults(func=cmd_engine_inspect)
    strip = actions.add_parser("strip", help="write the bare TensorRT plan the file holds (for trtexec --loadEngine)")
    strip.add_argument("file", metavar="FILE", help="the engine file")
    strip.add_argument("-o", "--output", required=True, metavar="PLAN", help="the plan file to write")
    strip.add_argument("--overwrite", action="store_true", help="replace PLAN if it exists")
    strip.set_defaults(func=cmd_engine_strip)
    for parser in (inspect, strip):
        add_global_options(parser)


def engine_report(engine: EngineFile, name: str) -> dict[str, Any]:
    """What ``inspect --json`` prints: the file's kind, facts, unknown facts, plan size and checksum, metadata."""
    return {
        "file": name,
        "kind": engine.kind,
        "facts": engine.facts.to_dict(),
        "unknown_facts": list(engine.facts.unknown()),
        "plan": {"bytes": len(engine.plan), "sha256": engine.plan_sha256},
        "metadata": dict(engine.metadata),
    }


def cmd_engine_inspect(args: argparse.Namespace) -> int:
    from modelrt.cli_output import write_json

    path = Path(args.file)
    engine = _read_engine(path)
    if args.json:
        write_json(engine_report(engine, str(path)))
    else:
        print("\n".join(_render(engine, str(path))))
    return 0


def cmd_engine_strip(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if not args.overwrite and os.path.lexists(output):
        raise _already_exists(output)
    engine = _read_engine(Path(args.file))
    _write_plan(output, engine.plan, overwrite=args.overwrite)
    print(f"{escaped(str(output))}: bare TensorRT plan, {len(engine.plan)} bytes, sha256 {engine.plan_sha256}")
    return 0


def _read_engine(path: Path) -> EngineFile:
    from modelrt.engines.container import read_engine

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"engine file {escaped(str(path))} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{escaped(str(path))} is a directory, not an engine file; check the path") from None
    except OSError as error:
        raise InputError(f"cannot read engine file {escaped(str(path))}: {error.strerror or error}") from None
    return read_engine(data, name=escaped(str(path)))


def _write_plan(path: Path, plan: memoryview, *, overwrite: bool) -> None:
    """Publish ``plan`` at ``path`` whole or not at all; without ``overwrite`` a file that appeared
    meanwhile is never replaced (``publish`` takes the name in one step)."""
    from modelrt.storage import publish, storage_errors

    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(plan)
            try:
                publish(temp, path, replace=overwrite)
            except FileExistsError:
                raise _already_exists(path) from None
        finally:
            temp.unlink(missing_ok=True)


def _already_exists(path: Path) -> InputError:
    return InputError(f"{escaped(str(path))} already exists; pass --overwrite to replace it, or write elsewhere")


def _render(engine: EngineFile, name: str) -> list[str]:
    import attrs

    facts = engine.facts
    lines = [f"{escaped(name)}: {_KINDS[engine.kind]}", f"plan: {len(engine.plan)} bytes, sha256 {engine.plan_sha256}"]
    lines.append("facts:")
    for field in attrs.fields(type(facts)):
        if field.name not in _SECTIONS:
            value = getattr(facts, field.name)
            shown = "unknown (not recorded)" if value is None else escaped(str(value))
            lines.append(f"  {field.name:<24}{shown}")
    for title, tensors in (("inputs", facts.inputs), ("outputs", facts.outputs)):
        lines.append(f"{title}:" if tensors else f"{title}: unknown (not recorded)")
        lines.extend(f"  {escaped(tensor.name)}  {escaped(tensor.dtype)}  {list(tensor.shape)}" for tensor in tensors)
    lines.append("profiles:" if facts.profiles else "profiles: unknown (not recorded)")
    lines.extend(
        f"  {escaped(shape.input)}  min {list(shape.min)}  opt {list(shape.opt)}  max {list(shape.max)}"
        for shape in facts.profiles
    )
    if engine.kind == "ultralytics":
        lines.append("Ultralytics metadata:")
        lines.extend(f"  {escaped(key)}: {_summary(key, value)}" for key, value in engine.metadata.items())
    return lines


def _summary(key: str, value: Any) -> str:
    """One short line for a metadata value; class names are counted, long values cut."""
    if key == "names" and isinstance(value, Mapping | list):
        names = list(value.values()) if isinstance(value, Mapping) else value
        shown = ", ".join(str(name) for name in names[:_NAMES_SHOWN])
        more = ", ..." if len(names) > _NAMES_SHOWN else ""
        return escaped(f"{len(names)} classes ({shown}{more})")
    text = json.dumps(value, ensure_ascii=False, default=str)
    return escaped(text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "...")

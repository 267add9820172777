"""``modelrt build``: a thin layer over ``modelrt.build`` (TensorRT engines, built once and cached)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["add_build_command", "parse_batch", "parse_shape"]

BUILD_EPILOG = """\
A build takes from seconds (a classifier) to several minutes (a large detector in fp16); the engine
lands in the modelrt cache, keyed by the model, TensorRT, GPU, precision and profile, and later loads
with --backend tensorrt (or auto) use it. --batch 1:4:8 lets the engine take batches of 1 to 8, tuned
for 4; --shape NAME:MIN:OPT:MAX gives every dynamic dimension of one input (1x3x320x320:1x3x640x640:
1x3x1280x1280), --shape NAME:SHAPE fixes it. Without --precision, the backend chooses and says why."""


def parse_batch(text: str) -> tuple[int, int, int]:
    """``1:4:8`` → (1, 4, 8); ``4`` → (4, 4, 4)."""
    parts = text.split(":")
    if len(parts) not in (1, 3) or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not MIN:OPT:MAX (e.g. 1:4:8) or one batch size")
    values = tuple(int(part) for part in parts) * (3 if len(parts) == 1 else 1)
    if not 1 <= values[0] <= values[1] <= values[2]:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1 <= MIN <= OPT <= MAX")
    return values  # type: ignore[return-value]


def parse_shape(text: str) -> tuple[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """``images:1x3x640x640`` (fixed) or ``images:MIN:OPT:MAX`` → (name, (min, opt, max))."""
    name, _, rest = text.rpartition(":") if text.count(":") == 1 else text.partition(":")
    shapes = rest.split(":")
    if not name or len(shapes) not in (1, 3):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:SHAPE or NAME:MIN:OPT:MAX (shapes like 1x3x640x640)")
    try:
        dims = [tuple(int(dim) for dim in shape.lower().split("x")) for shape in shapes]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: shapes are dimensions joined by x, like 1x3x640x640") from None
    if any(dim < 1 for shape in dims for dim in shape) or len({len(shape) for shape in dims}) != 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every shape needs the same number of positive dimensions")
    low, opt, high = dims * 3 if len(dims) == 1 else dims
    return name, (low, opt, high)


def add_build_command(sub: Any) -> None:
    """Add ``build`` to the ``modelrt`` command's subparsers."""
    build = sub.add_parser(
        "build",
        help="compile a model ahead of time (TensorRT engines), into the modelrt cache",
        epilog=BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("model", help="a model package, a .onnx file, hf://org/repo, ...")
    build.add_argument("--backend", default="tensorrt", help="the backend to build for (default: tensorrt)")
    where = build.add_mutually_exclusive_group()
    where.add_argument("--device", default="auto", help="cuda:N (default: the first GPU)")
    build.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"], help="default: the backend's rule"
    )
    build.add_argument("--batch", type=parse_batch, metavar="MIN:OPT:MAX", help="dynamic batch range, e.g. 1:4:8")
    build.add_argument(
        "--shape", type=parse_shape, action="append", default=[], metavar="NAME:SHAPE", help="an input's shapes"
    )
    build.add_argument("--workspace", type=float, metavar="GB", help="builder scratch memory limit in GB")
    where.add_argument("--dla", type=int, metavar="N", help="build for DLA core N of a Jetson (fp16 or int8)")
    build.add_argument("--version-compatible", action="store_true", help="runs on later TensorRT of the same major")
    build.add_argument("--rebuild", action="store_true", help="build even when a fitting engine is cached")
    build.add_argument("--no-verify", action="store_true", help="accept artifacts without checksums (trusted files)")
    build.add_argument("--offline", action="store_true", help="make no network connection")
    build.add_argument("--revision", help="for hf:// models: branch, tag, commit or refs/pr/N")
    build.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    build.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    import attrs

    from modelrt.cli_output import write_json
    from modelrt.engine_build import build

    with _build_progress() as report:
        outcomes = build(
            args.model,
            backend=args.backend,
            device=f"dla:{args.dla}" if args.dla is not None else args.device,
            precision=args.precision,
            batch=args.batch,
            shapes=dict(args.shape),
            workspace_gb=args.workspace,
            version_compatible=args.version_compatible,
            rebuild=args.rebuild,
            offline=True if args.offline else None,
            verify=not args.no_verify,
            revision=args.revision,
            progress=report,
        )
    if args.json:
        write_json([{**attrs.asdict(outcome), "engine": str(outcome.engine)} for outcome in outcomes])
        return 0
    for outcome in outcomes:
        how = "cached" if outcome.cached else f"built in {outcome.seconds:.1f} s"
        print(f"{outcome.role}: {outcome.artifact} -> {outcome.engine} ({how})")
        print(f"    {outcome.summary}")
    return 0


@contextmanager
def _build_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """One status line on stderr when it is a terminal (phase, step and elapsed time); nothing otherwise."""
    if sys.stderr is None or not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()

    def report(phase: str, step: int, total: int) -> None:
        steps = f" {step}/{total}" if total else ""
        sys.stderr.write(f"\r\x1b[K{phase}{steps}  {time.monotonic() - started:.0f} s")
        sys.stderr.flush()

    try:
        yield report
    finally:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()

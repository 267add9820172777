"""The ``modelrt`` command: a thin layer over functions that return data.

Exit codes: 0 ok, 1 a ``ModelRTError`` (one line; ``--verbose`` adds the traceback) or, for ``predict``,
an input that could not be predicted, 2 usage, 130 interrupted (Ctrl-C: what was printed stays, no
traceback), 141 stdout closed by its reader (``modelrt predict ... | head -1``: quiet, as ``ls`` or ``git``
end in a shell). Global options (``-v``/``--verbose``, ``--version``) go before or after the command.
With ``--json``, stdout holds only the JSON document (``modelrt.cli_output``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from modelrt.cli_output import EXIT_STDOUT_CLOSED, discard_stdout, escaped, stdout_reserved_for_document, write_json
from modelrt.cli_version import ShowVersions
from modelrt.errors import ModelRTError

__all__ = ["build_parser", "main"]

EXIT_INTERRUPTED = 130


def _print_json(data: Any) -> None:
    write_json(data)


# ------------------------------------------------------------------------------------------- commands


def cmd_env(args: argparse.Namespace) -> int:
    from modelrt.api import environment
    from modelrt.env_report import render_report, report_to_dict

    report = environment()
    if args.json:
        _print_json(report_to_dict(report))
    else:
        print(render_report(report))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    import attrs

    from modelrt.api import plugins
    from modelrt.cli_version import plugin_line

    infos = plugins()
    if args.json:
        _print_json([attrs.asdict(info) for info in infos])
        return 0
    for info in infos:
        print(plugin_line(info))
        for kind, names in info.registers.items():
            if names:
                print(f"    {kind}: {', '.join(names)}")
        if info.error:
            print(f"    error: {info.error}")
    return 0


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "device": args.device,
        "backend": args.backend,
        "precision": args.precision,
        "threads": args.threads,
        "offline": True if args.offline else None,
        "allow_pickle": args.allow_pickle,
        "verify": not args.no_verify,
        "revision": args.revision,
    }


def cmd_explain(args: argparse.Namespace) -> int:
    from modelrt.api import explain

    plan = explain(args.model, all_candidates=args.all, **_load_kwargs(args))
    if args.json:
        _print_json(plan.to_dict())
    else:
        print(plan)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from modelrt.cli_predict import run_predict

    return run_predict(args, _load_kwargs(args))


def cmd_package(args: argparse.Namespace) -> int:
    from modelrt.cli_package import run_package

    return run_package(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from modelrt.bench import benchmark, render_benchmark

    result = benchmark(
        args.model,
        image=args.image,
        runs=args.runs,
        warmup=args.warmup,
        batch_size=args.batch,
        **_load_kwargs(args),
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(render_benchmark(result))
    return 0


# --------------------------------------------------------------------------------------------- parser


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="auto", help="backend name, or auto (default)")
    parser.add_argument("--device", default="auto", help="cpu, cuda[:N], mps, coreml, dla:N, or auto (default)")
    parser.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"], help="numeric precision (default auto)"
    )
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: usable CPUs)")
    parser.add_argument("--offline", action="store_true", help="make no network connection")
    parser.add_argument("--revision", help="for hf:// models: branch, tag, commit or refs/pr/N (default: main)")
    parser.add_argument("--allow-pickle", action="store_true", help="allow pickle weights for this load (unsafe)")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the sha256 checks of the package's files for this load (only for files you trust)",
    )


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options every command takes, before or after its name: ``modelrt -v predict ...`` = ``modelrt predict ... -v``.

    Their default is "not given" (``SUPPRESS``), so a command's parser never resets what was given before
    the command name; ``main`` reads them with a fallback.
    """
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log more and show tracebacks"
    )
    parser.add_argument("--version", action=ShowVersions)


MODEL_HELP = "a package directory, a model file a plugin reads (e.g. an Ultralytics .onnx), or a reference"
JSON_HELP = "print one JSON document on stdout instead of text"
PREDICT_INPUTS = """\
IMAGE may be, mixed freely:
  photo.jpg         an image file (PNG, JPEG, WebP, BMP, TIFF, GIF, PNM, JPEG 2000, HDR, AVIF)
  photos/           the image files in the directory, in name order (sub-directories are not
                    searched; other files are skipped with a note)
  'photos/*.jpg'    a glob pattern in quotes, expanded by modelrt ('**' also matches sub-directories)
  -                 one encoded image read from stdin
A video file (clip.mp4, ...) or stream URL (rtsp://...) is predicted on its own, one result per
frame (--json: one JSON line per frame; --save out.mp4: the annotated video, codec mp4v; a summary
ends on stderr). An input that cannot be predicted is reported on stderr while the
others go on, and the exit status is then 1. A long run shows a progress bar when stderr is a terminal.

--save DIR writes DIR/<name>.annotated.png per image; images whose names give the same file name are
numbered in input order (x.annotated.png, x-2.annotated.png, ...). --save FILE.png (or .jpg, ...)
takes one image. Existing files are never replaced without --overwrite: the command refuses before
predicting anything. Pictures are written whole or not at all (temporary file, then renamed)."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    from modelrt.cli_package import PACKAGE_TASKS

    parser = argparse.ArgumentParser(prog="modelrt", description="Run computer-vision models on the best backend.")
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="the command to run:")

    env = sub.add_parser("env", help="this host, its matrix row, plugins, and what to install")
    env.add_argument("--json", action="store_true", help=JSON_HELP)
    env.set_defaults(func=cmd_env)

    plugins = sub.add_parser("plugins", help="installed plugins and their status")
    plugins.add_argument("--json", action="store_true", help=JSON_HELP)
    plugins.set_defaults(func=cmd_plugins)

    explain = sub.add_parser("explain", help="how a model would be loaded here, and why")
    explain.add_argument("model", help=MODEL_HELP)
    _add_load_options(explain)
    explain.add_argument(
        "--all", action="store_true", help="every candidate, also on devices this host lacks (default: this host's)"
    )
    explain.add_argument("--json", action="store_true", help=JSON_HELP)
    explain.set_defaults(func=cmd_explain)

    predict = sub.add_parser(
        "predict",
        help="run a model on images, directories, glob patterns or stdin",
        description="Run a model on images and print one result per image, as soon as it is known.",
        epilog=PREDICT_INPUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", help=MODEL_HELP)
    predict.add_argument(
        "images", nargs="+", metavar="IMAGE", help="an image file, a directory, a quoted glob pattern, or - (see below)"
    )
    _add_load_options(predict)
    predict.add_argument("--confidence", type=float, help="keep detections scored at least this (default: the model's)")
    predict.add_argument("--iou", type=float, help="overlap at which NMS drops the weaker box (default: the model's)")
    predict.add_argument("--max-detections", type=int, help="keep at most this many per image (default: the model's)")
    predict.add_argument(
        "--classes", metavar="LIST", help="classes to keep, by name or id, comma-separated (e.g. 0,person)"
    )
    predict.add_argument(
        "--batch", type=_positive_int, default=1, metavar="N", help="images per network call (default 1)"
    )
    predict.add_argument(
        "--save", metavar="DIR_OR_FILE", help="write annotated pictures: DIR/<name>.annotated.png (see below)"
    )
    predict.add_argument("--overwrite", action="store_true", help="let --save replace existing files")
    predict.add_argument("--json", action="store_true", help=JSON_HELP)
    predict.set_defaults(func=cmd_predict)

    bench = sub.add_parser("bench", help="latency percentiles per stage, throughput, and where the model runs")
    bench.add_argument("model", help=MODEL_HELP)
    bench.add_argument("--image", help="image to use, decoded once (default: a grey image of the input size)")
    bench.add_argument("--runs", type=int, default=20, help="timed predictions (default 20)")
    bench.add_argument("--warmup", type=int, default=3, help="untimed predictions first (default 3)")
    bench.add_argument("--batch", type=int, default=1, help="images per predict call (default 1)")
    _add_load_options(bench)
    bench.add_argument("--json", action="store_true", help=JSON_HELP)
    bench.set_defaults(func=cmd_bench)

    package = sub.add_parser(
        "package",
        help="write a modelrt package (manifest with sha256) for a model file",
        description=(
            "Write a modelrt package for a model file. What the file says about itself (an Ultralytics .onnx "
            "carries its task, class names and input size) gives the defaults; each option given wins."
        ),
    )
    package.add_argument("model_file", help="the model file (.onnx, .pt2, .torchscript, .engine, ...)")
    package.add_argument("--task", choices=PACKAGE_TASKS, help="what the model does (default: from the file)")
    package.add_argument("-o", "--output", required=True, metavar="DIR", help="the package directory to write")
    package.add_argument("--labels", metavar="FILE", help="class names, one per line (default: from the file)")
    package.add_argument("--architecture", help="how outputs are decoded (default: from the file, or the task's)")
    package.add_argument("--name", help="the model's name (default: the file name without suffix)")
    package.add_argument("--format", help="artifact format (default: from the file suffix)")
    package.add_argument(
        "--size", type=int, nargs="+", metavar="N", help="input H W, or one size (default: from the file, or 640)"
    )
    package.add_argument("--dynamic-size", action="store_true", help="keep aspect; shorter side = size")
    package.add_argument(
        "--resize",
        choices=["letterbox", "stretch", "shorter-side-center-crop"],
        help="how images fit the input (default: the file's or the architecture's, else letterbox)",
    )
    package.add_argument("--crop-resize", type=int, help="shorter side before the centre crop")
    package.add_argument("--color", choices=["rgb", "bgr"], help="channel order the network expects")
    package.add_argument("--scale", type=float, help="pixel values are multiplied by this (default 1/255)")
    package.add_argument(
        "--mean", type=float, nargs=3, help="per-channel mean subtracted after scaling (rf-detr, detr: ImageNet's)"
    )
    package.add_argument(
        "--std", type=float, nargs=3, help="per-channel std divided by after the mean (rf-detr, detr: ImageNet's)"
    )
    package.add_argument("--pad-value", type=int, help="grey level of letterbox padding, 0-255 (default 114)")
    package.add_argument("--batch", help="dynamic, or a fixed batch size")
    package.add_argument("--confidence", type=float, help="default confidence threshold written in the manifest")
    package.add_argument("--iou", type=float, help="default NMS IoU threshold written in the manifest")
    package.add_argument("--max-detections", type=int, help="default detection limit written in the manifest")
    package.add_argument("--pixel-threshold", type=float, help="text detectors: binarisation threshold")
    package.add_argument("--unclip-ratio", type=float, help="text detectors: region growth")
    package.add_argument("--json", action="store_true", help="print the manifest as JSON")
    package.set_defaults(func=cmd_package)
    from modelrt.cli_hub import add_hub_commands

    add_hub_commands(sub, _add_global_options)
    from modelrt.cli_build import add_build_command
    from modelrt.cli_engine import add_engine_commands

    add_build_command(sub)

    add_engine_commands(sub, _add_global_options)
    from modelrt.cli_new_plugin import add_new_plugin_command
    from modelrt.cli_serve import add_serve_command

    add_serve_command(sub, _add_load_options, _load_kwargs)
    add_new_plugin_command(sub)
    for command in sub.choices.values():
        _add_global_options(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    json_only = stdout_reserved_for_document() if getattr(args, "json", False) else contextlib.nullcontext()
    try:
        with json_only:
            status = int(args.func(args))
        sys.stdout.flush()
        return status
    except ModelRTError as error:
        if verbose:
            traceback.print_exc()
        print(f"error: {escaped(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            sys.stdout.flush()
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        discard_stdout()
        return EXIT_STDOUT_CLOSED

"""The ``modelrt`` command: a thin layer over functions that return data.

Exit codes: 0 ok, 1 a ``ModelRTError`` (one line; ``--verbose`` adds the traceback), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelrt._version import __version__
from modelrt.errors import InputError, ModelRTError

__all__ = ["main"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


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

    infos = plugins()
    if args.json:
        _print_json([attrs.asdict(info) for info in infos])
        return 0
    for info in infos:
        version = f" {info.version}" if info.version else ""
        print(f"{info.name} ({info.distribution or '?'}{version}): {info.status}")
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
    }


def cmd_explain(args: argparse.Namespace) -> int:
    from modelrt.api import explain

    plan = explain(args.model, **_load_kwargs(args))
    if args.json:
        _print_json(plan.to_dict())
    else:
        print(plan)
    return 0


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("confidence", "iou", "max_detections", "classes")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "classes" in overrides:
        overrides["classes"] = [c.strip() for c in overrides["classes"].split(",") if c.strip()]
    return overrides


def _save_paths(target: Path, images: Sequence[str]) -> list[Path]:
    if len(images) == 1 and target.suffix.lower() in IMAGE_SUFFIXES:
        return [target]
    if target.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"--save {target} names one file but {len(images)} images were given; pass a directory")
    return [target / f"{Path(image).stem}.annotated.png" for image in images]


def cmd_predict(args: argparse.Namespace) -> int:
    from modelrt.annotate import annotate
    from modelrt.images import load_image
    from modelrt.model import load
    from modelrt.results import Prediction
    from modelrt.storage import storage_errors

    save_paths = _save_paths(Path(args.save), args.images) if args.save else []
    overrides = _overrides(args)
    outputs = []
    with load(args.model, **_load_kwargs(args)) as model:
        for index, image_path in enumerate(args.images):
            image = load_image(image_path)
            result = model.predict(image, **overrides)
            assert isinstance(result, Prediction)  # one image in, one result out
            outputs.append({"image": image_path, **result.to_dict()})
            if not args.json:
                print(_describe(image_path, result))
            if save_paths:
                _write_image(save_paths[index], annotate(image, result), storage_errors)
                if not args.json:
                    print(f"  saved {save_paths[index]}")
        if args.json:
            _print_json({"model": model.name, "plan": model.plan.to_dict(), "results": outputs})
    return 0


def _write_image(path: Path, rgb: Any, storage_errors: Any) -> None:
    import cv2

    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, encoded = cv2.imencode(path.suffix or ".png", rgb[:, :, ::-1])
        if not ok:
            raise InputError(f"cannot encode an image as {path.suffix}; use .png or .jpg")
        path.write_bytes(encoded.tobytes())


def _describe(image_path: str, result: Any) -> str:
    data = result.to_dict()
    if data["type"] == "classification":
        top = ", ".join(f"{item['class']} ({item['probability']:.3f})" for item in data["top"][:3])
        return f"{image_path}: {top}"
    lines = [f"{image_path}: {len(data['detections'])} detections"]
    for item in data["detections"]:
        x1, y1, x2, y2 = item["xyxy"]
        lines.append(f"  {item['class']:<12} {item['confidence']:.3f}  [{x1:7.1f} {y1:7.1f} {x2:7.1f} {y2:7.1f}]")
    return "\n".join(lines)


def cmd_package(args: argparse.Namespace) -> int:
    from modelrt.package_builder import build_package, read_labels

    input_spec: dict[str, Any] = {"size": [args.size[0], args.size[-1]]}
    optional_input = {
        "dynamic_size": args.dynamic_size or None,
        "resize": args.resize,
        "color": args.color,
        "scale": args.scale,
        "mean": args.mean,
        "std": args.std,
        "pad_value": args.pad_value,
        "crop_resize": args.crop_resize,
        "batch": args.batch if args.batch is None or args.batch == "dynamic" else int(args.batch),
    }
    input_spec.update({key: value for key, value in optional_input.items() if value is not None})
    postprocess = {
        key: value
        for key, value in {
            "confidence": args.confidence,
            "iou": args.iou,
            "max_detections": args.max_detections,
            "pixel_threshold": args.pixel_threshold,
            "unclip_ratio": args.unclip_ratio,
        }.items()
        if value is not None
    }
    labels = read_labels(Path(args.labels)) if args.labels else ("text",) if args.task == "text-detection" else ()
    manifest = build_package(
        Path(args.model_file),
        Path(args.output),
        task=args.task,
        labels=labels,
        architecture=args.architecture,
        name=args.name,
        artifact_format=args.format,
        input_spec=input_spec,
        postprocess=postprocess,
    )
    if args.json:
        from modelrt.manifest import manifest_to_dict

        _print_json(manifest_to_dict(manifest))
    else:
        artifact = manifest.artifacts[0]
        print(f"wrote {Path(args.output) / 'modelrt.json'}: {manifest.name} ({manifest.architecture}, {manifest.task})")
        print(f"  {artifact.path}: {artifact.size} bytes, sha256 {artifact.sha256}")
    return 0


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
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"])
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: usable CPUs)")
    parser.add_argument("--offline", action="store_true", help="make no network connection")
    parser.add_argument("--allow-pickle", action="store_true", help="allow pickle weights for this load (unsafe)")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the sha256 checks of the package's files for this load (only for files you trust)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelrt", description="Run computer-vision models on the best backend.")
    parser.add_argument("--version", action="version", version=f"modelrt-core {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    env = sub.add_parser("env", help="this host, its matrix row, plugins, and what to install")
    env.add_argument("--json", action="store_true")
    env.set_defaults(func=cmd_env)

    plugins = sub.add_parser("plugins", help="installed plugins and their status")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)

    explain = sub.add_parser("explain", help="how a model would be loaded here, and why")
    explain.add_argument("model")
    _add_load_options(explain)
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=cmd_explain)

    predict = sub.add_parser("predict", help="run a model on images")
    predict.add_argument("model")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    _add_load_options(predict)
    predict.add_argument("--confidence", type=float)
    predict.add_argument("--iou", type=float)
    predict.add_argument("--max-detections", type=int)
    predict.add_argument("--classes", help="comma-separated class names to keep")
    predict.add_argument("--save", metavar="DIR_OR_FILE", help="write annotated pictures here")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)

    bench = sub.add_parser("bench", help="latency percentiles per stage, throughput, and where the model runs")
    bench.add_argument("model")
    bench.add_argument("--image", help="image to use, decoded once (default: a grey image of the input size)")
    bench.add_argument("--runs", type=int, default=20, help="timed predictions (default 20)")
    bench.add_argument("--warmup", type=int, default=3, help="untimed predictions first (default 3)")
    bench.add_argument("--batch", type=int, default=1, help="images per predict call (default 1)")
    _add_load_options(bench)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)

    package = sub.add_parser("package", help="write a modelrt package (manifest with sha256) for a model file")
    package.add_argument("model_file")
    package.add_argument("--task", required=True)
    package.add_argument("-o", "--output", required=True, metavar="DIR")
    package.add_argument("--labels", metavar="FILE", help="class names, one per line")
    package.add_argument("--architecture")
    package.add_argument("--name")
    package.add_argument("--format", help="artifact format (default: from the file suffix)")
    package.add_argument("--size", type=int, nargs="+", default=[640, 640], metavar="N", help="H W, or one size")
    package.add_argument("--dynamic-size", action="store_true", help="keep aspect; shorter side = size")
    package.add_argument("--resize", choices=["letterbox", "stretch", "shorter-side-center-crop"])
    package.add_argument("--crop-resize", type=int, help="shorter side before the centre crop")
    package.add_argument("--color", choices=["rgb", "bgr"], help="channel order the network expects")
    package.add_argument("--scale", type=float)
    package.add_argument("--mean", type=float, nargs=3)
    package.add_argument("--std", type=float, nargs=3)
    package.add_argument("--pad-value", type=int)
    package.add_argument("--batch", help="dynamic, or a fixed batch size")
    package.add_argument("--confidence", type=float)
    package.add_argument("--iou", type=float)
    package.add_argument("--max-detections", type=int)
    package.add_argument("--pixel-threshold", type=float, help="text detectors: binarisation threshold")
    package.add_argument("--unclip-ratio", type=float, help="text detectors: region growth")
    package.add_argument("--json", action="store_true")
    package.set_defaults(func=cmd_package)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except ModelRTError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

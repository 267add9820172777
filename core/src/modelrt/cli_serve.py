"""``modelrt serve MODEL --port P``: the model over HTTP on a local Ray Serve, until Ctrl-C.

A thin layer over ``modelrt.ray.serve.run_server``; without Ray it fails with the extra to install.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_serve_command"]

SERVE_EPILOG = """\
POST an image as the request body (curl --data-binary @photo.jpg http://127.0.0.1:8000/) or as a
multipart file field (curl -F image=@photo.jpg ...): the answer is the JSON record modelrt predict
--json writes for that image. GET /health says whether it runs, where, and the batch sizes so far.
A bad image is a 400 with {"error": ...}. Requests arriving within --batch-wait-ms of each other share
one network call of up to --max-batch-size images. Needs Ray: pip install "modelrt[ray]". With
RAY_ADDRESS set, the model is deployed on that cluster instead of a local one."""


def add_serve_command(
    sub: Any,
    add_load_options: Callable[[argparse.ArgumentParser], None],
    load_kwargs: Callable[[argparse.Namespace], dict[str, Any]],
) -> None:
    """Add ``serve`` to the ``modelrt`` command's subparsers, with the load options every command takes."""
    serve = sub.add_parser(
        "serve",
        help="serve a model over HTTP with Ray Serve, batching requests (needs modelrt[ray])",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("model", help="a package directory, a model file a plugin reads, or hf://org/repo")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--max-batch-size", type=int, default=8, metavar="N", help="images per network call (8)")
    serve.add_argument(
        "--batch-wait-ms", type=float, default=10.0, metavar="MS", help="wait this long for a batch to fill (10)"
    )
    serve.add_argument("--replicas", type=int, default=1, help="model replicas (default 1)")
    serve.add_argument("--num-cpus", type=float, default=1, help="CPUs per replica, and its threads (default 1)")
    serve.add_argument("--num-gpus", type=float, default=0, help="GPUs per replica (default 0)")
    serve.add_argument("--confidence", type=float, help="keep detections scored at least this (default: the model's)")
    serve.add_argument("--iou", type=float, help="overlap at which NMS drops the weaker box (default: the model's)")
    serve.add_argument("--max-detections", type=int, help="keep at most this many per image (default: the model's)")
    add_load_options(serve)
    serve.set_defaults(func=lambda args: cmd_serve(args, load_kwargs(args)))


def cmd_serve(args: argparse.Namespace, load_options: dict[str, Any]) -> int:
    """Serve until interrupted; Ctrl-C ends it (exit 130, as for every command)."""
    from modelrt.ray.serve import run_server

    names = ("confidence", "iou", "max_detections")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    run_server(
        args.model,
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        batch_wait_timeout_s=args.batch_wait_ms / 1000,
        replicas=args.replicas,
        num_cpus=args.num_cpus,
        num_gpus=args.num_gpus,
        overrides=overrides,
        on_ready=lambda url: print(
            f"serving {args.model} at {url} (POST an image; GET {url}health); Ctrl-C stops", flush=True
        ),
        **load_options,
    )
    return 0

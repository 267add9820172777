"""``python -m benchmarks``: modelrt side by side with raw onnxruntime and inference-models.

    python -m benchmarks setup     # once: build the tool environments under benchmarks/.cache/venvs (~13 GB)
    python -m benchmarks run       # everything: JSON + Markdown under benchmarks/results/

``run`` also writes, after the timing, a cProfile dump per stage under benchmarks/results/latest.profile/
(``--no-profile`` skips it): ``modelrt-<stage>.txt`` (``modelrt-x8-<stage>.txt`` at batch 8) lists the top
functions of ``--profile-rounds`` predictions by cumulative and own time, ``<same>.pstats`` opens with
``python -m pstats FILE`` or snakeviz; ``startup.txt``/``startup.pstats`` and ``startup-importtime*.txt``
profile one first prediction in a fresh process (with the start-up part).

``run --model synthetic --no-reference`` needs no heavy environment. See ``benchmarks/envs.py`` for what
``setup`` installs and where.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import envs

DEFAULT_SETUP = ("ultralytics", "inference-models", "modelrt-size", "empty")
RESULTS = envs.REPO / "benchmarks" / "results"


def _setup(args: argparse.Namespace) -> int:
    for name in args.env or DEFAULT_SETUP:
        env = envs.ALL[name]
        state = "rebuilding" if args.force else "ready" if env.is_built() else "building"
        print(f"{name}: {state} ({env.purpose}) in {env.root}", flush=True)
        envs.build(env, force=args.force)
    return 0


def _run(args: argparse.Namespace) -> int:
    from benchmarks import report, suite

    if args.threads is None:
        from modelrt.cpus import usable_cpu_count

        args.threads = usable_cpu_count()
    parts = tuple(part.strip() for part in args.parts.split(",") if part.strip())
    unknown = sorted(set(parts) - set(suite.PARTS))
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(unknown)}: expected some of {', '.join(suite.PARTS)}")
    options = suite.SuiteOptions(
        threads=args.threads,
        model=args.model,
        image=Path(args.image) if args.image else None,
        parts=parts,
        reference=not args.no_reference,
        runs=args.runs,
        warmup=args.warmup,
        batch=args.batch,
        spinning=args.spinning == "on",
        pause_s=args.pause_ms / 1000,
        startup_repeats=args.startup_repeats,
        passing=args.passing,
        output=Path(args.output),
        profile=not args.no_profile,
        profile_rounds=args.profile_rounds,
    )
    try:
        result = suite.run(options, suite.command_line())
    except RuntimeError as error:  # a missing environment or a failed tool: one line says what to do
        print(f"error: {error}", file=sys.stderr)
        return 1
    json_path, markdown_path = report.write(result, options.output, options.stem)
    print(report.markdown(result))
    print(f"wrote {json_path} and {markdown_path}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="build the tool environments (pip/uv, from PyPI)")
    setup.add_argument("--env", action="append", choices=sorted(envs.ALL), help=f"default: {', '.join(DEFAULT_SETUP)}")
    setup.add_argument("--force", action="store_true", help="rebuild even if built")
    setup.set_defaults(func=_setup)

    run = sub.add_parser("run", help="time everything side by side; write JSON and Markdown")
    run.add_argument("--model", choices=["yolov8n", "synthetic"], default="yolov8n")
    run.add_argument("--image", help="benchmark image (default: a 1280x720 frame made from demo/images/coffee.png)")
    run.add_argument("--parts", default="e2e,startup,size", help="comma-separated: e2e, startup, size")
    run.add_argument("--no-reference", action="store_true", help="leave inference-models out")
    run.add_argument("--runs", type=int, default=40, help="interleaved timed rounds (default 40)")
    run.add_argument("--warmup", type=int, default=3)
    run.add_argument("--threads", type=int, default=None, help="intra-op threads for all (default: usable CPUs)")
    run.add_argument("--batch", type=int, default=8, help="the batch compared with batch 1 (default 8)")
    run.add_argument(
        "--spinning",
        choices=["on", "off"],
        default="off",
        help="onnxruntime thread spinning in every session (modelrt's default: off)",
    )
    run.add_argument("--pause-ms", type=float, default=50, help="idle time after each timed call (default 50)")
    run.add_argument("--startup-repeats", type=int, default=7)
    run.add_argument("--passing", type=int, default=300, help="anchors calibrated to pass 0.25 (default 300)")
    run.add_argument("--output", default=str(RESULTS), help="directory for latest.json, latest.md and latest.profile/")
    run.add_argument("--no-profile", action="store_true", help="write no profiles (default: one per stage)")
    run.add_argument(
        "--profile-rounds", type=int, default=50, help="predictions profiled after the timing (default 50)"
    )
    run.set_defaults(func=_run)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks e2e``: modelrt vs raw onnxruntime vs the numpy floor, side by side."""

from __future__ import annotations

import argparse
import sys

from benchmarks import e2e


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    end_to_end = sub.add_parser("e2e", help="end-to-end predict vs raw session.run vs numpy floor")
    end_to_end.add_argument("--image", default=str(e2e.REPO / "demo" / "images" / "coffee.png"))
    end_to_end.add_argument("--runs", type=int, default=30)
    end_to_end.add_argument("--warmup", type=int, default=3)
    end_to_end.add_argument("--threads", type=int, default=None, help="intra-op threads (default: usable CPUs)")
    end_to_end.add_argument(
        "--spinning",
        choices=["on", "off"],
        default="off",
        help="onnxruntime intra-op thread spinning for both sessions (default off)",
    )
    end_to_end.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads is None:
        from modelrt.cpus import usable_cpu_count

        args.threads = usable_cpu_count()
    return e2e.main(args)


if __name__ == "__main__":
    sys.exit(main())

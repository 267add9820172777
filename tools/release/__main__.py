"""``python -m tools.release dist``: build and check every distribution of this repository into ``dist/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.release.errors import ReleaseError
from tools.release.release import release

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dist = commands.add_parser("dist", help="build a wheel and an sdist of every distribution, check them, write them")
    dist.add_argument("--out", type=Path, default=ROOT / "dist", help="where the files go (default: dist/)")
    dist.add_argument(
        "--snapshot",
        action="store_true",
        help="build even where a changelog has no section for its version (warnings instead): not for publishing",
    )
    dist.add_argument(
        "--no-isolation",
        dest="isolated",
        action="store_false",
        help="build with this environment's hatchling instead of a fresh one from the package index",
    )
    arguments = parser.parse_args(argv)
    try:
        done = release(ROOT, arguments.out, snapshot=arguments.snapshot, isolated=arguments.isolated)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for warning in done.warnings:
        print(f"warning (snapshot): {warning}", file=sys.stderr)
    for distribution in done.distributions:
        print(f"{distribution.name} {distribution.version}")
    for path in done.files:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

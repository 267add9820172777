"""``python -m tools.release dist``: build and check every distribution of this repository into ``dist/``;
``python -m tools.release compat``: run each plugin's tests against the lowest core it declares and the newest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.release.compat import Outcome, compat, test_requirements
from tools.release.errors import ReleaseError
from tools.release.release import release

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_LINES = 120  # of a failed run's output: its failures and pytest's summary


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
    matrix = commands.add_parser(
        "compat", help="each plugin's tests in fresh virtualenvs, with the lowest core it declares and this tree's"
    )
    matrix.add_argument(
        "--plugin", action="append", default=[], help="a plugin's distribution or folder name (default: all)"
    )
    matrix.add_argument("--keep", action="store_true", help="keep the virtualenvs and wheels (in build/compat/)")
    matrix.add_argument(
        "--with",
        dest="extra_requirements",
        action="append",
        default=[],
        metavar="REQUIREMENT",
        help="install this too (torch's CPU build: --with 'torch==2.13.0+cpu' --find-links DIR)",
    )
    matrix.add_argument("--find-links", action="append", default=[], type=Path, help="a folder of wheels for uv")
    matrix.add_argument(
        "--no-isolation",
        dest="isolated",
        action="store_false",
        help="build with this environment's hatchling instead of a fresh one from the package index",
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "compat":
        return _compat(arguments)
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


def _compat(arguments: argparse.Namespace) -> int:
    try:
        outcomes = compat(
            ROOT,
            arguments.plugin,
            requirements=[*test_requirements(ROOT), *arguments.extra_requirements],
            find_links=arguments.find_links,
            isolated=arguments.isolated,
            keep=ROOT / "build" / "compat" if arguments.keep else None,
        )
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        if not outcome.passed:
            tail = "\n".join(outcome.output.splitlines()[-OUTPUT_LINES:])
            print(f"--- {outcome.plugin} with core {outcome.core} ({outcome.which}):\n{tail}\n", file=sys.stderr)
    for outcome in outcomes:
        print(_line(outcome))
    if arguments.keep:
        print(f"virtualenvs kept in {ROOT / 'build' / 'compat' / 'venvs'}")
    return 0 if all(outcome.passed for outcome in outcomes) else 1


def _line(outcome: Outcome) -> str:
    verdict = "passed" if outcome.passed else "FAILED"
    core = f"core {outcome.core} ({outcome.which}: {outcome.source})"
    return f"{verdict:6}  {outcome.plugin:15} {core:60} {outcome.summary}  [{outcome.seconds:.0f} s]"


if __name__ == "__main__":
    sys.exit(main())

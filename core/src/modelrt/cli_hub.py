"""``modelrt pull`` and ``modelrt cache list|verify|clear``: thin layers over ``prefetch`` and ``cache``."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import Any

__all__ = ["add_hub_commands"]

PULL_EPILOG = """\
Without --all-formats, only what a load would use on this machine is fetched (the artifact the plan
chooses, with --backend/--device/--precision as for `modelrt predict`). Afterwards the model loads with
no network: HF_HUB_OFFLINE=1, MODELRT_OFFLINE=1 or --offline. A revision containing '/' (refs/pr/3)
goes in --revision."""

CACHE_EPILOG = """\
The modelrt cache (MODELRT_CACHE, default: the user cache directory) holds what modelrt derives from
models: its record of what the Hub served for each downloaded file, and later converted models and
engines. Models themselves stay in the huggingface-hub cache (`hf cache` manages it). `verify` also
checks every Hub file recorded there against that record; it exits 1 when something is wrong."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_hub_commands(sub: Any, add_global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``pull`` and ``cache`` to the ``modelrt`` command's subparsers (``add_global_options`` gives
    the actions of ``cache`` the options every command takes; the command adds them to ``pull`` and ``cache``)."""
    pull = sub.add_parser(
        "pull",
        help="download and check now what loading a model will need (then it loads offline)",
        epilog=PULL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("model", help="hf://org/repo[@revision][/sub/folder], or any model a source understands")
    pull.add_argument("--revision", help="branch, tag, commit or refs/pr/N (default: main)")
    pull.add_argument("--all-formats", action="store_true", help="every artifact, for a machine with other hardware")
    pull.add_argument("--backend", default="auto", help="backend the load will use, or auto (default)")
    pull.add_argument("--device", default="auto", help="device the load will use, or auto (default)")
    pull.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"], help="precision the load will ask for"
    )
    pull.add_argument("--allow-pickle", action="store_true", help="the load will allow pickle weights")
    pull.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    pull.set_defaults(func=cmd_pull)

    cache = sub.add_parser(
        "cache",
        help="list, verify or clear the modelrt cache",
        epilog=CACHE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="entries with their sizes")
    verify = actions.add_parser("verify", help="check every file against its recorded checksum")
    clear = actions.add_parser("clear", help="remove entries (all, or those unused for a while)")
    clear.add_argument(
        "--older-than", type=_duration, metavar="D", help="only entries unused for longer than D: 30d, 12h, 90m, 45s"
    )
    for parser, func in ((listing, cmd_cache_list), (verify, cmd_cache_verify), (clear, cmd_cache_clear)):
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        parser.set_defaults(func=func)
        add_global_options(parser)


def cmd_pull(args: argparse.Namespace) -> int:
    import attrs

    from modelrt.cli_output import escaped, write_json
    from modelrt.prefetch import pull

    report = pull(
        args.model,
        revision=args.revision,
        all_formats=args.all_formats,
        device=args.device,
        backend=args.backend,
        precision=args.precision,
        allow_pickle=args.allow_pickle,
    )
    if args.json:
        write_json({**attrs.asdict(report), "total_bytes": report.total_bytes})
        return 0
    where = escaped(report.location)
    print(f"{escaped(report.reference)}: {len(report.files)} file(s), {_size(report.total_bytes)}, cached in {where}")
    for file in report.files:
        print(f"  {escaped(file.path)}  {_size(file.size or 0)}  ({file.format}, role {escaped(file.role)})")
    return 0


def cmd_cache_list(args: argparse.Namespace) -> int:
    from modelrt.cache import cache_root, list_entries
    from modelrt.cli_output import write_json

    entries = list_entries()
    if args.json:
        write_json({"cache": str(cache_root()), "entries": [_entry_row(info) for info in entries]})
        return 0
    total = sum(info.size for info in entries)
    print(f"{cache_root()}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_size(total)}")
    for info in entries:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.last_used))
        print(f"  {info.kind}/{info.key}  {_size(info.size)}  {info.files} file(s)  last used {used}")
    return 0


def cmd_cache_verify(args: argparse.Namespace) -> int:
    import attrs

    from modelrt.cache import cache_root, verify_entries
    from modelrt.cli_output import escaped, write_json
    from modelrt.hub.pins import check_recorded_files

    problems = [*verify_entries(), *check_recorded_files()]
    if args.json:
        write_json({"cache": str(cache_root()), "problems": [attrs.asdict(problem) for problem in problems]})
    elif not problems:
        print(f"{cache_root()}: every file matches its checksum")
    else:
        print(f"{cache_root()}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem.kind}/{problem.key} {escaped(problem.file)}: {escaped(problem.reason)}")
        print("Remove damaged entries with `modelrt cache clear`; a damaged Hub file is downloaded again on load.")
    return 1 if problems else 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from modelrt.cache import cache_root, clear_entries
    from modelrt.cli_output import write_json

    removed, busy = clear_entries(args.older_than)
    if args.json:
        write_json(
            {
                "cache": str(cache_root()),
                "removed": [_entry_row(i) for i in removed],
                "busy": [_entry_row(i) for i in busy],
            }
        )
        return 0
    print(
        f"{cache_root()}: removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}, "
        f"{_size(sum(info.size for info in removed))}"
    )
    for info in busy:
        print(f"  kept {info.kind}/{info.key}: another process is writing it")
    return 0


def _entry_row(info: Any) -> dict[str, Any]:
    return {
        "kind": info.kind,
        "key": info.key,
        "path": str(info.path),
        "size": info.size,
        "files": info.files,
        "last_used": info.last_used,
    }


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: write a number and a unit, e.g. 30d, 12h, 90m")
    return float(match.group(1)) * _UNITS[match.group(2) or "d"]


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"

"""Where ``modelrt predict --save`` writes annotated pictures, and how, so no file is lost.

- ``--save FILE.png`` (one image only) writes that file; ``--save DIR`` writes ``DIR/<stem>.annotated.png``
  per image (``stdin.annotated.png`` for ``-``). Two images whose names give the same output name in one
  run (``a/x.png`` and ``b/x.png``, or ``x.png`` and ``x.jpg``) are numbered in input order:
  ``x.annotated.png``, ``x-2.annotated.png``, ``x-3.annotated.png``... (compared case-insensitively, as
  macOS and Windows compare file names).
- An existing file is never replaced unless ``--overwrite`` is given: before any prediction runs, the
  command refuses with the list of files in the way; a file that appears later is still not replaced.
- Each picture is written to a temporary file in the same directory, synced, then published under its
  name in one step (a hard link without ``--overwrite``, ``os.replace`` with it), so a reader or a
  killed run never sees half a picture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelrt.cli_inputs import STDIN
from modelrt.cli_output import escaped
from modelrt.errors import InputError

__all__ = ["ANNOTATED_SUFFIX", "WRITABLE_SUFFIXES", "annotated_paths", "refuse_existing", "save_picture"]

ANNOTATED_SUFFIX = ".annotated.png"
#: Formats a single ``--save FILE`` may name (what OpenCV encodes everywhere).
WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
#: Existing files named in the refusal before "and N more".
_SHOWN_EXISTING = 3


def annotated_paths(target: Path, names: Sequence[str]) -> list[Path]:
    """The output path of each input name, in order; one distinct file per input."""
    if target.suffix.lower() in WRITABLE_SUFFIXES:
        if len(names) != 1:
            raise InputError(
                f"--save {escaped(str(target))} names one file but {len(names)} images were given; "
                "pass a directory to --save"
            )
        return [target]
    taken: set[str] = set()
    paths = []
    for name in names:
        stem = "stdin" if name == STDIN else Path(name).stem
        file_name = f"{stem}{ANNOTATED_SUFFIX}"
        number = 2
        while file_name.casefold() in taken:
            file_name = f"{stem}-{number}{ANNOTATED_SUFFIX}"
            number += 1
        taken.add(file_name.casefold())
        paths.append(target / file_name)
    return paths


def refuse_existing(paths: Sequence[Path]) -> None:
    """``InputError`` naming the files ``paths`` would replace, if any exist."""
    existing = [path for path in paths if os.path.lexists(path)]
    if not existing:
        return
    shown = ", ".join(escaped(str(path)) for path in existing[:_SHOWN_EXISTING])
    more = f", and {len(existing) - _SHOWN_EXISTING} more" if len(existing) > _SHOWN_EXISTING else ""
    if len(existing) == 1:
        files, them = "a file that already exists", "it"
    else:
        files, them = f"{len(existing)} files that already exist", "them"
    raise InputError(
        f"--save would replace {files} ({shown}{more}); pass --overwrite to replace {them}, or save elsewhere"
    )


def save_picture(path: Path, rgb: Any, *, overwrite: bool) -> None:
    """Encode the RGB image by ``path``'s suffix and publish it atomically at ``path``."""
    from modelrt.opencv import cv2
    from modelrt.storage import publish, storage_errors

    try:
        ok, encoded = cv2.imencode(path.suffix.lower(), rgb[:, :, ::-1])
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"cannot encode a picture as {path.suffix}; save as .png or .jpg")
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created like any new file (mode 0666 less the umask), under a name no other writer picks.
        temp_name = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        descriptor = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(encoded.tobytes())
            try:
                publish(Path(temp_name), path, replace=overwrite)
            except FileExistsError:
                raise _already_exists(path) from None
        finally:
            Path(temp_name).unlink(missing_ok=True)


def _already_exists(path: Path) -> InputError:
    return InputError(f"--save: {escaped(str(path))} already exists; pass --overwrite to replace it")

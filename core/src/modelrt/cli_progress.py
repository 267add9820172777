"""A progress bar for long ``modelrt predict`` runs: on stderr when it is a terminal, nothing otherwise.

Runs of fewer than ``PROGRESS_MIN_IMAGES`` images finish before a bar would help, so they get none;
off a terminal (a pipe, a file, CI logs) there is never a bar. The bar is drawn by tqdm and removed
when the run ends; result lines printed meanwhile appear above it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from modelrt.cli_output import whole_writes

__all__ = ["PROGRESS_MIN_IMAGES", "Progress", "progress"]

PROGRESS_MIN_IMAGES = 10


class Progress:
    """Counts finished images and prints result lines without tearing the bar (if there is one)."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def warn(self, text: str) -> None:
        """Print ``text`` on stderr (notes and errors about single inputs)."""
        if self._bar is None:
            print(text, file=sys.stderr, flush=True)
        else:
            self._bar.write(text, file=sys.stderr)

    def print(self, text: str) -> None:
        """Print ``text`` on stdout and flush, so a reader sees each result as soon as it is known."""
        with whole_writes():
            if self._bar is None or not sys.stdout.isatty():
                sys.stdout.write(text + "\n")
            else:  # stdout shares the terminal with the bar: tqdm lifts the bar, writes, and redraws it
                self._bar.write(text, file=sys.stdout)
            sys.stdout.flush()


@contextlib.contextmanager
def progress(total: int, unit: str = "image") -> Iterator[Progress]:
    """A ``Progress`` over ``total`` items; with a bar only on a terminal and for long runs."""
    if total < PROGRESS_MIN_IMAGES or sys.stderr is None or not sys.stderr.isatty():
        yield Progress()
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: an interrupted run ends without waiting for it
    with tqdm(total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        yield Progress(bar)

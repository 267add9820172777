"""Where the time goes: a cProfile dump per stage, written next to the benchmark results.

Profiling slows every Python call down, so nothing here overlaps the timing: once a part has been timed,
modelrt's ``predict`` runs ``rounds`` more times (at batch 1 and at the batch) with a ``ProfilingTimer``,
which keeps one profiler per stage (decode, pre, run, post) and enables it only inside that stage. Each
stage gets ``<variant>-<stage>.pstats`` (for ``python -m pstats`` or snakeviz) and ``<variant>-<stage>.txt``
(the top functions by cumulative and by own time, paths shortened). Start-up gets one first prediction in
a fresh process under ``-X importtime`` and one under ``python -m cProfile``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import envs, startup
from benchmarks.models import BenchModel
from modelrt.timing import StageTimer

STAGES = ("decode", "pre", "run", "post")  # modelrt's (``Model.predict``), in the order they run
ROUNDS = 50
TOP_CUMULATIVE, TOP_OWN, TOP_IMPORTS = 25, 15, 30
SUFFIXES = (".pstats", ".txt")
IMPORTTIME, IMPORTTIME_TOP = "startup-importtime.txt", "startup-importtime-top.txt"
_SITE_PACKAGES = re.compile(r"[^\s(]*/site-packages/")
_STDLIB = re.compile(r"[^\s(]*/lib/python3\.\d+/")
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)\s*$")


class ProfilingTimer(StageTimer):
    """A ``StageTimer`` that also profiles each stage with its own ``cProfile.Profile``, on only inside it.

    A stage entered inside another pauses the outer stage's profiler until it ends, so every call is
    counted in the innermost stage around it (and one thread has one profiler active at a time).
    """

    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, cProfile.Profile] = {}
        self._active: list[cProfile.Profile] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        profile = self.profiles.setdefault(name, cProfile.Profile())
        outer = self._active[-1] if self._active else None
        with super().stage(name):
            if outer is not None:
                outer.disable()
            self._active.append(profile)
            profile.enable()
            try:
                yield
            finally:
                profile.disable()
                self._active.pop()
                if outer is not None:
                    outer.enable()


def clear(directory: Path) -> None:
    """Remove the dumps of an earlier run (only ``*.pstats`` and ``*.txt``; anything else stays)."""
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file() and path.suffix in SUFFIXES:
                path.unlink()


def listed(directory: Path) -> list[str]:
    """The dumps in ``directory``, by name."""
    if not directory.is_dir():
        return []
    return sorted(path.name for path in directory.iterdir() if path.is_file() and path.suffix in SUFFIXES)


def shorten(text: str) -> str:
    """Paths without the checkout's, the site-packages' and the standard library's long prefixes."""
    text = _SITE_PACKAGES.sub("", text)
    text = text.replace(f"{envs.REPO}/", "")
    return _STDLIB.sub("", text)


def summary(source: cProfile.Profile | str, title: str) -> str:
    """``title``, then the top functions of a profile (or a ``.pstats`` file) by cumulative and by own time."""
    stream = io.StringIO()
    loaded = pstats.Stats(source, stream=stream)
    stream.write(f"{title}\n\nTop {TOP_CUMULATIVE} by cumulative time (the function and what it calls):\n")
    loaded.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(TOP_CUMULATIVE)
    stream.write(f"Top {TOP_OWN} by own time (the function's body alone):\n")
    loaded.sort_stats(pstats.SortKey.TIME).print_stats(TOP_OWN)
    return shorten(stream.getvalue())


def dump(timer: ProfilingTimer, directory: Path, variant: str, what: str) -> list[Path]:
    """``<variant>-<stage>.pstats`` and ``.txt`` for every stage ``timer`` profiled; ``what`` heads the text."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stage, profile in timer.profiles.items():
        binary, text = directory / f"{variant}-{stage}.pstats", directory / f"{variant}-{stage}.txt"
        profile.dump_stats(binary)
        seconds = timer.seconds.get(stage, 0.0)
        title = f"{variant}, stage {stage}: {what}; {seconds:.3f} s in the stage, profiled (slower than timed)."
        text.write_text(summary(profile, title))
        written += [binary, text]
    return written


def variant_name(batch: int) -> str:
    return "modelrt" if batch == 1 else f"modelrt-x{batch}"


def predictions(
    model: Any, image: np.ndarray, batches: tuple[int, ...], directory: Path, rounds: int = ROUNDS
) -> list[Path]:
    """Profile ``rounds`` calls of ``model.predict`` (an RGB ``image``, each batch size) and dump each stage."""
    written: list[Path] = []
    for batch in batches:
        timer = ProfilingTimer()
        for _ in range(rounds):
            model.predict([image] * batch, color="rgb", timer=timer)
        what = f"{rounds} predictions of {batch} image{'s' if batch > 1 else ''} each, after the timed runs"
        written += dump(timer, directory, variant_name(batch), what)
    return written


def _run_probe(command: list[str]) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=envs.REPO)
    if completed.returncode != 0:
        raise RuntimeError(f"profiling {' '.join(command)} failed:\n{completed.stderr[-4000:]}")
    return completed


def importtime_top(stderr: str, top: int = TOP_IMPORTS) -> str:
    """The ``top`` largest cumulative imports of an ``-X importtime`` log, largest first."""
    rows: list[tuple[int, int, str]] = []
    for line in stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found:
            rows.append((int(found.group(2)), int(found.group(1)), found.group(4)))
    rows.sort(reverse=True)
    lines = [
        f"The {min(top, len(rows))} largest imports of {len(rows)} by cumulative time (the module and what it "
        "imports), process start to first prediction (-X importtime):",
        "",
        f"{'cumulative ms':>13} {'self ms':>9}  module",
    ]
    lines += [f"{total / 1000:13.1f} {own / 1000:9.1f}  {name}" for total, own, name in rows[:top]]
    return "\n".join(lines) + "\n"


def startup_profile(python: Path, model: BenchModel, image: Path, threads: int, directory: Path) -> list[Path]:
    """One first prediction in a fresh ``python`` under ``-X importtime``, and one under ``-m cProfile``."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = [
        str(startup.PROBE),
        "first-modelrt",
        *("--model", str(model.modelrt_package), "--image", str(image), "--threads", str(threads)),
    ]
    imports = _run_probe([str(python), "-X", "importtime", *probe])
    log, top = directory / IMPORTTIME, directory / IMPORTTIME_TOP
    log.write_text(imports.stderr)
    top.write_text(importtime_top(imports.stderr))
    binary, text = directory / "startup.pstats", directory / "startup.txt"
    _run_probe([str(python), "-m", "cProfile", "-o", str(binary), *probe])
    title = f"Start-up: process start to first prediction (probe first-modelrt, {python}), profiled."
    text.write_text(summary(str(binary), title))
    return [log, top, binary, text]

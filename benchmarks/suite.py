"""One benchmark run: the model, the parts asked for, the targets, and the report that holds them."""

from __future__ import annotations

import datetime
import platform
import sys
from pathlib import Path
from typing import Any

import attrs

from benchmarks import e2e, envs, install_size, models, profiles, report, startup

PARTS = ("e2e", "startup", "size")
RESULTS = envs.REPO / "benchmarks" / "results"


@attrs.frozen
class SuiteOptions:
    """What to run; the defaults are those of the published table."""

    threads: int
    model: str = "yolov8n"
    image: Path | None = None
    parts: tuple[str, ...] = PARTS
    reference: bool = True
    runs: int = 40
    warmup: int = 3
    batch: int = 8
    spinning: bool = False
    pause_s: float = 0.05
    startup_repeats: int = 7
    passing: int = 300
    startup_python: Path | None = None
    output: Path = RESULTS
    stem: str = "latest"
    profile: bool = True
    profile_rounds: int = profiles.ROUNDS

    @property
    def profile_dir(self) -> Path:
        """Where the profiles go: ``<output>/<stem>.profile``, next to ``<stem>.json`` and ``<stem>.md``."""
        return self.output / f"{self.stem}.profile"


def build_model(options: SuiteOptions, image: Path) -> models.BenchModel:
    if options.model == "yolov8n":
        return models.yolov8n(image, options.passing)
    if options.model == "synthetic":
        return models.synthetic(image, options.passing)
    raise ValueError(f"unknown model {options.model!r}: expected yolov8n or synthetic")


def machine() -> dict[str, Any]:
    import onnxruntime

    from modelrt.cpus import usable_cpu_count

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "usable_cpus": usable_cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
    }


def run(options: SuiteOptions, command: str, model: models.BenchModel | None = None) -> dict[str, Any]:
    """Run the parts in ``options.parts`` and return the report (targets included).

    With ``options.profile``, the dumps of an earlier run are removed from ``options.profile_dir`` and each
    part that profiles (e2e, startup) writes its own there once it has been timed; ``profiles`` lists them.
    """
    image = options.image or models.hd_frame()
    model = model or build_model(options, image)
    result: dict[str, Any] = {
        "schema": report.SCHEMA,
        "command": command,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "model": attrs.asdict(
            model, value_serializer=lambda _i, _a, value: str(value) if isinstance(value, Path) else value
        ),
    }
    profile_dir = options.profile_dir if options.profile else None
    if profile_dir is not None:
        profiles.clear(profile_dir)
    if "size" in options.parts or ("startup" in options.parts and options.startup_python is None):
        # Installed afresh from this checkout at every run, so start-up measures the code as it is now.
        envs.build(envs.MODELRT_SIZE, force=True)
    if "size" in options.parts:
        result["install_size"] = install_size.run(envs.MODELRT_SIZE.python, include_reference=options.reference)
    if "startup" in options.parts:
        python = options.startup_python or envs.MODELRT_SIZE.python
        result["startup"] = startup.run(
            model, image, options.threads, options.startup_repeats, options.reference, python=python
        )
        if profile_dir is not None:
            profiles.startup_profile(python, model, image, options.threads, profile_dir)
    if "e2e" in options.parts:
        result["e2e"] = e2e.run(
            model,
            image,
            runs=options.runs,
            warmup=options.warmup,
            threads=options.threads,
            spinning=options.spinning,
            batch=options.batch,
            reference=options.reference,
            pause_s=options.pause_s,
            profile_dir=profile_dir,
            profile_rounds=options.profile_rounds,
        )
    written = profiles.listed(profile_dir) if profile_dir is not None else []
    if profile_dir is not None and written:
        shown = profile_dir.relative_to(envs.REPO) if profile_dir.is_relative_to(envs.REPO) else profile_dir
        result["profiles"] = {"directory": str(shown), "rounds": options.profile_rounds, "files": written}
    result["targets"] = report.targets(result)
    return result


def command_line() -> str:
    return " ".join(["python -m benchmarks", *sys.argv[1:]])

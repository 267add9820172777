"""``modelrt bench MODEL``: how fast one model runs on this machine, per stage, where it was placed.

One image is decoded once and then predicted ``runs`` times after ``warmup`` predictions, so file
decoding is not timed (a video pipeline hands over decoded frames). Every run records its stages
(pre-processing, model run, post-processing) and its wall time; the result holds their percentiles,
the throughput that follows from the median, and the backend, device and provider that really ran.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from modelrt.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from modelrt.model import Model

__all__ = ["BenchmarkResult", "Latency", "RunPlacement", "benchmark", "benchmark_loaded", "render_benchmark"]

STAGES = ("pre", "run", "post")


@attrs.frozen
class Latency:
    """Percentiles of one timed quantity over the runs, in milliseconds."""

    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float

    @classmethod
    def from_seconds(cls, samples: Sequence[float]) -> Latency:
        """Percentiles interpolate linearly between samples (numpy's default), so few runs still give values."""
        ordered = sorted(samples)
        return cls(
            median_ms=1000 * statistics.median(ordered),
            p90_ms=1000 * _percentile(ordered, 90),
            p99_ms=1000 * _percentile(ordered, 99),
            mean_ms=1000 * statistics.fmean(ordered),
            min_ms=1000 * ordered[0],
        )


@attrs.frozen
class RunPlacement:
    """Where one role of the model runs: the plan's choice and the provider the session really got."""

    backend: str
    device: str
    provider: str


@attrs.frozen
class BenchmarkResult:
    """Latency per call and per stage, throughput, and where the model ran."""

    model: str
    architecture: str
    placements: dict[str, RunPlacement]
    threads: int
    precision: str
    image: str
    image_shape: tuple[int, int, int]
    batch_size: int
    runs: int
    warmup: int
    load_seconds: float | None
    total: Latency
    stages: dict[str, Latency]
    images_per_second: float

    @property
    def per_image_ms(self) -> float:
        """Median wall time per image of a batch."""
        return self.total.median_ms / self.batch_size

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _CONVERTER.unstructure(self)
        data["per_image_ms"] = self.per_image_ms
        return data


_CONVERTER = cattrs.Converter()


def _percentile(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _check_counts(runs: int, warmup: int, batch_size: int) -> None:
    for name, value, least in (("runs", runs, 1), ("warmup", warmup, 0), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InputError(f"{name} must be a whole number of at least {least}, not {value!r}")


def benchmark_loaded(
    model: Model,
    image: np.ndarray,
    *,
    runs: int = 20,
    warmup: int = 3,
    batch_size: int = 1,
    image_label: str = "array",
    load_seconds: float | None = None,
) -> BenchmarkResult:
    """Time ``model.predict`` on ``image`` (RGB uint8 HxWx3), ``batch_size`` copies of it per call."""
    from modelrt.images import load_image
    from modelrt.timing import StageTimer

    _check_counts(runs, warmup, batch_size)
    image = load_image(image, color="rgb")
    batch: Any = image if batch_size == 1 else [image] * batch_size
    for _ in range(warmup):
        model.predict(batch, color="rgb")
    totals: list[float] = []
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(runs):
        timer = StageTimer()
        start = time.perf_counter()
        model.predict(batch, color="rgb", timer=timer)
        totals.append(time.perf_counter() - start)
        for stage in STAGES:
            per_stage[stage].append(timer.seconds.get(stage, 0.0))
    total = Latency.from_seconds(totals)
    sessions = model.sessions
    return BenchmarkResult(
        model=model.name,
        architecture=model.package.manifest.architecture,
        placements={
            role: RunPlacement(candidate.backend, candidate.device, getattr(sessions.get(role), "provider", ""))
            for role, candidate in model.plan.chosen().items()
        },
        threads=model.plan.options.resolved_threads(),
        precision=model.plan.options.precision,
        image=image_label,
        image_shape=(int(image.shape[0]), int(image.shape[1]), int(image.shape[2])),
        batch_size=batch_size,
        runs=runs,
        warmup=warmup,
        load_seconds=load_seconds,
        total=total,
        stages={stage: Latency.from_seconds(samples) for stage, samples in per_stage.items()},
        images_per_second=1000 * batch_size / total.median_ms,
    )


def benchmark(
    reference: str | os.PathLike[str],
    *,
    image: Any = None,
    runs: int = 20,
    warmup: int = 3,
    batch_size: int = 1,
    **load_options: Any,
) -> BenchmarkResult:
    """Load ``reference`` as ``modelrt.load`` would (``load_options``), then time it.

    ``image`` is anything ``predict`` accepts (decoded once, before timing); ``None`` means a grey
    image of the model's input size. Load-time warm-up is left to ``warmup`` here, so the load time
    reported is the load alone.
    """

    from modelrt.images import load_image
    from modelrt.model import load

    _check_counts(runs, warmup, batch_size)
    start = time.perf_counter()
    model = load(reference, warmup=0, **load_options)
    load_seconds = time.perf_counter() - start
    with model:
        if image is None:
            array = model.grey_image()
            label = f"grey {array.shape[1]}x{array.shape[0]}"
        else:
            array = load_image(image)
            label = os.fspath(image) if isinstance(image, str | os.PathLike) else type(image).__name__
        return benchmark_loaded(
            model,
            array,
            runs=runs,
            warmup=warmup,
            batch_size=batch_size,
            image_label=label,
            load_seconds=load_seconds,
        )


def render_benchmark(result: BenchmarkResult) -> str:
    """A few readable lines for a terminal."""
    placements = ", ".join(
        (f"{role}: " if len(result.placements) > 1 else "") + f"{p.backend} on {p.device} ({p.provider})"
        for role, p in result.placements.items()
    )
    height, width, _ = result.image_shape
    load = f", loaded in {1000 * result.load_seconds:.0f} ms" if result.load_seconds is not None else ""
    lines = [
        f"{result.model} ({result.architecture}): {placements}, {result.threads} threads, precision "
        f"{result.precision}{load}",
        f"image {result.image} ({width}x{height}), batch {result.batch_size}, {result.runs} runs after "
        f"{result.warmup} warm-up",
        f"{'':<8}{'median':>9}{'p90':>9}{'p99':>9}{'min':>9}   (ms per call)",
    ]
    rows: Mapping[str, Latency] = {**result.stages, "total": result.total}
    for name, latency in rows.items():
        lines.append(
            f"{name:<8}{latency.median_ms:>9.2f}{latency.p90_ms:>9.2f}{latency.p99_ms:>9.2f}{latency.min_ms:>9.2f}"
        )
    lines.append(f"throughput {result.images_per_second:.1f} images/s ({result.per_image_ms:.2f} ms per image)")
    return "\n".join(lines)

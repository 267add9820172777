"""``modelrt predict MODEL clip.mp4``: a video (or stream URL) in, one result per frame out.

Frames stream through ``Model.stream`` (decoded in a background thread, every frame of a file in order).
Text output is one result per frame; ``--json`` writes one JSON object per line (JSONL) per frame:
``source``, ``frame`` (index), ``timestamp`` (seconds, from the container), then the result's fields.
``--save out.mp4`` writes the annotated video at the source's frame rate and size (codecs in
``modelrt.video.writer``); ``--save DIR`` writes ``DIR/<name>.annotated.mp4``. A progress bar with
frames/s shows on a terminal, and a summary line on stderr ends the run: frames, mean and p90 latency
per stage, effective frames/s, dropped and skipped frames.
"""

from __future__ import annotations

import argparse
import array
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrt.cli_inputs import PredictInputs
from modelrt.cli_output import document_stream, escaped, result_data, to_json, whole_writes
from modelrt.cli_progress import Progress, progress
from modelrt.errors import InputError

if TYPE_CHECKING:
    from modelrt.results import Prediction
    from modelrt.video.frames import FrameInfo
    from modelrt.video.stream import StreamStats

__all__ = ["ANNOTATED_VIDEO_SUFFIX", "run_video"]

ANNOTATED_VIDEO_SUFFIX = ".annotated.mp4"
#: Stages in the summary, in the order a frame goes through them.
_STAGES = ("read", "decode", "pre", "run", "post")


def run_video(args: argparse.Namespace, load_options: Mapping[str, Any], inputs: PredictInputs) -> int:
    """Predict every frame of the one video among ``inputs``; 0 when the source ended normally (errors raise)."""
    from modelrt.cli_predict import model_overrides
    from modelrt.model import load

    video = _only_video(inputs)
    save_path = _save_path(Path(args.save), video) if args.save else None
    if save_path is not None and save_path.exists() and not args.overwrite:
        raise InputError(
            f"--save would replace {escaped(str(save_path))}, a file that already exists; "
            "pass --overwrite to replace it, or save elsewhere"
        )
    with load(args.model, **load_options) as model:
        overrides = model_overrides(args, model)
        with model.stream(video, batch=args.batch, **overrides) as frames:
            source = frames.source
            summary = _Summary(source.name)
            writer = None
            saved = None
            try:
                if save_path is not None:
                    from modelrt.video.writer import AnnotatedVideoWriter

                    writer = AnnotatedVideoWriter(save_path, source.fps, source.size, overwrite=args.overwrite)
                with progress(source.frame_count or 0, unit="frame") as bar:
                    for info, frame, prediction in frames:
                        if writer is not None:
                            writer.write(_annotated(frame, prediction))
                        _report(info, prediction, args.json, bar)
                        summary.add(info)
                        bar.advance()
                if writer is not None:
                    writer.finish()
                    writer, saved = None, save_path
            finally:
                if writer is not None:
                    writer.discard()
                summary.print(frames.stats, saved)
    return 0


def _only_video(inputs: PredictInputs) -> str:
    """The video to predict; ``InputError`` when it comes with other inputs (a video is predicted alone)."""
    others = [image.name for image in inputs.images] + [problem.name for problem in inputs.problems]
    if len(inputs.videos) > 1 or others:
        given = ", ".join(escaped(name) for name in [*inputs.videos, *others][:4])
        raise InputError(
            f"a video is predicted on its own, but more inputs were given ({given}, ...); "
            "run one command per video, and one for the images"
        )
    return inputs.videos[0]


def _save_path(target: Path, video: str) -> Path:
    """``--save FILE.mp4`` as given; anything else is a directory that gets ``<name>.annotated.mp4``."""
    from modelrt.video.writer import VIDEO_CODECS

    if target.suffix.lower() in VIDEO_CODECS:
        return target
    if target.suffix and not target.is_dir():
        raise InputError(
            f"--save {escaped(str(target))}: a video is saved as {', '.join(VIDEO_CODECS)}, or into a directory"
        )
    stem = Path(video).stem if "://" not in video else "stream"
    return target / f"{stem}{ANNOTATED_VIDEO_SUFFIX}"


def _annotated(frame: Any, prediction: Prediction) -> Any:
    from modelrt.annotate import annotate

    return annotate(frame[:, :, ::-1], prediction)[:, :, ::-1]  # annotate draws on RGB; video frames are BGR


def _report(info: FrameInfo, prediction: Prediction, as_json: bool, bar: Progress) -> None:
    if as_json:
        record = {"source": info.source, "frame": info.index, "timestamp": round(info.timestamp, 6)}
        record.update(result_data(prediction))
        stream = document_stream()
        with whole_writes():
            stream.write(to_json(record, indent=None) + "\n")
            stream.flush()
        return
    from modelrt.cli_predict import describe

    bar.print(describe(f"{info.source} frame {info.index} ({info.timestamp:.3f} s)", prediction))


class _Summary:
    """Per-frame stage latencies and the wall time of the run, for the closing line."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._started = time.perf_counter()
        # Eight bytes per stage and frame: an hour of a 30 frames/s camera holds about 4 MB.
        self._seconds = {stage: array.array("d") for stage in _STAGES}

    def add(self, info: FrameInfo) -> None:
        for stage, samples in self._seconds.items():
            samples.append(info.stage_seconds.get(stage, 0.0))

    def print(self, stats: StreamStats, saved: Path | None) -> None:
        import numpy as np

        elapsed = time.perf_counter() - self._started
        frames = stats.predicted
        rate = frames / elapsed if elapsed > 0 else 0.0
        parts = [f"{escaped(self._name)}: {frames} frames in {elapsed:.2f} s ({rate:.1f} frames/s)"]
        if frames:
            latency = ", ".join(
                f"{stage} {np.mean(samples) * 1000:.2f}/{np.percentile(samples, 90) * 1000:.2f}"
                for stage, samples in self._seconds.items()
            )
            parts.append(f"ms per frame mean/p90: {latency}")
        parts.append(f"dropped {stats.dropped}, skipped {stats.skipped}")
        if saved is not None:
            parts.append(f"saved {escaped(str(saved))}")
        print("; ".join(parts), file=sys.stderr, flush=True)

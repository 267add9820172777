"""Frames per second over a video: ``Model.stream`` against a plain read-then-predict loop, and
Ultralytics' ``predict(stream=True)`` on the same ONNX file in its own environment.

    python -m benchmarks.video_stream [--onnx yolov8n.onnx] [--frames 300] [--batch 1]
                                      [--ultralytics-python /path/to/venv/bin/python]

The video is written once under ``benchmarks/.cache/video``: ``--frames`` frames of 1280x720 at 30 frames/s,
the demo's coffee picture sliding across the frame (codec mp4v). Without ``--onnx``, YOLOv8n is built with
``benchmarks/tools/export_yolov8n.py`` (random weights calibrated so 300 anchors pass on the demo
picture) by the Ultralytics Python. All runs are on CPU, one after the other, each after one warm-up
prediction; the ratios printed at the end are the ones to report, from the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import envs, floor
from benchmarks.models import DEMO_IMAGE, read_rgb

VIDEO_DIR = envs.CACHE / "video"
WIDTH, HEIGHT, FPS = 1280, 720, 30.0
DEFAULT_ULTRALYTICS_PYTHON = Path("/tmp/ul/bin/python")

#: Runs in the Ultralytics environment: frames/s of ``predict(stream=True)`` over the video, as JSON.
_ULTRALYTICS_LOOP = """
import json, os, sys, time
os.environ.setdefault("YOLO_OFFLINE", "1")
from ultralytics import YOLO
model = YOLO(sys.argv[1], task="detect")
next(iter(model.predict(source=sys.argv[2], stream=True, verbose=False, device="cpu")))  # warm-up
started = time.perf_counter()
frames = sum(1 for _ in model.predict(source=sys.argv[2], stream=True, verbose=False, device="cpu"))
print(json.dumps({"frames": frames, "seconds": time.perf_counter() - started}))
"""


def synthetic_video(frames: int) -> Path:
    """The benchmark video, written once per frame count."""
    import cv2

    path = VIDEO_DIR / f"coffee-{WIDTH}x{HEIGHT}-{frames}.mp4"
    if path.exists():
        return path
    VIDEO_DIR.mkdir(parents=True, exist_ok=True)
    picture = cv2.resize(read_rgb(DEMO_IMAGE)[:, :, ::-1], (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    partial = path.with_suffix(".partial.mp4")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for index in range(frames):
        writer.write(np.roll(picture, index * 4, axis=1))
    writer.release()
    partial.rename(path)
    return path


def build_yolov8n(python: Path) -> Path:
    """YOLOv8n exported by ``benchmarks/tools/export_yolov8n.py`` in the Ultralytics environment."""
    directory = VIDEO_DIR / "yolov8n"
    onnx_file = directory / "export" / "yolov8n.onnx"
    if onnx_file.exists():
        return onnx_file
    directory.mkdir(parents=True, exist_ok=True)
    tensor, *_ = floor.letterbox(read_rgb(DEMO_IMAGE))
    np.save(directory / "calibration.npy", tensor)
    tool = Path(__file__).with_name("tools") / "export_yolov8n.py"
    command = [str(python), str(tool), "--calibration", str(directory / "calibration.npy"), "--out"]
    subprocess.run([*command, str(directory / "export")], check=True, capture_output=True, text=True)
    return onnx_file


def modelrt_stream(onnx_file: Path, video: Path, batch: int) -> tuple[int, float]:
    import modelrt

    with modelrt.load(onnx_file, device="cpu", warmup=1) as model:
        started = time.perf_counter()
        with model.stream(video, batch=batch) as stream:
            frames = sum(1 for _ in stream)
        return frames, time.perf_counter() - started


def plain_loop(onnx_file: Path, video: Path) -> tuple[int, float]:
    """What a user writes without ``stream``: decode a frame, predict it, repeat."""
    import cv2

    import modelrt

    with modelrt.load(onnx_file, device="cpu", warmup=1) as model:
        capture = cv2.VideoCapture(str(video))
        started = time.perf_counter()
        frames = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            model.predict(frame)
            frames += 1
        capture.release()
        return frames, time.perf_counter() - started


def ultralytics_stream(python: Path, onnx_file: Path, video: Path) -> tuple[int, float]:
    completed = subprocess.run(
        [str(python), "-c", _ULTRALYTICS_LOOP, str(onnx_file), str(video)], capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return int(result["frames"]), float(result["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, help="the YOLOv8n ONNX file (default: build one with Ultralytics)")
    parser.add_argument("--frames", type=int, default=300, help="frames in the video (default 300)")
    parser.add_argument("--batch", type=int, default=1, help="frames per network call for Model.stream (default 1)")
    parser.add_argument(
        "--ultralytics-python",
        type=Path,
        default=DEFAULT_ULTRALYTICS_PYTHON,
        help="Python of an environment with ultralytics; the comparison is left out when it is absent",
    )
    args = parser.parse_args(argv)
    has_ultralytics = args.ultralytics_python.exists()
    if args.onnx is None and not has_ultralytics:
        parser.error("pass --onnx, or --ultralytics-python to build YOLOv8n")
    onnx_file = args.onnx or build_yolov8n(args.ultralytics_python)
    video = synthetic_video(args.frames)
    rates: dict[str, float] = {}
    runs = {
        f"modelrt stream (batch {args.batch})": lambda: modelrt_stream(onnx_file, video, args.batch),
        "plain read + predict loop": lambda: plain_loop(onnx_file, video),
    }
    if has_ultralytics:
        runs["ultralytics predict(stream=True)"] = lambda: ultralytics_stream(args.ultralytics_python, onnx_file, video)
    for name, run in runs.items():
        frames, seconds = run()
        rates[name] = frames / seconds
        print(f"{name:<36} {frames} frames in {seconds:6.2f} s = {rates[name]:6.1f} frames/s", flush=True)
    stream_rate = next(iter(rates.values()))
    for name, rate in list(rates.items())[1:]:
        print(f"modelrt stream / {name}: {stream_rate / rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

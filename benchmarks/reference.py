"""The reference runtime (inference-models) as a variant of the interleaved run, in its own process.

It cannot share our process (it needs torch, and its onnxruntime is capped below 1.23), so a worker
(``tools/inference_models_worker.py``) runs in its environment on the same image and thread count,
and times each call itself: the round trip between the processes is not charged to it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import IO, Any

import numpy as np

from benchmarks import envs

WORKER = Path(__file__).with_name("tools") / "inference_models_worker.py"
LOG = envs.CACHE / "logs" / "inference-models-worker.log"


class ReferenceWorker:
    """A running inference-models worker; use as a context manager."""

    def __init__(
        self,
        package: Path,
        image: Path,
        threads: int,
        confidence: float,
        iou: float,
        max_detections: int,
        python: Path | None = None,
    ) -> None:
        command = [
            str(python or envs.require(envs.INFERENCE_MODELS)),
            str(WORKER),
            "--package",
            str(package),
            "--image",
            str(image),
            "--threads",
            str(threads),
            "--confidence",
            str(confidence),
            "--iou",
            str(iou),
            "--max-detections",
            str(max_detections),
        ]
        # Its log goes to a file: a pipe nobody reads would fill up and stall the worker.
        LOG.parent.mkdir(parents=True, exist_ok=True)
        with LOG.open("w") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
            )
        self.info: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] = self._process.stdout  # type: ignore[assignment]
        line = stdout.readline()
        if not line:
            self._process.wait(timeout=30)
            raise RuntimeError(f"the inference-models worker stopped; its log:\n{LOG.read_text()[-4000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin: IO[str] = self._process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        return self._read()

    def detections(self, batch: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The detections of the image (the first of a batch): xyxy, confidence, class id."""
        reply = self._ask({"op": "detect", "batch": batch})
        return (
            np.asarray(reply["xyxy"], np.float32).reshape(-1, 4),
            np.asarray(reply["confidence"], np.float32),
            np.asarray(reply["class_id"], np.int64),
        )

    def time_once(self, batch: int = 1) -> dict[str, float]:
        """Seconds of one call, per stage and in total, measured in the worker."""
        return {name: float(value) for name, value in self._ask({"op": "time", "batch": batch}).items()}

    def time_session_run(self) -> dict[str, float]:
        """Seconds of the reference's own onnxruntime ``session.run`` on its pre-processed tensor."""
        return {name: float(value) for name, value in self._ask({"op": "time-session"}).items()}

    def close(self) -> None:
        if self._process.poll() is None:
            stdin: IO[str] = self._process.stdin  # type: ignore[assignment]
            stdin.write(json.dumps({"op": "quit"}) + "\n")
            stdin.close()
            self._process.wait(timeout=30)

    def __enter__(self) -> ReferenceWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

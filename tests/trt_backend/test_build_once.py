"""Two processes that build the same engine build it once; a build killed midway leaves nothing served.

Each process runs the real backend code against the fake TensorRT and CUDA, with a build that takes a
second (long enough for the other process to arrive while it runs) and notes each real build in a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelrt_trt.testing.gpu_stack import scaling_onnx

BUILDER = r"""
import hashlib, json, sys, time
from pathlib import Path

import pytest

from modelrt.backend import Artifact, BuildRequest
from modelrt.devices import Device
from modelrt.options import RunOptions
import modelrt_trt.builder as builder
from modelrt_trt import backend
from modelrt_trt.testing.gpu_stack import nvidia_environment, use_fake_gpu_stack

model, log = Path(sys.argv[1]), Path(sys.argv[2])
state = use_fake_gpu_stack(pytest.MonkeyPatch())
real_build = builder.build_plan

def slow_build(*args, **kwargs):
    with log.open("a") as file:
        file.write(f"{sys.argv[3]}\n")
    time.sleep(1.0)
    return real_build(*args, **kwargs)

builder.build_plan = slow_build
trt = backend.TensorRTBackend()
assert trt.availability(nvidia_environment(state), Device.parse("cuda:0")).usable
data = model.read_bytes()
artifact = Artifact("main", "onnx", model, model.parent, size=len(data), sha256=hashlib.sha256(data).hexdigest())
outcome = trt.build(artifact, Device.parse("cuda:0"), RunOptions(), BuildRequest(precision="fp32"))
print(json.dumps({"cached": outcome.cached, "engine": str(outcome.engine)}))
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return scaling_onnx(tmp_path / "model.onnx", batch=1)


def start(model: Path, log: Path, name: str, cache: Path) -> subprocess.Popen[str]:
    environ = {**os.environ, "MODELRT_CACHE": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(model), str(log), name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, object]:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return json.loads(stdout)  # type: ignore[no-any-return]


def test_two_processes_building_one_engine_build_it_once(model: Path, tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    first, second = (start(model, log, name, tmp_path / "cache") for name in ("first", "second"))
    results = [finish(first), finish(second)]
    assert len(log.read_text().splitlines()) == 1
    assert sorted(result["cached"] for result in results) == [False, True]
    assert results[0]["engine"] == results[1]["engine"]


def test_a_build_killed_midway_leaves_nothing_that_is_served(model: Path, tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    victim = start(model, log, "victim", tmp_path / "cache")
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert list((tmp_path / "cache").rglob("model.engine")) == []
    result = finish(start(model, log, "survivor", tmp_path / "cache"))
    assert result["cached"] is False
    assert log.read_text().splitlines() == ["victim", "survivor"]

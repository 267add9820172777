"""Killed downloads, concurrent cold loads and full disks never leave a file that is later served as valid.

The processes here are real ones (``python -c``) talking to the emulator, which counts what they fetch;
each runs under a timeout.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import NotCachedError, StorageError

from .conftest import SIDE, classifier_onnx, image, package_files, start_python
from .emulator import HubEmulator

PADDING = 2 * 1024 * 1024
PREDICT = (
    "import json, numpy, modelrt\n"
    "with modelrt.load('hf://org/big', device='cpu') as model:\n"
    f"    result = model.predict(numpy.full(({SIDE * 2}, {SIDE * 3}, 3), 100, numpy.uint8))\n"
    "print(json.dumps(result.probabilities.tolist()))\n"
)


def padded_model() -> bytes:
    """The test classifier with 2 MiB of unused weights, so a throttled transfer takes a few seconds."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(classifier_onnx())
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(PADDING // 4, np.float32), "unused_padding"))
    return model.SerializeToString()


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting for the clients"
        time.sleep(0.01)


def test_a_download_killed_with_sigkill_is_never_served_and_a_fresh_load_fetches_it_whole(
    hub: HubEmulator, tmp_path: Path
) -> None:
    model = padded_model()
    hub.publish("org/big", package_files(model))
    resume = threading.Event()
    hub.pause_after["model.onnx"] = (256 * 1024, resume)  # the transfer stops there until the kill
    process = start_python(PREDICT)
    try:
        wait_until(lambda: hub.bytes_sent("model.onnx") >= 256 * 1024)
    finally:
        process.kill()
        process.wait(timeout=30)
        resume.set()
    assert 0 < hub.bytes_sent("model.onnx") < len(model)  # provably cut in the middle
    partial = list((tmp_path / "hf-cache").rglob("*.incomplete"))
    assert partial and all(path.stat().st_size < len(model) for path in partial)
    with pytest.raises(NotCachedError):
        modelrt.load("hf://org/big", offline=True)
    del hub.pause_after["model.onnx"]
    with modelrt.load("hf://org/big", device="cpu") as loaded:
        assert loaded.predict(image()).probabilities.shape == (3,)
    assert [entry.bytes_sent for entry in hub.downloads("model.onnx")][-1] == len(model)


def test_two_processes_loading_one_cold_model_download_it_once_and_agree(hub: HubEmulator) -> None:
    hub.publish("org/big", package_files(padded_model()))
    gate = hub.gates["model.onnx"] = threading.Event()  # no byte of the artifact until both have started
    processes = [start_python(PREDICT) for _ in range(2)]
    try:
        wait_until(lambda: sum(entry.path == "modelrt.json" and entry.method == "HEAD" for entry in hub.log) == 2, 60)
    finally:
        gate.set()
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs.append(json.loads(stdout))
    assert outputs[0] == outputs[1]
    assert len(hub.downloads("model.onnx")) == 1
    assert len(hub.downloads("modelrt.json")) == 1


def test_a_full_disk_under_huggingface_hub_is_a_storage_error_and_leaves_nothing_half_written(
    hub: HubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.file_download as file_download

    real_http_get = file_download.http_get

    class FullDisk:
        def __init__(self, file: object) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            self.file.write(data[:10])  # type: ignore[attr-defined]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name: str) -> object:
            return getattr(self.file, name)

    def http_get_on_a_full_disk(url: str, temp_file: object, **options: object) -> None:
        writer = FullDisk(temp_file) if "/cdn/" in url else temp_file
        real_http_get(url, writer, **options)

    hub.publish("org/tiny", package_files())
    monkeypatch.setattr(file_download, "http_get", http_get_on_a_full_disk)
    with pytest.raises(StorageError, match=r"cannot write the huggingface-hub cache .*hf-cache.*No space left"):
        modelrt.load("hf://org/tiny")
    leftovers = [path.name for path in (tmp_path / "hf-cache").rglob("blobs/*")]
    assert len(leftovers) == 1 and not leftovers[0].endswith(".incomplete")  # the manifest only
    monkeypatch.setattr(file_download, "http_get", real_http_get)
    with modelrt.load("hf://org/tiny", device="cpu") as loaded:
        loaded.predict(image())


def test_hub_models_load_when_only_the_huggingface_hub_cache_is_writable(
    hub: HubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the modelrt cache's parent should be")
    monkeypatch.setenv("MODELRT_CACHE", str(blocker / "modelrt"))
    hub.publish("org/tiny", package_files())
    with caplog.at_level(logging.WARNING, logger="modelrt.hub"), modelrt.load("hf://org/tiny", device="cpu") as model:
        online = model.predict(image()).probabilities
    assert str(blocker / "modelrt") in caplog.text
    with modelrt.load("hf://org/tiny", device="cpu", offline=True) as model:
        np.testing.assert_array_equal(model.predict(image()).probabilities, online)

"""The model on Ray Serve over HTTP: the answers of ``modelrt predict --json``, batched, and a 4xx for bad uploads."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .conftest import IMAGES, free_port

#: A Ray that hangs (actors waiting for CPUs that never free up) fails here instead of stalling CI.
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def server(ray_session: Any, models: dict[str, Path]) -> Iterator[str]:
    """The classifier served on 127.0.0.1; batches wait up to 0.3 s so concurrent requests share one."""
    from ray import serve

    from modelrt.ray.serve import start_server

    url = start_server(models["classifier"], port=free_port(), max_batch_size=8, batch_wait_timeout_s=0.3, num_cpus=0)
    try:
        yield url
    finally:
        serve.shutdown()


def _post(url: str, data: bytes, content_type: str = "application/octet-stream") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n\r\n'
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _predict_json_record(model: Path, image: str, cwd: Path, stdin: bytes | None = None) -> str:
    """The record ``modelrt predict MODEL IMAGE --json`` writes for the image, as the text it writes."""
    command = [sys.executable, "-m", "modelrt", "predict", str(model), image, "--json"]
    completed = subprocess.run(command, input=stdin, capture_output=True, cwd=cwd, check=True)
    record = json.loads(completed.stdout)["results"][0]
    return json.dumps(record, indent=None)


def test_a_body_gets_the_record_modelrt_predict_json_writes_for_stdin(server: str, models: dict[str, Path]) -> None:
    status, body = _post(server, IMAGES[1].read_bytes())
    assert status == 200
    assert json.loads(body) == json.loads(
        _predict_json_record(models["classifier"], "-", IMAGES[1].parent, IMAGES[1].read_bytes())
    )


def test_an_uploaded_file_gets_the_record_predict_writes_for_that_file(server: str, models: dict[str, Path]) -> None:
    status, body = _post(server, *_multipart(IMAGES[2].name, IMAGES[2].read_bytes()))
    assert status == 200
    assert json.loads(body) == json.loads(_predict_json_record(models["classifier"], IMAGES[2].name, IMAGES[2].parent))


def test_concurrent_requests_are_answered_each_with_its_own_image_and_batched(server: str) -> None:
    images = [IMAGES[index % len(IMAGES)] for index in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda path: _post(server, *_multipart(path.name, path.read_bytes())), images))
    assert [status for status, _ in answers] == [200] * 8
    assert [json.loads(body)["image"] for _, body in answers] == [path.name for path in images]
    with urllib.request.urlopen(server + "health", timeout=30) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok"
    assert max(int(size) for size in health["batch_sizes"]) > 1


def test_a_bad_upload_is_a_400_saying_why(server: str) -> None:
    status, body = _post(server, *_multipart("notes.txt", b"this is not an image"))
    assert status == 400
    assert "not a usable image" in json.loads(body)["error"]


def test_an_empty_body_is_a_400_and_another_method_a_405(server: str) -> None:
    assert _post(server, b"")[0] == 400
    request = urllib.request.Request(server, method="PUT", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405

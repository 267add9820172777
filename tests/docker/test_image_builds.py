"""Build the cpu image and run it, where a Docker daemon answers (marked ``docker``; skipped elsewhere).

The GPU and Jetson images build only on their hardware (an NVIDIA GPU host, a Jetson on its JetPack)
and have no test here; docker/README.md says so.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from modelrt.docker_images import CPU_IMAGE

from .conftest import REPO

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_daemon")]


@pytest.fixture(scope="module")
def cpu_image() -> str:
    subprocess.run(CPU_IMAGE.build_command.split(), cwd=REPO, check=True, timeout=1800)
    return CPU_IMAGE.tag


def test_cpu_image_runs_modelrt_env_and_names_itself(cpu_image: str) -> None:
    completed = subprocess.run(
        ["docker", "run", "--rm", cpu_image, "modelrt", "env", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report = json.loads(completed.stdout)
    assert report["image"]["image"] == "cpu-onnx"
    assert report["findings"][0]["row"] == "cpu-x86_64-linux"
    assert {plugin["name"]: plugin["status"] for plugin in report["plugins"]}["onnx"] == "ok"


def test_cpu_image_runs_as_a_non_root_user(cpu_image: str) -> None:
    completed = subprocess.run(
        ["docker", "run", "--rm", cpu_image, "id", "-u"], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == "10001"


def test_cpu_image_predicts_with_a_demo_package(cpu_image: str) -> None:
    packages = REPO / "demo" / "packages" / "text-detector"
    if not packages.is_dir():
        pytest.skip("the demo packages are made by `make demo`; run it first")
    completed = subprocess.run(
        [
            "docker", "run", "--rm",
            "-v", f"{REPO / 'demo'}:/demo:ro",
            cpu_image, "modelrt", "predict", "/demo/packages/text-detector", "/demo/images/page.png", "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )  # fmt: skip
    assert json.loads(completed.stdout)["results"]

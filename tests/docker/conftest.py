"""Fixtures for the Docker images' tests: the repository root, and the skip of ``docker``-marked tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILES = sorted(DOCKER.glob("*/Dockerfile"))


def docker_daemon_reason() -> str | None:
    """Why no image can be built here, or ``None`` when a Docker daemon answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        last_line = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker daemon: {last_line}"
    return None


@pytest.fixture(scope="session")
def docker_daemon() -> None:
    reason = docker_daemon_reason()
    if reason is not None:
        pytest.skip(reason)

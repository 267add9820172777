from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "demo" / "images"
BIN = Path(sys.executable).parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m modelrt ARGS` the way a user would, capturing its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "modelrt", *args], capture_output=True, text=True, env=full_env, check=False
    )


@pytest.fixture(scope="session")
def demo_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's two real models, packaged by the same script `make demo` runs."""
    out = tmp_path_factory.mktemp("packages")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(["bash", str(REPO / "demo" / "package_models.sh"), str(out)], check=True, env=env)
    return out


@pytest.fixture(scope="session")
def reference_text_lines() -> list[dict[str, object]]:
    return json.loads((REPO / "tests" / "data" / "page_text_lines.json").read_text())["lines"]

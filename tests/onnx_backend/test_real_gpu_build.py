"""The real onnxruntime-gpu on a host without CUDA: its silent fallback to the CPU is caught and explained.

onnxruntime-gpu offers ``CUDAExecutionProvider`` on any host and, when the CUDA libraries cannot be loaded,
builds a CPU session with nothing but log lines to say so (``ENVIRONMENT.md``). A fresh venv gets
onnxruntime-gpu from the package registry and sees the rest of this environment (numpy, modelrt) after its
own packages, so ``import onnxruntime`` there is the GPU build; the onnxruntime backend is asked for
``cuda:0`` in it. Where this host can run CUDA the fallback does not happen: the ``gpu`` tests cover that.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest

from modelrt.host_environment import probe_environment
from tools.release.compat import fresh_environ, uv

#: The newest CUDA build on PyPI when this was written; it has no log callback, so its reason is on stderr.
ONNXRUNTIME_GPU = "onnxruntime-gpu==1.31.1"

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import onnxruntime
    from modelrt.backend import Artifact
    from modelrt.devices import Device
    from modelrt.errors import HardwareError
    from modelrt.options import RunOptions
    from modelrt_onnx.backend import OnnxRuntimeBackend

    model = Path(sys.argv[1])
    artifact = Artifact(role="main", format="onnx", file=model, package_root=model.parent)
    try:
        OnnxRuntimeBackend().load(artifact, Device.parse("cuda:0"), RunOptions(threads=1, warmup=0))
        error = None
    except HardwareError as raised:
        error = str(raised)
    print(json.dumps({"onnxruntime": onnxruntime.__file__, "providers": onnxruntime.get_available_providers(),
                      "error": error}))
    """
)


@pytest.fixture(scope="module")
def gpu_build_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with onnxruntime-gpu first and this environment's packages after it."""
    if probe_environment().has_nvidia_gpu:
        pytest.skip("this host has an NVIDIA GPU: onnxruntime-gpu may really run on it (see the gpu tests)")
    venv = tmp_path_factory.mktemp("onnxruntime-gpu") / "venv"
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv(), "pip", "install", "--quiet", "--python", str(python), "--no-deps", ONNXRUNTIME_GPU],
        check=True,
        env=fresh_environ(venv),
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Processed after the venv's own packages, with this environment's .pth files (editable installs).
    this_site = sysconfig.get_paths()["purelib"]
    (Path(site) / "zz_this_environment.pth").write_text(f"import site; site.addsitedir({this_site!r})\n")
    return python


@pytest.mark.network
def test_the_real_silent_fallback_of_onnxruntime_gpu_is_a_hardware_error_quoting_its_reason(
    gpu_build_venv: Path, models: Any
) -> None:
    model = models.affine()
    completed = subprocess.run(
        [str(gpu_build_venv), "-c", PROBE, str(model)],
        capture_output=True,
        text=True,
        check=False,
        env=fresh_environ(gpu_build_venv.parent.parent),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert str(gpu_build_venv.parent.parent) in found["onnxruntime"]  # the GPU build, not this environment's
    assert "CUDAExecutionProvider" in found["providers"]
    error = found["error"]
    assert error is not None, "onnxruntime-gpu ran on the CPU and nothing said so"
    assert "fell back to CPUExecutionProvider" in error
    assert "onnxruntime said: " in error and "Failed to create CUDAExecutionProvider" in error
    assert "Failed to create CUDAExecutionProvider" in completed.stderr  # still shown to the user

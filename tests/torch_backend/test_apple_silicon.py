"""On a Mac, ``device="auto"`` tries MPS before the CPU for architectures marked MPS-capable, and says why not
for the others. The Mac is a fake host root; torch's view of it comes through the capabilities seam.

This CPU-only torch cannot really move a network to MPS, so the MPS load fails here as it would on a Mac
whose MPS breaks: the test sees that failure recorded in the plan and the CPU chosen knowingly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import modelrt
from modelrt.host_environment import Environment, probe_environment
from modelrt.testing.hosts import make_macos_host
from modelrt_torch import capabilities as capabilities_module
from modelrt_torch.capabilities import TorchCapabilities

from .conftest import affine_package


@pytest.fixture
def mac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    mac_build = TorchCapabilities(version=torch.__version__, mps_built=True, mps_available=True)
    monkeypatch.setattr(capabilities_module, "probe_capabilities", lambda _torch: mac_build)
    return probe_environment(make_macos_host(tmp_path / "mac", machine="arm64", mac_ver="15.1"))


def test_auto_on_a_mac_tries_mps_before_the_cpu(mac: Environment, tmp_path: Path) -> None:
    model = modelrt.load(affine_package(tmp_path), backend="torch", environment=mac, warmup=0)
    assert [(c.device, c.status) for c in model.plan.candidates] == [
        ("cuda:0", "unavailable"),
        ("mps", "failed"),
        ("cpu", "chosen"),
    ]
    failed = model.plan.candidates[1]
    assert "could not move affine.pt2 to mps" in failed.reason


def test_an_explicit_mps_device_that_fails_is_an_error_not_the_cpu(mac: Environment, tmp_path: Path) -> None:
    with pytest.raises(modelrt.HardwareError, match=r"could not move affine\.pt2 to mps"):
        modelrt.load(affine_package(tmp_path), backend="torch", device="mps", environment=mac, warmup=0)

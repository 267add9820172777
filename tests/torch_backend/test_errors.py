"""Every foreseeable failure of a torch load, through ``modelrt.load``: a typed error that says what to do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import HardwareError, InputError, NoUsableBackendError, PackageError
from modelrt_torch import capabilities as capabilities_module
from modelrt_torch.capabilities import TorchCapabilities

from .conftest import affine_package, write_exported_program


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return affine_package(tmp_path)


def test_torch_missing_names_the_install_command(monkeypatch: pytest.MonkeyPatch, package: Path) -> None:
    def missing() -> None:
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(capabilities_module, "import_torch", missing)
    with pytest.raises(NoUsableBackendError, match=r'pip install "modelrt\[torch\]"'):
        modelrt.load(package, backend="torch", warmup=0)


@pytest.mark.parametrize(
    "content",
    [b"this is not a torch archive\n" * 8, b"", b"PK\x03\x04" + b"\x00" * 40],
    ids=["garbage", "empty", "zip"],
)
def test_a_corrupt_archive_is_a_package_error(tmp_path: Path, content: bytes) -> None:
    package = affine_package(tmp_path, content)
    with pytest.raises(PackageError, match=r"could not read .*affine.pt2 as exported-program.*export it again"):
        modelrt.load(package, backend="torch", warmup=0)


def test_a_truncated_archive_is_a_package_error(tmp_path: Path) -> None:
    whole = write_exported_program(tmp_path / "whole.pt2").read_bytes()
    package = affine_package(tmp_path, whole[: len(whole) // 2])
    with pytest.raises(PackageError, match="could not read"):
        modelrt.load(package, backend="torch", warmup=0)


def test_wrong_input_to_a_loaded_model_is_an_input_error(package: Path) -> None:
    with modelrt.load(package, backend="torch", warmup=0) as model:
        session = model.sessions["main"]
        with pytest.raises(InputError, match=r"expects x: .* but got x: \[2, 5\] float32"):
            session.run({"x": np.zeros((2, 5), np.float32)})


def test_an_explicit_cuda_device_on_a_cpu_only_build_is_not_replaced_by_the_cpu(
    monkeypatch: pytest.MonkeyPatch, package: Path
) -> None:
    monkeypatch.setattr(capabilities_module, "probe_capabilities", lambda _torch: TorchCapabilities("2.13.0+cpu"))
    with pytest.raises((NoUsableBackendError, HardwareError), match="CPU-only build"):
        modelrt.load(package, backend="torch", device="cuda", warmup=0)


def test_a_closed_model_refuses_to_run(package: Path) -> None:
    model = modelrt.load(package, backend="torch", warmup=0)
    session = model.sessions["main"]
    model.close()
    with pytest.raises(modelrt.ModelClosedError, match="load the model again"):
        session.run({"x": np.zeros((1, 3), np.float32)})

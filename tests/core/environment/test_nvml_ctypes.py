"""Reading NVML through ctypes, against a fake library object that answers as ``libnvidia-ml`` does."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from modelrt.nvidia import nvml
from modelrt.nvidia.gpus import Gpu
from modelrt.nvidia.nvml import read_nvml

SUCCESS, NOT_SUPPORTED, DRIVER_NOT_LOADED, LIBRARY_NOT_FOUND = 0, 3, 9, 12


class FakeNvml:
    """NVML's C functions as ctypes calls them: results are written through the pointers passed."""

    def __init__(self, gpus: list[dict[str, Any]], init_code: int = SUCCESS) -> None:
        self.gpus = gpus
        self.init_code = init_code
        self.shut_down = False

    def nvmlInit_v2(self) -> int:
        return self.init_code

    def nvmlShutdown(self) -> int:
        self.shut_down = True
        return SUCCESS

    def nvmlSystemGetDriverVersion(self, buffer: Any, _length: ctypes.c_uint) -> int:
        buffer.value = b"550.54.14"
        return SUCCESS

    def nvmlSystemGetCudaDriverVersion_v2(self, version: Any) -> int:
        version._obj.value = 12040
        return SUCCESS

    def nvmlDeviceGetCount_v2(self, count: Any) -> int:
        count._obj.value = len(self.gpus)
        return SUCCESS

    def nvmlDeviceGetHandleByIndex_v2(self, index: ctypes.c_uint, handle: Any) -> int:
        handle._obj.value = index.value + 1
        return SUCCESS

    def _gpu(self, handle: ctypes.c_void_p) -> dict[str, Any]:
        return self.gpus[(handle.value or 0) - 1]

    def nvmlDeviceGetName(self, handle: ctypes.c_void_p, buffer: Any, _length: ctypes.c_uint) -> int:
        buffer.value = self._gpu(handle)["name"].encode()
        return SUCCESS

    def nvmlDeviceGetUUID(self, handle: ctypes.c_void_p, buffer: Any, _length: ctypes.c_uint) -> int:
        buffer.value = self._gpu(handle)["uuid"].encode()
        return SUCCESS

    def nvmlDeviceGetCudaComputeCapability(self, handle: ctypes.c_void_p, major: Any, minor: Any) -> int:
        major._obj.value, minor._obj.value = self._gpu(handle)["capability"]
        return SUCCESS

    def nvmlDeviceGetMemoryInfo(self, handle: ctypes.c_void_p, memory: Any) -> int:
        memory._obj.total = self._gpu(handle)["memory"]
        return SUCCESS

    def nvmlDeviceGetPciInfo_v3(self, handle: ctypes.c_void_p, pci: Any) -> int:
        pci._obj.busId = self._gpu(handle)["pci"].encode()
        return SUCCESS

    def nvmlDeviceGetMigMode(self, handle: ctypes.c_void_p, current: Any, _pending: Any) -> int:
        mig = self._gpu(handle)["mig"]
        if mig is None:
            return NOT_SUPPORTED
        current._obj.value = 1 if mig else 0
        return SUCCESS


A100 = {
    "name": "NVIDIA A100-SXM4-80GB",
    "uuid": "GPU-2b2f3c1a-0000-4e2f-9a0c-1d2e3f4a5b6c",
    "capability": (8, 0),
    "memory": 85_899_345_920,
    "pci": "00000000:07:00.0",
    "mig": True,
}
RTX_3090 = {**A100, "name": "NVIDIA GeForce RTX 3090", "capability": (8, 6), "mig": None}


def test_nvml_gives_the_driver_the_cuda_it_supports_and_every_gpu() -> None:
    library = FakeNvml([A100, RTX_3090])
    reading = read_nvml(library)
    assert (reading.driver_version, reading.cuda_driver_version, reading.error) == ("550.54.14", "12.4", None)
    assert reading.gpus[0] == Gpu(
        index=0,
        name="NVIDIA A100-SXM4-80GB",
        uuid="GPU-2b2f3c1a-0000-4e2f-9a0c-1d2e3f4a5b6c",
        compute_capability="8.0",
        memory_bytes=85_899_345_920,
        pci_bus_id="00000000:07:00.0",
        mig_mode=True,
    )
    assert (reading.gpus[1].compute_capability, reading.gpus[1].mig_mode) == ("8.6", None)
    assert library.shut_down


@pytest.mark.parametrize("code", [DRIVER_NOT_LOADED, LIBRARY_NOT_FOUND])
def test_nvml_that_fails_to_initialise_is_an_error_reading_not_an_exception(code: int) -> None:
    reading = read_nvml(FakeNvml([A100], init_code=code))
    assert reading.gpus == () and reading.driver_version is None
    assert reading.error is not None and f"NVML error {code}" in reading.error


def test_a_driver_lacking_a_query_leaves_only_that_fact_unknown() -> None:
    class OldDriver(FakeNvml):
        nvmlDeviceGetMigMode = None  # type: ignore[assignment]  # calling it raises TypeError
        nvmlSystemGetCudaDriverVersion_v2 = property()  # type: ignore[assignment]  # reading it raises

    reading = read_nvml(OldDriver([A100]))
    assert reading.cuda_driver_version is None and reading.error is None
    assert (reading.gpus[0].name, reading.gpus[0].mig_mode) == ("NVIDIA A100-SXM4-80GB", None)


def test_a_library_object_without_nvml_functions_is_an_error_reading() -> None:
    reading = read_nvml(object())
    assert reading.error is not None and "did not initialise" in reading.error


def test_a_host_without_libnvidia_ml_gets_no_library_and_the_loaders_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "NVML_LIBRARY_NAMES", ("libnvidia-ml-absent.so.1",))
    library, reason = nvml.load_nvml_library()
    assert library is None
    assert reason is not None and reason.startswith("NVML could not be loaded (libnvidia-ml-absent.so.1:")

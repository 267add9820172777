"""``CUDA_VISIBLE_DEVICES`` applied to NVML's GPUs as the CUDA driver applies it."""

from __future__ import annotations

import pytest

from modelrt.nvidia.gpus import Gpu
from modelrt.nvidia.visible import apply_visible_devices

GPUS = tuple(Gpu(index=index, uuid=f"GPU-{index}abc-0000") for index in range(3))


@pytest.mark.parametrize(
    ("value", "cuda_indexes"),
    [
        (None, [0, 1, 2]),
        ("", [None, None, None]),
        ("-1", [None, None, None]),
        ("2,0", [1, None, 0]),
        ("1", [None, 0, None]),
        ("GPU-2abc", [None, None, 0]),
        ("1,-1,2", [None, 0, None]),
        ("0,7,1", [0, None, None]),
        ("1,1", [None, 0, None]),
        ("MIG-3f2e", [None, None, None]),
    ],
)
def test_each_gpu_gets_the_cuda_ordinal_the_process_sees(value: str | None, cuda_indexes: list[int | None]) -> None:
    assert [gpu.cuda_index for gpu in apply_visible_devices(GPUS, value)] == cuda_indexes


def test_an_ambiguous_uuid_prefix_names_no_gpu() -> None:
    assert [gpu.cuda_index for gpu in apply_visible_devices(GPUS, "GPU-")] == [None, None, None]

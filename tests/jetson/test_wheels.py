"""The Jetson wheel index, computed from the detected JetPack and CUDA."""

from __future__ import annotations

import pytest

from modelrt_jetson.wheels import wheel_index_url


@pytest.mark.parametrize(
    ("jetpack_major", "cuda", "url"),
    [
        (6, "12.6.68", "https://pypi.jetson-ai-lab.io/jp6/cu126"),
        (6, "12.6", "https://pypi.jetson-ai-lab.io/jp6/cu126"),
        (6, "12.2.140", "https://pypi.jetson-ai-lab.io/jp6/cu122"),
        (7, "13.0.48", "https://pypi.jetson-ai-lab.io/sbsa/cu130"),
    ],
)
def test_the_index_path_is_the_jetpack_major_and_cuda_major_minor(jetpack_major: int, cuda: str, url: str) -> None:
    assert wheel_index_url(jetpack_major, cuda) == url


@pytest.mark.parametrize(("jetpack_major", "cuda"), [(5, "11.4.315"), (4, "10.2.300"), (None, "12.6"), (6, None)])
def test_no_index_is_offered_where_none_fits(jetpack_major: int | None, cuda: str | None) -> None:
    assert wheel_index_url(jetpack_major, cuda) is None

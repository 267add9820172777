"""On a real Jetson only (marked ``jetson``; skipped elsewhere): the live board as the plugin sees it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelrt.host import Host
from modelrt_jetson import JetsonFacts
from modelrt_jetson.probe import probe_jetson

_LIVE = probe_jetson(Host())

pytestmark = [
    pytest.mark.jetson,
    pytest.mark.skipif(_LIVE is None or not _LIVE.is_jetson, reason="needs a real NVIDIA Jetson"),
]


@pytest.fixture
def live() -> JetsonFacts:
    assert _LIVE is not None
    return _LIVE


def test_the_board_names_its_l4t_jetpack_and_soc(live: JetsonFacts) -> None:
    assert live.l4t is not None, live.unknown
    assert live.jetpack_major is not None
    assert live.soc is not None and live.gpu_compute_capability is not None


def test_bare_metal_the_module_is_identified_from_the_device_tree(live: JetsonFacts) -> None:
    if live.in_container:
        pytest.skip("containers hide the device tree")
    assert live.module_part is not None, live.unknown


def test_the_system_tensorrt_found_is_a_real_file(live: JetsonFacts) -> None:
    if live.tensorrt_library is None:
        pytest.skip(f"no system TensorRT: {live.unknown.get('tensorrt')}")
    assert Path(live.tensorrt_library).is_file()
    assert live.tensorrt is not None and live.tensorrt.count(".") >= 1


def test_the_table_agrees_with_tensorrt_on_dla_cores(live: JetsonFacts) -> None:
    binding = live.bindings_for(".".join(map(str, sys.version_info[:2])))
    if live.dla_cores is None or binding is None:
        pytest.skip("no DLA count in the table, or no TensorRT bindings for this Python")
    code = (
        f"import sys; sys.path.insert(0, {str(Path(binding.path).parent)!r}); import tensorrt as trt; "
        "print(trt.Builder(trt.Logger(trt.Logger.ERROR)).num_DLA_cores)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert int(completed.stdout.strip().splitlines()[-1]) == live.dla_cores


def test_modelrt_env_judges_the_board_with_a_jetson_row() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "modelrt", "env", "--json"], capture_output=True, text=True, check=True, timeout=120
    )
    rows = [finding["row"] for finding in json.loads(completed.stdout)["findings"]]
    assert rows and rows[0].startswith("jetson")
    assert "cpu-aarch64-linux" not in rows

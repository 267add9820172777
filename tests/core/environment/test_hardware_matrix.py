"""The hardware compatibility matrix of the design, kept as data with stable row ids."""

from __future__ import annotations

from modelrt.hardware_matrix import HARDWARE_MATRIX, OFF_MATRIX_ROWS, find_row
from modelrt.specs import Status

DESIGN_ROWS = {
    "cpu-x86_64-linux": Status.STABLE,
    "cpu-x86_64-macos": Status.STABLE,
    "cpu-apple-silicon-macos": Status.STABLE,
    "nvidia-ubuntu": Status.STABLE,
    "nvidia-other-linux": Status.REQUIRES_VERIFICATION,
    "jetson-jp61-docker": Status.STABLE,
    "jetson-jp61-bare-metal": Status.EXPERIMENTAL,
    "jetson-jp51-docker": Status.STABLE,
    "jetson-jp51-bare-metal": Status.NOT_POSSIBLE,
    "windows": Status.NOT_TESTED,
}


def test_the_matrix_holds_the_design_rows_with_their_status_in_order() -> None:
    assert {row.id: row.status for row in HARDWARE_MATRIX} == DESIGN_ROWS
    assert [row.id for row in HARDWARE_MATRIX] == list(DESIGN_ROWS)


def test_row_ids_are_unique_and_distinct_from_off_matrix_ids() -> None:
    ids = [row.id for row in HARDWARE_MATRIX]
    assert len(ids) == len(set(ids))
    assert not set(ids) & set(OFF_MATRIX_ROWS)


def test_apple_silicon_notes_that_mps_is_experimental() -> None:
    row = find_row("cpu-apple-silicon-macos")
    assert row is not None and "MPS is experimental" in row.note


def test_nvidia_ubuntu_notes_its_cuda_needs() -> None:
    row = find_row("nvidia-ubuntu")
    assert row is not None and row.os == "Ubuntu 22.04 / 24.04" and "CUDA 11.8 or 12.x" in row.note


def test_find_row_is_none_for_an_off_matrix_id() -> None:
    assert find_row("cpu-aarch64-linux") is None

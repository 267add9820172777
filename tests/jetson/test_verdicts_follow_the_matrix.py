"""A verdict on a matrix row carries the status the matrix gives that row: the table is the one source."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from modelrt import hardware_matrix
from modelrt.errors import InputError
from modelrt.hardware_matrix import HARDWARE_MATRIX, matrix_status
from modelrt.specs import Status

from .boards import GENERIC_HOSTS, JETSON_BOARDS, GenericHost, JetsonBoard
from .conftest import findings_of

MATRIX_IDS = {row.id for row in HARDWARE_MATRIX}
#: Hosts whose verdict is the matrix row's own status (a too-old NVIDIA driver, say, overrides it).
ON_THE_MATRIX = [
    host
    for host in (*JETSON_BOARDS, *GENERIC_HOSTS)
    if host.row in MATRIX_IDS and host.status is matrix_status(host.row)
]


@pytest.mark.parametrize("host", ON_THE_MATRIX, ids=lambda host: host.id)
def test_a_verdict_takes_its_status_from_the_matrix_row(
    root: Path, host: JetsonBoard | GenericHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change a row's status in the table alone, and the verdict on a host of that row follows."""
    moved = Status.NOT_TESTED if host.status is not Status.NOT_TESTED else Status.EXPERIMENTAL
    rows = tuple(attrs.evolve(row, status=moved) if row.id == host.row else row for row in HARDWARE_MATRIX)
    monkeypatch.setattr(hardware_matrix, "HARDWARE_MATRIX", rows)
    verdict = next(finding for finding in findings_of(host.build(root)) if finding.row == host.row)
    assert verdict.status is moved


def test_every_matrix_row_is_judged_by_some_host() -> None:
    assert {host.row for host in ON_THE_MATRIX} == MATRIX_IDS


def test_an_off_matrix_row_has_no_matrix_status() -> None:
    with pytest.raises(InputError, match="not a row of the hardware matrix"):
        matrix_status("cpu-aarch64-linux")

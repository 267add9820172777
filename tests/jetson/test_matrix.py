"""Table-driven: every row of the compatibility matrix, judged as ``modelrt env`` judges it.

The hosts and what must be concluded are in ``boards.py`` (reviewed against HARDWARE.md). Each host
gets exactly one row verdict, from the jetson plugin on a Jetson and from the core elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.env_report import install_commands
from modelrt.hardware_matrix import HARDWARE_MATRIX
from modelrt_jetson import JetsonFacts

from .boards import GENERIC_HOSTS, JETSON_BOARDS, GenericHost, JetsonBoard
from .conftest import environment_of, findings_of


@pytest.mark.parametrize("board", JETSON_BOARDS, ids=lambda board: board.id)
def test_a_jetson_gets_its_row_status_and_install_advice(root: Path, board: JetsonBoard) -> None:
    (verdict,) = findings_of(board.build(root))
    assert (verdict.row, verdict.status, verdict.severity) == (board.row, board.status, board.severity)
    assert install_commands([verdict]) == board.install_commands


@pytest.mark.parametrize("board", JETSON_BOARDS, ids=lambda board: board.id)
def test_a_jetson_is_described_from_its_files(root: Path, board: JetsonBoard) -> None:
    facts = JetsonFacts.from_environment(environment_of(board.build(root)))
    assert facts is not None and facts.is_jetson
    described = (facts.l4t, facts.jetpack, facts.module, facts.soc, facts.gpu_compute_capability, facts.dla_cores)
    assert described == (
        board.l4t,
        board.jetpack,
        board.module,
        board.soc,
        board.compute_capability,
        board.dla_cores,
    )


@pytest.mark.parametrize("host", GENERIC_HOSTS, ids=lambda host: host.id)
def test_a_generic_host_gets_the_core_row_and_no_jetson_facts(root: Path, host: GenericHost) -> None:
    built = host.build(root)
    (verdict,) = findings_of(built)
    assert (verdict.row, verdict.status, verdict.severity) == (host.row, host.status, host.severity)
    assert install_commands([verdict]) == host.install_commands
    assert "jetson" not in environment_of(built).facts


def test_the_table_covers_every_row_of_the_matrix() -> None:
    covered = {board.row for board in JETSON_BOARDS} | {host.row for host in GENERIC_HOSTS}
    assert {row.id for row in HARDWARE_MATRIX} <= covered

"""The hardware compatibility matrix of the design, as data.

Each row has a stable ``id`` that ``Finding.row`` refers to; ``modelrt env`` shows the row a host
matched. The rows follow ``inference-models``' own table. Verdicts that fall outside every row (a
non-Jetson ARM Linux box, an unknown OS) use the ids in ``OFF_MATRIX_ROWS``.
"""

from __future__ import annotations

import attrs

from modelrt.errors import InputError
from modelrt.specs import Status

__all__ = ["HARDWARE_MATRIX", "OFF_MATRIX_ROWS", "MatrixRow", "find_row", "matrix_status"]


@attrs.frozen
class MatrixRow:
    """One platform of the matrix: what it is, how it is installed, and how well it is supported."""

    id: str
    platform: str
    os: str
    install: str
    status: Status = attrs.field(converter=Status)
    note: str = ""


HARDWARE_MATRIX: tuple[MatrixRow, ...] = (
    MatrixRow("cpu-x86_64-linux", "CPU x86_64", "Linux", "bare-metal, Docker", Status.STABLE),
    MatrixRow("cpu-x86_64-macos", "CPU x86_64", "macOS", "bare-metal, Docker", Status.STABLE),
    MatrixRow(
        "cpu-apple-silicon-macos",
        "CPU Apple Silicon",
        "macOS",
        "bare-metal, Docker",
        Status.STABLE,
        "MPS is experimental, and offered only for MPS-capable architectures",
    ),
    MatrixRow(
        "nvidia-ubuntu",
        "NVIDIA GPU",
        "Ubuntu 22.04 / 24.04",
        "bare-metal, Docker",
        Status.STABLE,
        "needs CUDA 11.8 or 12.x and an NVIDIA driver",
    ),
    MatrixRow("nvidia-other-linux", "NVIDIA GPU", "other Linux", "bare-metal, Docker", Status.REQUIRES_VERIFICATION),
    MatrixRow("jetson-jp61-docker", "Jetson JetPack 6.1 (Orin AGX/NX/Nano)", "Ubuntu 22.04", "Docker", Status.STABLE),
    MatrixRow("jetson-jp61-bare-metal", "Jetson JetPack 6.1", "Ubuntu 22.04", "bare-metal", Status.EXPERIMENTAL),
    MatrixRow("jetson-jp51-docker", "Jetson JetPack 5.1", "Ubuntu 20.04", "Docker (custom build)", Status.STABLE),
    MatrixRow(
        "jetson-jp51-bare-metal",
        "Jetson JetPack 5.1",
        "Ubuntu 20.04",
        "bare-metal",
        Status.NOT_POSSIBLE,
        "run it in Docker instead",
    ),
    MatrixRow("windows", "Windows 10/11", "Windows", "any", Status.NOT_TESTED),
)

#: Row ids of verdicts outside the matrix: ``cpu-aarch64-linux`` (ARM Linux that is not a Jetson),
#: ``jetson`` (a Jetson the core recognised without the jetson plugin), ``unknown`` (OS or
#: architecture not recognised), ``nvidia-outside-matrix`` (CUDA 13, or a GPU newer than the matrix),
#: ``nvidia-wsl2`` (an NVIDIA GPU reached through WSL2 on Windows).
OFF_MATRIX_ROWS = ("cpu-aarch64-linux", "jetson", "unknown", "nvidia-outside-matrix", "nvidia-wsl2")


def find_row(row_id: str) -> MatrixRow | None:
    """The matrix row with this id, or ``None`` for an off-matrix or third-party row id."""
    return next((row for row in HARDWARE_MATRIX if row.id == row_id), None)


def matrix_status(row_id: str) -> Status:
    """The status the matrix gives row ``row_id``: a verdict on a matrix row takes it from here, so the
    table above stays the only place a row's status is written."""
    row = find_row(row_id)
    if row is None:
        known = ", ".join(row.id for row in HARDWARE_MATRIX)
        raise InputError(
            f"{row_id!r} is not a row of the hardware matrix (rows: {known}); a verdict outside the matrix "
            "states its own status"
        )
    return row.status

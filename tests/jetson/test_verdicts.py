"""The Jetson verdicts beyond the row: their words, their fixes, and what stands in a board's way."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.hardware_matrix import HARDWARE_MATRIX
from modelrt.host import Host
from modelrt.host_environment import Environment
from modelrt.specs import Finding, Severity, Status
from modelrt.testing.hosts import (
    JETSON_R35_TEGRA_RELEASE,
    make_jetson_host,
    make_linux_host,
    tegra_release_line,
    write_jetson_files,
    write_jetson_libraries,
    write_python_distribution,
)
from modelrt_jetson import JetsonFacts, TensorRTBindings
from modelrt_jetson.verdicts import (
    JETSON_OUTSIDE_MATRIX_ROW,
    JETSON_OVERRIDE_ROW,
    JETSON_TENSORRT_ROW,
    JETSON_UNKNOWN_ROW,
    jetson_findings,
)

from .boards import JETSON_BOARDS, JetsonBoard
from .conftest import findings_of

WHEEL_SITE = "usr/local/lib/python3.10/dist-packages"


def jetpack_61(root: Path, docker: bool = False) -> Host:
    host = make_jetson_host(root, docker=docker)
    write_jetson_libraries(root)
    return host


def only(findings: list[Finding], row: str) -> Finding:
    (finding,) = [finding for finding in findings if finding.row == row]
    return finding


# --------------------------------------------------------------------------------------------- rows


def test_jetpack_61_bare_metal_describes_the_board_and_offers_the_docker_route(root: Path) -> None:
    (finding,) = findings_of(jetpack_61(root))
    assert finding.message.startswith(
        "Jetson AGX Orin 64GB (tegra234, GPU compute capability 8.7, 2 DLA cores) on JetPack 6.1 (L4T 36.4.0), "
        "bare metal: experimental."
    )
    assert "System TensorRT 10.3.0 (/usr/lib/aarch64-linux-gnu/libnvinfer.so.10.3.0)" in finding.message
    assert finding.fix == (
        "for the verified setup, run modelrt in a container: docker/jetson-jp6/Dockerfile in a modelrt clone "
        "builds one FROM nvcr.io/nvidia/l4t-jetpack:r36.4.0 (`docker build -f docker/jetson-jp6/Dockerfile "
        "-t modelrt:jetson-jp6 .` in the clone's root, then `docker run --rm --runtime nvidia modelrt:jetson-jp6`)"
    )


def test_jetpack_61_in_docker_names_the_container(root: Path) -> None:
    (finding,) = findings_of(jetpack_61(root, docker=True))
    assert "on JetPack 6.1 (L4T 36.4.0), in a docker container: stable." in finding.message
    assert finding.fix is None


def test_jetpack_51_bare_metal_is_an_error_with_the_reason_and_the_docker_route(root: Path) -> None:
    make_jetson_host(root, nv_tegra_release=JETSON_R35_TEGRA_RELEASE)
    write_jetson_libraries(root, tensorrt="8.5.2", cudnn="8.6.0", cuda="11.4.315", python="3.8")
    (finding,) = findings_of(Host(root))
    assert (finding.status, finding.severity, finding.install) == (Status.NOT_POSSIBLE, Severity.ERROR, ())
    assert "JetPack 5.1 ships Ubuntu 20.04 with Python 3.8" in finding.message
    assert "(/usr/lib/python3.8/dist-packages/tensorrt)" in finding.message
    assert "modelrt needs Python 3.10 or newer" in finding.message
    assert finding.fix is not None
    assert finding.fix.startswith("take the Docker route: build an image FROM nvcr.io/nvidia/l4t-jetpack:r35.4.1")


def test_jetpack_51_in_docker_says_the_image_must_bring_python_3_10(root: Path) -> None:
    make_jetson_host(root, nv_tegra_release=JETSON_R35_TEGRA_RELEASE, docker=True)
    (finding,) = findings_of(Host(root))
    assert "stable with a custom image" in finding.message
    assert "the image must bring Python 3.10" in finding.message


def test_jetpack_62_is_outside_the_matrix_and_names_the_verified_release(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release=tegra_release_line("36.4.3")))
    assert "on JetPack 6.2 (L4T 36.4.3)" in finding.message
    assert "only JetPack 6.1 (L4T 36.4.0 / 36.4.2) is verified" in finding.message


def test_jetpack_60_is_not_taken_for_61(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release=tegra_release_line("36.3.0")))
    assert (finding.row, finding.status) == (JETSON_OUTSIDE_MATRIX_ROW, Status.OUTSIDE_VERIFIED_MATRIX)
    assert "JetPack 6.0 (L4T 36.3.0)" in finding.message


def test_jetpack_7_is_recognised_as_thor_and_newer_than_the_matrix(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release=tegra_release_line("38.2.0")))
    assert "JetPack 7 (Jetson Thor) is newer than the verified matrix" in finding.message


def test_an_unlisted_jetpack_6_release_is_named_by_its_major_only(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release=tegra_release_line("36.6.0")))
    assert "JetPack 6 (a release this plugin's table does not list) (L4T 36.6.0)" in finding.message


def test_an_unknown_l4t_says_how_to_make_it_known(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release=None, docker=True))
    assert finding.message.startswith(
        "This is an NVIDIA Jetson (kernel 5.15.148-tegra), but its L4T release is unknown"
    )
    assert finding.fix is not None
    assert "-v /etc/nv_tegra_release:/etc/nv_tegra_release:ro" in finding.fix
    assert "MODELRT_L4T_VERSION" in finding.fix


def test_an_unknown_l4t_major_is_not_guessed(root: Path) -> None:
    (finding,) = findings_of(make_jetson_host(root, nv_tegra_release="# R41 (release), REVISION: 0.0"))
    assert "L4T 41.0.0 (R41) is not a release this plugin knows" in finding.message
    assert finding.fix is not None and finding.fix.startswith("pip install -U modelrt-jetson")


def test_an_applied_override_is_named_in_the_verdict(root: Path) -> None:
    host = Host(
        make_jetson_host(root, nv_tegra_release=JETSON_R35_TEGRA_RELEASE).root, {"MODELRT_L4T_VERSION": "36.4.0"}
    )
    (finding,) = findings_of(host)
    assert finding.row == "jetson-jp61-bare-metal"
    assert "(L4T 36.4.0, from MODELRT_L4T_VERSION; the board's files say 35.4.1)" in finding.message


def test_every_jetson_verdict_names_a_matrix_row_or_a_documented_jetson_row(tmp_path: Path) -> None:
    known = {row.id for row in HARDWARE_MATRIX} | {
        JETSON_OUTSIDE_MATRIX_ROW,
        JETSON_UNKNOWN_ROW,
        JETSON_TENSORRT_ROW,
        JETSON_OVERRIDE_ROW,
    }
    rows = {finding.row for board in JETSON_BOARDS for finding in findings_of(board.build(tmp_path / board.id))}
    assert rows <= known


# -------------------------------------------------------------------------- what stands in the way


def test_a_tensorrt_wheel_from_pypi_is_an_error_with_the_exact_fix(root: Path) -> None:
    jetpack_61(root)
    for name in ("tensorrt-cu12", "tensorrt-cu12-bindings", "tensorrt-cu12-libs"):
        write_python_distribution(root, WHEEL_SITE, name, "10.7.0")
    finding = only(findings_of(Host(root)), JETSON_TENSORRT_ROW)
    assert (finding.status, finding.severity) == (Status.NOT_POSSIBLE, Severity.ERROR)
    assert "tensorrt-cu12 10.7.0 in /usr/local/lib/python3.10/dist-packages" in finding.message
    assert "conflict with the TensorRT 10.3.0 (/usr/lib/aarch64-linux-gnu/libnvinfer.so.10.3.0)" in finding.message
    assert finding.fix == (
        "pip uninstall -y tensorrt-cu12 tensorrt-cu12-bindings tensorrt-cu12-libs; then use JetPack's bindings in "
        "/usr/lib/python3.10/dist-packages/tensorrt: a virtual environment sees them only when created with "
        "`python3 -m venv --system-site-packages`"
    )


def test_a_tensorrt_wheel_without_jetpacks_bindings_says_how_to_install_them(root: Path) -> None:
    make_jetson_host(root, docker=True)
    write_python_distribution(root, WHEEL_SITE, "tensorrt", "10.7.0")
    finding = only(findings_of(Host(root)), JETSON_TENSORRT_ROW)
    assert (
        finding.fix == "pip uninstall -y tensorrt; then install JetPack's bindings: sudo apt install python3-libnvinfer"
    )


def test_the_row_verdict_stands_beside_the_tensorrt_error(root: Path) -> None:
    jetpack_61(root)
    write_python_distribution(root, WHEEL_SITE, "tensorrt", "10.7.0")
    assert [finding.row for finding in findings_of(Host(root))] == ["jetson-jp61-bare-metal", JETSON_TENSORRT_ROW]


def _live_environment(python_version: str, bindings_python: str) -> Environment:
    facts = JetsonFacts(
        is_jetson=True,
        l4t="36.4.0",
        l4t_source="/etc/nv_tegra_release",
        jetpack="6.1",
        jetpack_major=6,
        tensorrt_bindings=(
            TensorRTBindings(bindings_python, f"/usr/lib/python{bindings_python}/dist-packages/tensorrt"),
        ),
    )
    return Environment(
        system="Linux", python_version=python_version, container="none", facts={"jetson": facts.to_dict()}
    )


def test_live_bindings_built_for_another_python_are_a_warning_with_the_python_to_use() -> None:
    finding = only(jetson_findings(_live_environment("3.11.7", "3.10")), JETSON_TENSORRT_ROW)
    assert (finding.status, finding.severity) == (Status.NOT_POSSIBLE, Severity.WARNING)
    assert "built for Python 3.10, and this is Python 3.11" in finding.message
    assert finding.fix == (
        "run modelrt with Python 3.10, in a virtual environment created with "
        "`python3.10 -m venv --system-site-packages`"
    )


def test_live_bindings_for_the_running_python_are_fine() -> None:
    assert [finding.row for finding in jetson_findings(_live_environment("3.10.12", "3.10"))] == [
        "jetson-jp61-bare-metal"
    ]


def test_a_fake_roots_bindings_are_not_judged_against_the_tests_python(root: Path) -> None:
    make_jetson_host(root)
    write_jetson_libraries(root, python="3.8")
    assert JETSON_TENSORRT_ROW not in [finding.row for finding in findings_of(Host(root))]


def test_an_override_that_is_no_release_is_a_warning_beside_the_verdict(root: Path) -> None:
    host = Host(make_jetson_host(root).root, {"MODELRT_L4T_VERSION": "six"})
    finding = only(findings_of(host), JETSON_OVERRIDE_ROW)
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "MODELRT_L4T_VERSION='six' is not an L4T release such as 36.4.0, so it was ignored. "
        "L4T 36.4.0 from /etc/nv_tegra_release was used instead."
    )


def test_an_override_on_a_host_that_is_no_jetson_is_a_warning_and_the_core_judges_the_host(root: Path) -> None:
    host = Host(make_linux_host(root).root, {"MODELRT_L4T_VERSION": "36.4.0"})
    findings = findings_of(host)
    assert [finding.row for finding in findings] == ["cpu-x86_64-linux", JETSON_OVERRIDE_ROW]
    assert "is set, but this host is not an NVIDIA Jetson (nothing marks an NVIDIA Jetson" in findings[1].message
    assert findings[1].fix == "unset MODELRT_L4T_VERSION: it corrects the L4T release of a Jetson only"


def test_l4t_files_on_an_x86_64_machine_leave_the_verdict_to_the_core(root: Path) -> None:
    make_linux_host(root)
    write_jetson_files(root, compatible=None, model=None)
    assert [finding.row for finding in findings_of(Host(root))] == ["cpu-x86_64-linux"]


def test_a_jetson_known_only_by_its_device_tree_is_never_the_generic_arm_row(root: Path) -> None:
    make_linux_host(root, machine="aarch64", kernel_release="5.15.148-custom")
    write_jetson_files(root, nv_tegra_release=None)
    assert [finding.row for finding in findings_of(Host(root))] == [JETSON_UNKNOWN_ROW]


def test_facts_that_cannot_be_read_are_a_warning_not_a_crash() -> None:
    env = Environment(system="Linux", facts={"jetson": {"is_jetson": "perhaps", "evidence": 3}})
    (finding,) = jetson_findings(env)
    assert (finding.row, finding.status) == (JETSON_UNKNOWN_ROW, Status.UNKNOWN)
    assert finding.message.startswith(
        "The Jetson facts of this environment record cannot be read: invalid jetson facts"
    )


def test_no_jetson_facts_no_jetson_verdict() -> None:
    assert jetson_findings(Environment(system="Linux")) == []


@pytest.mark.parametrize("board", JETSON_BOARDS, ids=lambda board: board.id)
def test_each_verdict_message_names_the_board_and_its_release(root: Path, board: JetsonBoard) -> None:
    (finding,) = findings_of(board.build(root))
    if board.l4t is not None:
        assert f"L4T {board.l4t}" in finding.message
    if board.module is not None:
        assert board.module in finding.message

"""L4T releases: parsing, the JetPack table (exact for display, majors for logic), reading them from a board."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.host import Host
from modelrt.testing.hosts import (
    JETSON_R35_TEGRA_RELEASE,
    JETSON_R36_TEGRA_RELEASE,
    tegra_release_line,
    write_dpkg_status,
    write_file,
)
from modelrt_jetson.l4t import (
    L4TVersion,
    cuda_for,
    is_jetpack_51,
    is_jetpack_61,
    jetpack_for,
    jetpack_major_for,
    read_l4t_core_package,
    read_tegra_release,
    ubuntu_for,
)


def v(text: str) -> L4TVersion:
    version = L4TVersion.parse(text)
    assert version is not None
    return version


# ------------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36.4.0", L4TVersion(36, 4, 0)),
        ("R36.4.3", L4TVersion(36, 4, 3)),
        ("r35.4", L4TVersion(35, 4, 0)),
        ("38", L4TVersion(38, 0, 0)),
        (" 36.4.0-20240912212859 ", L4TVersion(36, 4, 0)),
    ],
)
def test_l4t_versions_parse_from_the_ways_people_and_packages_write_them(text: str, expected: L4TVersion) -> None:
    assert L4TVersion.parse(text) == expected


@pytest.mark.parametrize("text", ["", "jetpack6", "36.4.0.1.2", "R", "36..4", "9999.1"])
def test_text_that_is_no_l4t_release_parses_to_none(text: str) -> None:
    assert L4TVersion.parse(text) is None


def test_l4t_versions_order_by_number_not_text() -> None:
    assert v("35.10.0") > v("35.9.0") > v("35.4.1")


# ----------------------------------------------------------------------------------- JetPack table


@pytest.mark.parametrize(
    ("l4t", "jetpack"),
    [
        ("39.2.0", "7.2"),
        ("38.4.0", "7.1"),
        ("38.2.0", "7.0"),
        ("38.2.1", "7.0"),
        ("36.5.0", "6.2.2"),
        ("36.4.4", "6.2.1"),
        ("36.4.7", "6.2.1"),
        ("36.4.3", "6.2"),
        ("36.4.0", "6.1"),
        ("36.4.2", "6.1"),
        ("36.3.0", "6.0"),
        ("36.2.0", "6.0 DP"),
        ("35.6.4", "5.1.6"),
        ("35.6.1", "5.1.5"),
        ("35.6.3", "5.1.5"),
        ("35.6.0", "5.1.4"),
        ("35.5.0", "5.1.3"),
        ("35.4.1", "5.1.2"),
        ("35.3.1", "5.1.1"),
        ("35.2.1", "5.1"),
        ("35.1.0", "5.0.2"),
        ("34.1.1", "5.0 DP"),
        ("32.7.4", "4.6.x"),
    ],
)
def test_each_release_of_the_table_names_its_jetpack(l4t: str, jetpack: str) -> None:
    assert jetpack_for(v(l4t)) == jetpack


@pytest.mark.parametrize("l4t", ["36.4.1", "36.6.0", "38.3.0", "40.0.0", "33.1.0"])
def test_a_release_the_table_does_not_list_is_not_rounded_to_a_neighbour(l4t: str) -> None:
    assert jetpack_for(v(l4t)) is None


@pytest.mark.parametrize(
    ("l4t", "major"),
    [("32.7.4", 4), ("34.1.1", 5), ("35.4.1", 5), ("36.9.9", 6), ("38.4.0", 7), ("39.0.0", 7)],
)
def test_logic_uses_the_jetpack_major_of_the_l4t_major(l4t: str, major: int) -> None:
    assert jetpack_major_for(v(l4t)) == major


@pytest.mark.parametrize("l4t", ["31.1.0", "33.0.0", "37.0.0", "40.1.0"])
def test_an_unknown_l4t_major_has_no_jetpack_major(l4t: str) -> None:
    assert jetpack_major_for(v(l4t)) is None


@pytest.mark.parametrize(
    ("l4t", "ubuntu"), [("32.7.4", "18.04"), ("35.4.1", "20.04"), ("36.4.0", "22.04"), ("38.2.0", "24.04")]
)
def test_each_l4t_major_ships_its_ubuntu(l4t: str, ubuntu: str) -> None:
    assert ubuntu_for(v(l4t)) == ubuntu


@pytest.mark.parametrize(
    ("l4t", "cuda"),
    [
        ("36.2.0", "12.2"),
        ("36.3.0", "12.4"),
        ("36.4.3", "12.6"),
        ("36.5.0", "12.6"),
        ("38.2.0", "13.0"),
        ("39.2.0", "13.2"),
    ],
)
def test_the_cuda_an_l4t_ships_is_known_where_the_table_says(l4t: str, cuda: str) -> None:
    assert cuda_for(v(l4t)) == cuda


def test_the_cuda_of_an_l4t_the_table_does_not_list_is_unknown() -> None:
    assert cuda_for(v("35.4.1")) is None


@pytest.mark.parametrize(
    ("l4t", "expected"), [("36.4.0", True), ("36.4.2", True), ("36.4.3", False), ("36.3.0", False)]
)
def test_jetpack_61_is_l4t_36_4_0_or_36_4_2(l4t: str, expected: bool) -> None:
    assert is_jetpack_61(v(l4t)) is expected


@pytest.mark.parametrize(
    ("l4t", "expected"),
    [("35.1.0", False), ("35.2.1", True), ("35.4.1", True), ("35.6.4", True), ("35.6.9", True), ("36.4.0", False)],
)
def test_the_jetpack_51_row_spans_l4t_35_2_1_to_35_6_x(l4t: str, expected: bool) -> None:
    assert is_jetpack_51(v(l4t)) is expected


# ------------------------------------------------------------------------------------------ reading


def test_the_release_file_line_gives_the_l4t(root: Path) -> None:
    write_file(root, "etc/nv_tegra_release", JETSON_R35_TEGRA_RELEASE + "\n# KERNEL_VARIANT: oot\n")
    assert read_tegra_release(Host(root)) == (L4TVersion(35, 4, 1), JETSON_R35_TEGRA_RELEASE)


def test_the_release_file_revision_becomes_minor_and_patch(root: Path) -> None:
    write_file(root, "etc/nv_tegra_release", tegra_release_line("36.4.3"))
    assert read_tegra_release(Host(root))[0] == L4TVersion(36, 4, 3)


def test_the_board_field_of_the_release_file_is_ignored(root: Path) -> None:
    write_file(root, "etc/nv_tegra_release", JETSON_R36_TEGRA_RELEASE.replace("BOARD: generic", "BOARD: t186ref"))
    assert read_tegra_release(Host(root))[0] == L4TVersion(36, 4, 0)


def test_a_release_file_naming_no_release_keeps_its_line_for_the_report(root: Path) -> None:
    write_file(root, "etc/nv_tegra_release", "built by hand\n")
    assert read_tegra_release(Host(root)) == (None, "built by hand")


def test_no_release_file_reads_as_nothing(root: Path) -> None:
    assert read_tegra_release(Host(root)) == (None, None)


def test_the_l4t_core_package_version_comes_from_the_dpkg_status_file(root: Path) -> None:
    write_dpkg_status(root, {"nvidia-l4t-core": "36.4.0-20240912212859"})
    assert read_l4t_core_package(Host(root)) == "36.4.0-20240912212859"


def test_a_removed_l4t_core_package_does_not_count(root: Path) -> None:
    write_dpkg_status(root, {"nvidia-l4t-core": "35.4.1-20230801124926"}, status="deinstall ok config-files")
    assert read_l4t_core_package(Host(root)) is None


def test_a_status_file_without_the_package_reads_as_nothing(root: Path) -> None:
    write_dpkg_status(root, {"nvidia-l4t-kernel": "5.15.148-tegra-36.4.0-20240912212859"})
    assert read_l4t_core_package(Host(root)) is None


def test_the_status_file_is_read_past_the_size_that_host_read_text_stops_at(root: Path) -> None:
    filler = "".join(
        f"Package: filler{index}\nStatus: install ok installed\nVersion: 1.0\n\n" for index in range(120_000)
    )
    write_file(
        root,
        "var/lib/dpkg/status",
        filler + "Package: nvidia-l4t-core\nStatus: install ok installed\nVersion: 36.4.0-1\n",
    )
    write_file(root, "var/lib/dpkg/info/nvidia-l4t-core:arm64.list", "/.\n")
    assert (root / "var/lib/dpkg/status").stat().st_size > 4 * 1024 * 1024
    assert read_l4t_core_package(Host(root)) == "36.4.0-1"


def test_the_status_file_is_not_read_where_dpkg_keeps_no_file_list_of_the_package(root: Path) -> None:
    write_dpkg_status(root, {"nvidia-l4t-core": "36.4.0-20240912212859"})
    (root / "var/lib/dpkg/info/nvidia-l4t-core.list").unlink()
    assert read_l4t_core_package(Host(root)) is None

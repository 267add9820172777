"""Probing: when a host is a Jetson, where its L4T comes from, and what stays unknown and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelrt.host import Host
from modelrt.testing.hosts import (
    JETSON_ORIN_NANO_COMPATIBLE,
    JETSON_R35_TEGRA_RELEASE,
    make_jetson_host,
    make_linux_host,
    make_macos_host,
    write_dpkg_status,
    write_file,
    write_host_file,
    write_jetson_files,
    write_jetson_libraries,
    write_nvpmodel,
)
from modelrt_jetson import JetsonFacts
from modelrt_jetson.probe import probe_jetson


def jetson_facts(host: Host) -> JetsonFacts:
    facts = probe_jetson(host)
    assert facts is not None
    return facts


# ------------------------------------------------------------------------------------ is it a Jetson


@pytest.mark.parametrize(
    "make",
    [
        lambda root: make_linux_host(root),
        lambda root: make_linux_host(root, machine="aarch64"),
        lambda root: make_linux_host(root, nvidia_driver="550.54.14"),
        lambda root: make_macos_host(root),
    ],
    ids=["linux-x86_64", "linux-aarch64", "nvidia-desktop", "macos"],
)
def test_a_host_with_nothing_of_a_jetson_gets_no_jetson_facts(root: Path, make: Callable[[Path], Host]) -> None:
    assert probe_jetson(make(root)) is None


def test_the_live_machine_here_is_probed_without_raising() -> None:
    facts = probe_jetson(Host())
    assert facts is None or isinstance(facts, JetsonFacts)


def test_a_bare_metal_jetson_rests_on_its_release_file_device_tree_and_kernel(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root))
    assert facts.is_jetson
    assert facts.evidence == (
        "/etc/nv_tegra_release: # R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, "
        "DATE: Fri Sep 13 04:36:44 UTC 2024",
        "the device tree names the SoC nvidia,tegra234",
        "kernel 5.15.148-tegra",
    )


def test_a_container_known_only_by_its_tegra_kernel_is_a_jetson(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, nv_tegra_release=None, docker=True))
    assert (facts.is_jetson, facts.evidence, facts.l4t) == (True, ("kernel 5.15.148-tegra",), None)
    assert "no /etc/nv_tegra_release" in facts.unknown["l4t"]


def test_a_tegra_device_tree_alone_makes_a_jetson(root: Path) -> None:
    make_linux_host(root, machine="aarch64", version="22.04", kernel_release="5.15.148-custom")
    write_jetson_files(root, nv_tegra_release=None)
    assert jetson_facts(Host(root)).is_jetson


def test_l4t_files_on_an_x86_64_machine_are_no_jetson_and_say_why(root: Path) -> None:
    make_linux_host(root)
    write_jetson_files(root, compatible=None, model=None)
    facts = jetson_facts(Host(root))
    assert not facts.is_jetson
    assert facts.not_jetson_reason == "this is a x86_64 machine and every supported Jetson is 64-bit ARM (aarch64)"


def test_l4t_files_in_an_emulated_arm_build_on_a_generic_kernel_are_no_jetson(root: Path) -> None:
    make_linux_host(root, machine="aarch64", kernel_release="6.8.0-45-generic", docker=True)
    write_jetson_files(root, compatible=None, model=None)
    facts = jetson_facts(Host(root))
    assert not facts.is_jetson
    assert facts.not_jetson_reason is not None and "6.8.0-45-generic kernel" in facts.not_jetson_reason


# ------------------------------------------------------------------------------------------------ L4T


def test_the_release_file_wins_over_the_package(root: Path) -> None:
    make_jetson_host(root)
    write_dpkg_status(root, {"nvidia-l4t-core": "35.4.1-20230801124926"})
    facts = jetson_facts(Host(root))
    assert (facts.l4t, facts.l4t_source) == ("36.4.0", "/etc/nv_tegra_release")


def test_without_a_release_file_the_l4t_core_package_says_the_l4t(root: Path) -> None:
    make_jetson_host(root, nv_tegra_release=None)
    write_dpkg_status(root, {"nvidia-l4t-core": "35.4.1-20230801124926"})
    facts = jetson_facts(Host(root))
    assert (facts.l4t, facts.l4t_source, facts.jetpack) == ("35.4.1", "package nvidia-l4t-core", "5.1.2")
    assert "package nvidia-l4t-core 35.4.1-20230801124926 is installed" in facts.evidence


def test_the_l4t_override_wins_and_the_files_are_still_named(root: Path) -> None:
    host = Host(
        make_jetson_host(root, nv_tegra_release=JETSON_R35_TEGRA_RELEASE).root, {"MODELRT_L4T_VERSION": "36.4.0"}
    )
    facts = jetson_facts(host)
    assert (facts.l4t, facts.jetpack, facts.l4t_override) == ("36.4.0", "6.1", "36.4.0")
    assert facts.l4t_source == "MODELRT_L4T_VERSION; the board's files say 35.4.1"


def test_the_l4t_override_is_read_from_the_probed_hosts_environment(root: Path) -> None:
    make_jetson_host(root, nv_tegra_release=None, docker=True)
    write_host_file(root, environ={"MODELRT_L4T_VERSION": "R36.4.2"})
    facts = jetson_facts(Host(root))
    assert (facts.l4t, facts.l4t_source) == ("36.4.2", "MODELRT_L4T_VERSION")


def test_an_override_that_is_no_release_is_ignored_and_recorded(root: Path) -> None:
    facts = jetson_facts(Host(make_jetson_host(root).root, {"MODELRT_L4T_VERSION": "jetpack6"}))
    assert facts.l4t == "36.4.0"
    assert facts.unknown["l4t_override"] == (
        "MODELRT_L4T_VERSION='jetpack6' is not an L4T release such as 36.4.0, so it was ignored"
    )


def test_an_override_on_a_host_that_is_no_jetson_is_kept_but_not_applied(root: Path) -> None:
    facts = jetson_facts(Host(make_linux_host(root).root, {"MODELRT_L4T_VERSION": "36.4.0"}))
    assert (facts.is_jetson, facts.l4t, facts.l4t_override) == (False, None, "36.4.0")


def test_an_unlisted_release_of_a_known_major_keeps_the_major_and_says_why_the_name_is_unknown(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, nv_tegra_release="# R36 (release), REVISION: 6.0, GCID: 1"))
    assert (facts.l4t, facts.jetpack, facts.jetpack_major) == ("36.6.0", None, 6)
    assert facts.unknown["jetpack"] == "L4T 36.6.0 is not in this plugin's JetPack table (its major, R36, is JetPack 6)"


def test_a_release_file_naming_no_release_leaves_the_l4t_unknown_with_its_line(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, nv_tegra_release="# custom image"))
    assert facts.l4t is None
    assert facts.unknown["l4t"] == "line 1 of /etc/nv_tegra_release names no release: '# custom image'"


# ---------------------------------------------------------------------------------- board and stack


def test_a_hidden_device_tree_on_jetpack_6_still_tells_the_orin_soc(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, docker=True))
    assert (facts.soc, facts.soc_source, facts.gpu_compute_capability) == (
        "tegra234",
        "L4T R36 runs on tegra234 only",
        "8.7",
    )
    assert facts.module is None
    assert facts.unknown["module"] == "the device tree is hidden (as in a container) or names no module part number"


def test_a_container_is_marked_by_docker_and_by_the_hidden_device_tree(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, docker=True))
    assert facts.container_marks == (
        "/.dockerenv exists (Docker)",
        "the device tree is hidden under a Jetson kernel, as Docker hides it",
    )


def test_nvidias_l4t_image_variable_marks_a_container(root: Path) -> None:
    make_jetson_host(root)
    write_host_file(root, environ={"NVIDIA_VISIBLE_DEVICES": "all"})
    assert jetson_facts(Host(root)).container_marks == ("NVIDIA_VISIBLE_DEVICES is set, as NVIDIA's L4T images set it",)


def test_bare_metal_has_no_container_marks(root: Path) -> None:
    assert jetson_facts(make_jetson_host(root)).container_marks == ()


def test_the_system_tensorrt_its_bindings_and_the_wheel_index_are_recorded(root: Path) -> None:
    make_jetson_host(root)
    write_jetson_libraries(root)
    facts = jetson_facts(Host(root))
    assert (facts.tensorrt, facts.tensorrt_library, facts.cudnn, facts.cuda) == (
        "10.3.0",
        "/usr/lib/aarch64-linux-gnu/libnvinfer.so.10.3.0",
        "9.3.0",
        "12.6.68",
    )
    assert facts.bindings_for("3.10.12") is not None and facts.bindings_for("3.11") is None
    assert facts.wheel_index == "https://pypi.jetson-ai-lab.io/jp6/cu126"


def test_without_cuda_on_the_board_the_cuda_its_l4t_ships_is_used_and_said(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root))
    assert (facts.cuda, facts.cuda_source) == ("12.6", "what L4T 36.4.0 ships; no /usr/local/cuda* toolkit directory")


def test_the_power_mode_is_named_from_nvpmodels_files(root: Path) -> None:
    make_jetson_host(root)
    write_nvpmodel(root, mode_id=0)
    assert jetson_facts(Host(root)).power_mode == "15W (mode 0)"


def test_a_power_mode_never_set_is_unknown_with_the_reason(root: Path) -> None:
    make_jetson_host(root)
    write_nvpmodel(root, mode_id=None)
    facts = jetson_facts(Host(root))
    assert facts.power_mode is None
    assert facts.unknown["power_mode"].startswith("no /var/lib/nvpmodel/status")


def test_a_power_mode_missing_from_the_configuration_keeps_its_number(root: Path) -> None:
    make_jetson_host(root)
    write_file(root, "var/lib/nvpmodel/status", "pmode:0007\n")
    assert jetson_facts(Host(root)).power_mode == "mode 7"


def test_dla_cores_the_sources_disagree_on_are_left_to_tensorrt(root: Path) -> None:
    facts = jetson_facts(make_jetson_host(root, compatible=JETSON_ORIN_NANO_COMPATIBLE))
    assert facts.dla_cores is None
    assert "Builder.num_DLA_cores" in facts.unknown["dla_cores"]

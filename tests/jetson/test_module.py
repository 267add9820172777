"""Which module a board is: from the device tree's part numbers; the model string is display only."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.host import Host
from modelrt.testing.hosts import (
    JETSON_AGX_ORIN_COMPATIBLE,
    JETSON_AGX_THOR_COMPATIBLE,
    JETSON_ORIN_NANO_COMPATIBLE,
    JETSON_ORIN_NX_16GB_COMPATIBLE,
    JETSON_XAVIER_NX_COMPATIBLE,
    write_file,
    write_jetson_files,
)
from modelrt_jetson.module import identify_module, read_device_tree


@pytest.mark.parametrize(
    ("compatible", "module", "module_part", "carrier_part", "soc", "dla_cores"),
    [
        (JETSON_AGX_ORIN_COMPATIBLE, "Jetson AGX Orin 64GB", "p3701-0005", "p3737-0000", "tegra234", 2),
        (JETSON_ORIN_NX_16GB_COMPATIBLE, "Jetson Orin NX 16GB", "p3767-0000", "p3768-0000", "tegra234", 2),
        (JETSON_ORIN_NANO_COMPATIBLE, "Jetson Orin Nano Developer Kit", "p3767-0005", "p3768-0000", "tegra234", None),
        (JETSON_XAVIER_NX_COMPATIBLE, "Jetson Xavier NX", "p3668-0001", "p3509-0000", "tegra194", 2),
        (JETSON_AGX_THOR_COMPATIBLE, "Jetson AGX Thor Developer Kit", "p3834-0008", "p4071-0000", "tegra264", None),
    ],
)
def test_the_module_carrier_and_soc_come_from_the_part_numbers(
    compatible: tuple[str, ...], module: str, module_part: str, carrier_part: str, soc: str, dla_cores: int | None
) -> None:
    identity = identify_module(compatible)
    assert identity.module is not None
    assert (identity.module.name, identity.module_part, identity.carrier_part, identity.soc) == (
        module,
        module_part,
        carrier_part,
        soc,
    )
    assert identity.module.dla_cores == dla_cores


def test_an_unlisted_module_sku_keeps_its_part_number_and_soc() -> None:
    identity = identify_module(("nvidia,p3737-0000+p3701-0099", "nvidia,p3701-0099", "nvidia,tegra234"))
    assert (identity.module, identity.module_part, identity.soc) == (None, "p3701-0099", "tegra234")


def test_a_family_entry_of_the_table_matches_every_sku_of_the_family() -> None:
    identity = identify_module(("nvidia,p2822-0000+p2888-0004", "nvidia,tegra194"))
    assert identity.module is not None and identity.module.name == "Jetson AGX Xavier"


def test_the_soc_of_a_known_module_is_kept_when_the_soc_entry_is_missing() -> None:
    assert identify_module(("nvidia,p3701-0005",)).soc == "tegra234"


def test_entries_of_other_vendors_say_nothing() -> None:
    identity = identify_module(("raspberrypi,5-model-b", "brcm,bcm2712"))
    assert (identity.module, identity.module_part, identity.carrier_part, identity.soc) == (None, None, None, None)


def test_the_device_tree_is_read_with_its_nul_separators_and_model_string(root: Path) -> None:
    write_jetson_files(root, nv_tegra_release=None)
    tree = read_device_tree(Host(root))
    assert tree.compatible == JETSON_AGX_ORIN_COMPATIBLE
    assert tree.model == "NVIDIA Jetson AGX Orin Developer Kit"


def test_the_device_tree_is_also_found_where_proc_device_tree_points(root: Path) -> None:
    write_file(root, "sys/firmware/devicetree/base/compatible", b"nvidia,p3767-0005\0nvidia,tegra234\0")
    assert read_device_tree(Host(root)).compatible == ("nvidia,p3767-0005", "nvidia,tegra234")


def test_a_hidden_device_tree_reads_as_empty(root: Path) -> None:
    tree = read_device_tree(Host(root))
    assert (tree.model, tree.compatible, tree.source) == (None, (), None)

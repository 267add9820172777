"""Which Jetson module this is: from the device tree's part numbers, never from its model string.

``/proc/device-tree/model`` is inconsistent across releases (``NVIDIA Jetson AGX Orin Developer
Kit``, ``NVIDIA Orin Nano Developer Kit``, ``jetson-xavier``), so it is kept for display only.
``/proc/device-tree/compatible`` (NUL-separated) carries ``nvidia,<carrier>+<module>``,
``nvidia,<module>`` and ``nvidia,<soc>``; the module part number decides the module, its DLA cores,
and the SoC, which decides the GPU's compute capability. Tables follow ``HARDWARE.md``.
"""

from __future__ import annotations

import re

import attrs

from modelrt.host import Host

__all__ = [
    "DEVICE_TREE_FILES",
    "JetsonModule",
    "ModuleIdentity",
    "SOC_COMPUTE_CAPABILITY",
    "SOC_FAMILY",
    "identify_module",
    "read_device_tree",
]

#: Where the device tree shows: ``/proc/device-tree`` links to ``/sys/firmware/devicetree/base``.
DEVICE_TREE_FILES = ("proc/device-tree", "sys/firmware/devicetree/base")

_MAX_TEXT = 200
_MAX_COMPATIBLE_ENTRIES = 16

SOC_COMPUTE_CAPABILITY = {
    "tegra264": "11.0",
    "tegra234": "8.7",
    "tegra194": "7.2",
    "tegra186": "6.2",
    "tegra210": "5.3",
}
SOC_FAMILY = {
    "tegra264": "Thor",
    "tegra234": "Orin",
    "tegra194": "Xavier",
    "tegra186": "TX2",
    "tegra210": "Nano/TX1",
}


@attrs.frozen
class JetsonModule:
    """A module by part number (``p3701-0005``, or ``p3668`` for every SKU of a family)."""

    part: str
    name: str
    soc: str
    #: DLA cores; ``None`` where the sources disagree (Orin Nano, Thor): ask TensorRT instead.
    dla_cores: int | None

    def matches(self, part: str) -> bool:
        return part == self.part or (len(self.part) == 5 and part.startswith(self.part + "-"))


_MODULES = (
    JetsonModule("p3834-0008", "Jetson AGX Thor Developer Kit", "tegra264", None),
    JetsonModule("p3701-0004", "Jetson AGX Orin 32GB", "tegra234", 2),
    JetsonModule("p3701-0005", "Jetson AGX Orin 64GB", "tegra234", 2),
    JetsonModule("p3701-0000", "Jetson AGX Orin Developer Kit", "tegra234", 2),
    JetsonModule("p3767-0000", "Jetson Orin NX 16GB", "tegra234", 2),
    JetsonModule("p3767-0001", "Jetson Orin NX 8GB", "tegra234", 1),
    JetsonModule("p3767-0003", "Jetson Orin Nano 8GB", "tegra234", None),
    JetsonModule("p3767-0004", "Jetson Orin Nano 4GB", "tegra234", None),
    JetsonModule("p3767-0005", "Jetson Orin Nano Developer Kit", "tegra234", None),
    JetsonModule("p3668", "Jetson Xavier NX", "tegra194", 2),
    JetsonModule("p2888", "Jetson AGX Xavier", "tegra194", 2),
    JetsonModule("p3448", "Jetson Nano", "tegra210", 0),
    JetsonModule("p3310-1000", "Jetson TX2", "tegra186", 0),
    JetsonModule("p2180-1000", "Jetson TX1", "tegra210", 0),
)
#: Part-number families of Jetson modules, so an unlisted SKU is still told from a carrier board.
_MODULE_FAMILIES = frozenset(module.part[:5] for module in _MODULES)


@attrs.frozen
class DeviceTree:
    """The device tree's ``model`` and ``compatible`` entries; both empty when it is hidden."""

    model: str | None
    compatible: tuple[str, ...]
    source: str | None


@attrs.frozen
class ModuleIdentity:
    """What ``compatible`` says: module part and carrier part, the SoC, and the known module if any."""

    module_part: str | None = None
    carrier_part: str | None = None
    soc: str | None = None
    module: JetsonModule | None = None


def read_device_tree(host: Host) -> DeviceTree:
    """``model`` and ``compatible`` from the first device-tree location that has them."""
    for directory in DEVICE_TREE_FILES:
        compatible_text = host.read_text(f"{directory}/compatible")
        model_text = host.read_text(f"{directory}/model")
        if compatible_text is None and model_text is None:
            continue
        entries = [entry.strip()[:_MAX_TEXT] for entry in (compatible_text or "").split("\0")]
        model = (model_text or "").replace("\0", "").strip()[:_MAX_TEXT] or None
        return DeviceTree(model, tuple(entry for entry in entries if entry)[:_MAX_COMPATIBLE_ENTRIES], directory)
    return DeviceTree(None, (), None)


def identify_module(compatible: tuple[str, ...]) -> ModuleIdentity:
    """The module, carrier and SoC named by ``compatible`` entries (``nvidia,p3737-0000+p3701-0005``)."""
    soc = None
    module_part = carrier_part = None
    for entry in compatible:
        vendor, _, name = entry.partition(",")
        if vendor != "nvidia":
            continue
        if re.fullmatch(r"tegra\d{3}", name):
            soc = soc or name
            continue
        parts = [part for part in name.split("+") if re.fullmatch(r"p\d{4}-\d{4}(-[a-z0-9]+)?", part)]
        for part in parts:
            if part[:5] in _MODULE_FAMILIES:
                module_part = module_part or part
            else:
                carrier_part = carrier_part or part
    module = next((known for known in _MODULES if module_part and known.matches(module_part)), None)
    if module is not None and soc is None:
        soc = module.soc
    return ModuleIdentity(module_part=module_part, carrier_part=carrier_part, soc=soc, module=module)

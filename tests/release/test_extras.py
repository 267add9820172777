"""What each extra of the released meta-distribution pulls, read from the built wheels' own metadata:
exactly the modelrt distributions and runtimes its row of the hardware matrix needs, and never two builds of
one runtime. Offline; ``test_install_from_dist.py`` checks the same with pip for ``[onnx]``."""

from __future__ import annotations

import zipfile
from email.message import Message
from email.parser import Parser

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.release import Release

RUNTIMES = {"onnxruntime", "onnxruntime-gpu", "torch", "tensorrt-cu12", "tensorrt-cu13", "cuda-python"} | {
    "huggingface-hub",
    "ray",
}
BASE = {"modelrt", "modelrt-core"}
EXPECTED = {
    "onnx": (BASE | {"modelrt-onnx"}, {"onnxruntime"}),
    "onnx-gpu": (BASE | {"modelrt-onnx"}, {"onnxruntime-gpu"}),
    "torch": (BASE | {"modelrt-torch"}, {"torch"}),
    "cpu": (BASE | {"modelrt-onnx", "modelrt-torch"}, {"onnxruntime", "torch"}),
    "trt-cu12": (BASE | {"modelrt-trt"}, {"tensorrt-cu12", "cuda-python"}),
    "trt-cu13": (BASE | {"modelrt-trt"}, {"tensorrt-cu13", "cuda-python"}),
    # On a Jetson the runtimes come from JetPack and the Jetson wheel index, never from these extras.
    "jetson": (BASE | {"modelrt-jetson", "modelrt-onnx", "modelrt-torch", "modelrt-trt"}, set()),
    "hub": (BASE, {"huggingface-hub"}),
    "ray": (BASE, {"ray"}),
}


def metadata(released: Release, name: str) -> Message:
    """The ``METADATA`` of the released wheel of ``name``."""
    (distribution,) = [distribution for distribution in released.distributions if distribution.name == name]
    (wheel,) = [path for path in released.files if path.name == f"{distribution.file_stem}-py3-none-any.whl"]
    with zipfile.ZipFile(wheel) as archive:
        return Parser().parsestr(archive.read(f"{distribution.file_stem}.dist-info/METADATA").decode())


def pulled(released: Release, extra: str) -> tuple[set[str], set[str]]:
    """The modelrt distributions and the runtimes ``modelrt[extra]`` pulls, following the released wheels'
    ``Requires-Dist`` with the extras each requirement asks for (markers evaluated for this Python)."""
    requires = {
        canonicalize_name(distribution.name): [
            Requirement(line) for line in metadata(released, distribution.name).get_all("Requires-Dist", [])
        ]
        for distribution in released.distributions
    }
    modelrt, others = set(), set()
    pending = [Requirement(f"modelrt[{extra}]")]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name not in requires:
            others.add(name)
            continue
        modelrt.add(name)
        for extra_name in {"", *requirement.extras}:
            pending += [
                needed
                for needed in requires[name]
                if (needed.marker.evaluate({"extra": extra_name}) if needed.marker else not extra_name)
            ]
    return modelrt, others & RUNTIMES


@pytest.mark.parametrize("extra", sorted(EXPECTED))
def test_each_extra_pulls_exactly_the_distributions_and_runtimes_of_its_row(
    released_modelrt: Release, extra: str
) -> None:
    assert pulled(released_modelrt, extra) == EXPECTED[extra]


def test_every_extra_of_the_meta_distribution_is_covered(released_modelrt: Release) -> None:
    assert set(metadata(released_modelrt, "modelrt").get_all("Provides-Extra", [])) == set(EXPECTED)

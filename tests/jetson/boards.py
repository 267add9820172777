"""The fixture table: fake hosts for every row of the matrix, and what modelrt must conclude on each.

Reviewed by hand against ``HARDWARE.md`` (and the design's matrix):

- ``/etc/nv_tegra_release`` line 1: ``# R36 (release), REVISION: 4.0`` is L4T 36.4.0, JetPack 6.1;
  ``# R35 (release), REVISION: 4.1`` is L4T 35.4.1, JetPack 5.1.2; R35 2.1 is 5.1, R35 3.1 is 5.1.1;
  R36 3.0 is 6.0; R36 4.3 is 6.2; R38 2.0 is 7.0 (Thor); R32 7.4 is 4.6.x; R40 is unknown.
- ``compatible`` part numbers: AGX Orin 64GB ``p3701-0005`` (carrier ``p3737-0000``), Orin NX 16GB
  ``p3767-0000`` / 8GB ``-0001`` (carrier ``p3768-0000``), Orin Nano devkit ``p3767-0005``, Xavier NX
  ``p3668-*``, AGX Xavier ``p2888-*``, AGX Thor devkit ``p3834-0008`` (carrier ``p4071-0000``); SoCs
  tegra234 (compute 8.7), tegra194 (7.2), tegra264 (11.0). DLA: AGX Orin 2, Orin NX 16GB 2, 8GB 1,
  Xavier 2, Orin Nano and Thor unknown. Model strings are shown, never trusted.
- Libraries as JetPack names them: ``libnvinfer.so.10.3.0`` (JetPack 6.1/6.2), ``.so.8.5.2`` (5.1.x),
  ``.so.8.6.2`` (6.0), ``.so.10.13.3`` (7.0); ``libcudnn.so.9.3.0`` / ``8.6.0`` / ``8.9.4`` / ``9.12.0``;
  CUDA ``version.json`` 12.6.68 / 11.4.315 / 13.0.48; bindings in ``python3.10`` / ``3.8`` / ``3.12``.
- Install commands: ``modelrt[jetson]`` from PyPI, then ``onnxruntime-gpu`` and ``torch`` from
  ``https://pypi.jetson-ai-lab.io/jp6/cu{CUDA major}{minor}`` on JetPack 6 and ``.../sbsa/cu130`` on
  Thor; nothing on a JetPack 5.1 board itself (not possible) or an older JetPack.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from modelrt.host import Host
from modelrt.specs import Severity, Status
from modelrt.testing.hosts import (
    JETSON_AGX_ORIN_COMPATIBLE,
    JETSON_AGX_ORIN_MODEL,
    JETSON_AGX_THOR_COMPATIBLE,
    JETSON_AGX_THOR_MODEL,
    JETSON_ORIN_NANO_COMPATIBLE,
    JETSON_ORIN_NANO_MODEL,
    JETSON_ORIN_NX_16GB_COMPATIBLE,
    JETSON_ORIN_NX_MODEL,
    JETSON_R35_TEGRA_RELEASE,
    JETSON_R36_TEGRA_RELEASE,
    JETSON_XAVIER_NX_COMPATIBLE,
    JETSON_XAVIER_NX_MODEL,
    make_jetson_host,
    make_linux_host,
    make_macos_host,
    make_windows_host,
    tegra_release_line,
    write_dpkg_status,
    write_jetson_libraries,
)

JETSON = 'pip install "modelrt[jetson]"'
JP6_CU126 = 'pip install "onnxruntime-gpu" "torch" --index-url https://pypi.jetson-ai-lab.io/jp6/cu126'
JP6_CU124 = 'pip install "onnxruntime-gpu" "torch" --index-url https://pypi.jetson-ai-lab.io/jp6/cu124'
THOR_CU130 = 'pip install "onnxruntime-gpu" "torch" --index-url https://pypi.jetson-ai-lab.io/sbsa/cu130'
ONNX = 'pip install "modelrt[onnx]"'
#: On an NVIDIA GPU: TensorRT first (for the driver's CUDA major, 12 on these hosts), ONNX Runtime for the rest.
NVIDIA_GPU = 'pip install "modelrt[onnx-gpu]" "modelrt[trt-cu12]"'

ORIN_NX_8GB_COMPATIBLE = ("nvidia,p3768-0000+p3767-0001", "nvidia,p3767-0001", "nvidia,tegra234")
AGX_XAVIER_COMPATIBLE = ("nvidia,p2822-0000+p2888-0001", "nvidia,p2888-0001", "nvidia,tegra194")


@attrs.frozen
class Libraries:
    """JetPack's library versions on a board (``None`` leaves one out)."""

    tensorrt: str | None
    cudnn: str | None
    cuda: str | None
    python: str | None


JETPACK_61_LIBRARIES = Libraries("10.3.0", "9.3.0", "12.6.68", "3.10")
JETPACK_51_LIBRARIES = Libraries("8.5.2", "8.6.0", "11.4.315", "3.8")


@attrs.frozen
class JetsonBoard:
    """A Jetson fake root (what its files say) and what modelrt must conclude about it."""

    id: str
    tegra_release: str | None
    compatible: tuple[str, ...] | None
    model: str | None
    docker: bool
    libraries: Libraries | None
    # What must be concluded:
    l4t: str | None
    jetpack: str | None
    module: str | None
    soc: str | None
    compute_capability: str | None
    dla_cores: int | None
    row: str
    status: Status
    severity: Severity
    install_commands: tuple[str, ...]
    l4t_core_package: str | None = None

    def build(self, root: Path) -> Host:
        host = make_jetson_host(
            root, nv_tegra_release=self.tegra_release, compatible=self.compatible, model=self.model, docker=self.docker
        )
        if self.libraries is not None:
            write_jetson_libraries(root, **attrs.asdict(self.libraries))
        if self.l4t_core_package is not None:
            write_dpkg_status(root, {"nvidia-l4t-core": self.l4t_core_package})
        return host


JETSON_BOARDS = (
    JetsonBoard(
        "jp61-agx-orin-bare-metal",
        JETSON_R36_TEGRA_RELEASE,
        JETSON_AGX_ORIN_COMPATIBLE,
        JETSON_AGX_ORIN_MODEL,
        docker=False,
        libraries=JETPACK_61_LIBRARIES,
        l4t="36.4.0",
        jetpack="6.1",
        module="Jetson AGX Orin 64GB",
        soc="tegra234",
        compute_capability="8.7",
        dla_cores=2,
        row="jetson-jp61-bare-metal",
        status=Status.EXPERIMENTAL,
        severity=Severity.WARNING,
        install_commands=(JETSON, JP6_CU126),
    ),
    JetsonBoard(
        "jp61-orin-nano-docker",
        tegra_release_line("36.4.2"),
        JETSON_ORIN_NANO_COMPATIBLE,
        JETSON_ORIN_NANO_MODEL,
        docker=True,
        libraries=JETPACK_61_LIBRARIES,
        l4t="36.4.2",
        jetpack="6.1",
        module=None,  # Docker hides the device tree
        soc="tegra234",  # L4T R36 runs on Orin only
        compute_capability="8.7",
        dla_cores=None,
        row="jetson-jp61-docker",
        status=Status.STABLE,
        severity=Severity.INFO,
        install_commands=(JETSON, JP6_CU126),
    ),
    JetsonBoard(
        "jp51-orin-nx-bare-metal",
        JETSON_R35_TEGRA_RELEASE,
        JETSON_ORIN_NX_16GB_COMPATIBLE,
        JETSON_ORIN_NX_MODEL,
        docker=False,
        libraries=JETPACK_51_LIBRARIES,
        l4t="35.4.1",
        jetpack="5.1.2",
        module="Jetson Orin NX 16GB",
        soc="tegra234",
        compute_capability="8.7",
        dla_cores=2,
        row="jetson-jp51-bare-metal",
        status=Status.NOT_POSSIBLE,
        severity=Severity.ERROR,
        install_commands=(),
    ),
    JetsonBoard(
        "jp51-xavier-nx-bare-metal",
        tegra_release_line("35.3.1", board="t186ref"),
        JETSON_XAVIER_NX_COMPATIBLE,
        JETSON_XAVIER_NX_MODEL,
        docker=False,
        libraries=JETPACK_51_LIBRARIES,
        l4t="35.3.1",
        jetpack="5.1.1",
        module="Jetson Xavier NX",
        soc="tegra194",
        compute_capability="7.2",
        dla_cores=2,
        row="jetson-jp51-bare-metal",
        status=Status.NOT_POSSIBLE,
        severity=Severity.ERROR,
        install_commands=(),
    ),
    JetsonBoard(
        "jp51-docker",
        tegra_release_line("35.2.1", board="t186ref"),
        JETSON_XAVIER_NX_COMPATIBLE,
        JETSON_XAVIER_NX_MODEL,
        docker=True,
        libraries=JETPACK_51_LIBRARIES,
        l4t="35.2.1",
        jetpack="5.1",
        module=None,
        soc=None,  # R35 runs on Xavier and Orin: a hidden device tree leaves it open
        compute_capability=None,
        dla_cores=None,
        row="jetson-jp51-docker",
        status=Status.STABLE,
        severity=Severity.INFO,
        install_commands=(JETSON,),
    ),
    JetsonBoard(
        "jp60-orin-nano-without-cuda",
        tegra_release_line("36.3.0"),
        JETSON_ORIN_NANO_COMPATIBLE,
        JETSON_ORIN_NANO_MODEL,
        docker=False,
        libraries=Libraries("8.6.2", "8.9.4", None, "3.10"),
        l4t="36.3.0",
        jetpack="6.0",
        module="Jetson Orin Nano Developer Kit",
        soc="tegra234",
        compute_capability="8.7",
        dla_cores=None,
        row="jetson-outside-matrix",
        status=Status.OUTSIDE_VERIFIED_MATRIX,
        severity=Severity.WARNING,
        install_commands=(JETSON, JP6_CU124),  # no CUDA on the board: the one L4T 36.3 ships
    ),
    JetsonBoard(
        "jp62-orin-nx-8gb",
        tegra_release_line("36.4.3"),
        ORIN_NX_8GB_COMPATIBLE,
        JETSON_ORIN_NX_MODEL,
        docker=False,
        libraries=JETPACK_61_LIBRARIES,
        l4t="36.4.3",
        jetpack="6.2",
        module="Jetson Orin NX 8GB",
        soc="tegra234",
        compute_capability="8.7",
        dla_cores=1,
        row="jetson-outside-matrix",
        status=Status.OUTSIDE_VERIFIED_MATRIX,
        severity=Severity.WARNING,
        install_commands=(JETSON, JP6_CU126),
    ),
    JetsonBoard(
        "jp7-agx-thor",
        tegra_release_line("38.2.0"),
        JETSON_AGX_THOR_COMPATIBLE,
        JETSON_AGX_THOR_MODEL,
        docker=False,
        libraries=Libraries("10.13.3", "9.12.0", "13.0.48", "3.12"),
        l4t="38.2.0",
        jetpack="7.0",
        module="Jetson AGX Thor Developer Kit",
        soc="tegra264",
        compute_capability="11.0",
        dla_cores=None,
        row="jetson-outside-matrix",
        status=Status.OUTSIDE_VERIFIED_MATRIX,
        severity=Severity.WARNING,
        install_commands=(JETSON, THOR_CU130),
    ),
    JetsonBoard(
        "jp46-agx-xavier",
        tegra_release_line("32.7.4", board="t186ref"),
        AGX_XAVIER_COMPATIBLE,
        "jetson-xavier",
        docker=False,
        libraries=Libraries("8.2.1", "8.2.1", "10.2.300", "3.6"),
        l4t="32.7.4",
        jetpack="4.6.x",
        module="Jetson AGX Xavier",
        soc="tegra194",
        compute_capability="7.2",
        dla_cores=2,
        row="jetson-outside-matrix",
        status=Status.OUTSIDE_VERIFIED_MATRIX,
        severity=Severity.WARNING,
        install_commands=(),
    ),
    JetsonBoard(
        "unknown-l4t-in-a-plain-ubuntu-container",
        None,
        None,
        None,
        docker=True,
        libraries=None,
        l4t=None,
        jetpack=None,
        module=None,
        soc=None,
        compute_capability=None,
        dla_cores=None,
        row="jetson-unknown",
        status=Status.UNKNOWN,
        severity=Severity.WARNING,
        install_commands=(JETSON,),
    ),
    JetsonBoard(
        "unknown-future-l4t",
        "# R40 (release), REVISION: 1.0, GCID: 45000000, BOARD: generic, EABI: aarch64, DATE: Mon Jan  5 2026",
        JETSON_AGX_THOR_COMPATIBLE,
        JETSON_AGX_THOR_MODEL,
        docker=False,
        libraries=None,
        l4t="40.1.0",
        jetpack=None,
        module="Jetson AGX Thor Developer Kit",
        soc="tegra264",
        compute_capability="11.0",
        dla_cores=None,
        row="jetson-unknown",
        status=Status.UNKNOWN,
        severity=Severity.WARNING,
        install_commands=(),
    ),
    JetsonBoard(
        "l4t-from-the-dpkg-status-file",
        None,
        JETSON_AGX_ORIN_COMPATIBLE,
        JETSON_AGX_ORIN_MODEL,
        docker=False,
        libraries=JETPACK_61_LIBRARIES,
        l4t="36.4.0",
        jetpack="6.1",
        module="Jetson AGX Orin 64GB",
        soc="tegra234",
        compute_capability="8.7",
        dla_cores=2,
        row="jetson-jp61-bare-metal",
        status=Status.EXPERIMENTAL,
        severity=Severity.WARNING,
        install_commands=(JETSON, JP6_CU126),
        l4t_core_package="36.4.0-20240912212859",
    ),
)


@attrs.frozen
class GenericHost:
    """A host of a generic row (the core judges it) and what must be concluded: never a Jetson."""

    id: str
    build: Callable[[Path], Host]
    row: str
    status: Status
    severity: Severity
    install_commands: tuple[str, ...]


GENERIC_HOSTS = (
    GenericHost(
        "linux-x86_64-cpu-ubuntu-22.04",
        lambda root: make_linux_host(root),
        "cpu-x86_64-linux",
        Status.STABLE,
        Severity.INFO,
        (ONNX,),
    ),
    GenericHost(
        "linux-x86_64-cpu-ubuntu-20.04-docker",
        lambda root: make_linux_host(root, version="20.04", docker=True),
        "cpu-x86_64-linux",
        Status.STABLE,
        Severity.INFO,
        (ONNX,),
    ),
    GenericHost(
        "linux-x86_64-cpu-rhel-9",
        lambda root: make_linux_host(root, distro="rhel", version="9.4"),
        "cpu-x86_64-linux",
        Status.STABLE,
        Severity.INFO,
        (ONNX,),
    ),
    GenericHost(
        "linux-aarch64-cpu-that-is-no-jetson",
        lambda root: make_linux_host(root, machine="aarch64", version="24.04"),
        "cpu-aarch64-linux",
        Status.OUTSIDE_VERIFIED_MATRIX,
        Severity.WARNING,
        (ONNX,),
    ),
    GenericHost(
        "nvidia-ubuntu-22.04",
        lambda root: make_linux_host(root, version="22.04", nvidia_driver="550.54.14"),
        "nvidia-ubuntu",
        Status.STABLE,
        Severity.INFO,
        (NVIDIA_GPU,),
    ),
    GenericHost(
        "nvidia-ubuntu-24.04",
        lambda root: make_linux_host(root, version="24.04", nvidia_driver="550.54.14"),
        "nvidia-ubuntu",
        Status.STABLE,
        Severity.INFO,
        (NVIDIA_GPU,),
    ),
    GenericHost(
        "nvidia-ubuntu-20.04",
        lambda root: make_linux_host(root, version="20.04", nvidia_driver="535.183.01"),
        "nvidia-other-linux",
        Status.REQUIRES_VERIFICATION,
        Severity.WARNING,
        (NVIDIA_GPU,),
    ),
    GenericHost(
        "nvidia-debian-12",
        lambda root: make_linux_host(root, distro="debian", version="12", nvidia_driver="535.183.01"),
        "nvidia-other-linux",
        Status.REQUIRES_VERIFICATION,
        Severity.WARNING,
        (NVIDIA_GPU,),
    ),
    GenericHost(
        "nvidia-rhel-9",
        lambda root: make_linux_host(root, distro="rhel", version="9.4", nvidia_driver="550.54.14"),
        "nvidia-other-linux",
        Status.REQUIRES_VERIFICATION,
        Severity.WARNING,
        (NVIDIA_GPU,),
    ),
    GenericHost(
        "macos-x86_64",
        lambda root: make_macos_host(root, machine="x86_64"),
        "cpu-x86_64-macos",
        Status.STABLE,
        Severity.INFO,
        (ONNX,),
    ),
    GenericHost(
        "macos-apple-silicon",
        lambda root: make_macos_host(root, machine="arm64"),
        "cpu-apple-silicon-macos",
        Status.STABLE,
        Severity.INFO,
        (ONNX,),
    ),
    GenericHost(
        "windows-11",
        lambda root: make_windows_host(root),
        "windows",
        Status.NOT_TESTED,
        Severity.WARNING,
        (ONNX,),
    ),
)

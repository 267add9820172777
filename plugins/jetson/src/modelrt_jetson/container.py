"""Whether a Jetson process runs in a container, and which L4T image a container route should use.

The marks are Docker's and Podman's own files, the init process's cgroup, what NVIDIA's L4T images
set (``NVIDIA_VISIBLE_DEVICES``, read by the NVIDIA container runtime), and a Jetson kernel whose
device tree is hidden, as Docker hides ``/sys/firmware`` where ``/proc/device-tree`` points.

Images must match the host's L4T: an R35 host runs R35 images; R36.0 to 36.3 and R36.4+ are separate
ABI groups (``HARDWARE.md``).
"""

from __future__ import annotations

from modelrt.host import Host
from modelrt_jetson.l4t import L4TVersion

__all__ = ["L4T_JETPACK_IMAGE", "container_marks", "l4t_jetpack_image"]

#: NVIDIA's JetPack container image on NGC; its tags are L4T releases.
L4T_JETPACK_IMAGE = "nvcr.io/nvidia/l4t-jetpack"


def container_marks(host: Host, kernel_release: str | None, device_tree_seen: bool) -> tuple[str, ...]:
    """What shows that this process runs in a container; empty on bare metal."""
    marks = []
    if host.exists(".dockerenv"):
        marks.append("/.dockerenv exists (Docker)")
    if host.exists("run/.containerenv"):
        marks.append("/run/.containerenv exists (Podman)")
    init_cgroup = host.read_text("proc/1/cgroup") or ""
    if any(word in init_cgroup for word in ("/docker", "kubepods", "libpod")):
        marks.append("/proc/1/cgroup names a container")
    if host.env("NVIDIA_VISIBLE_DEVICES") is not None:
        marks.append("NVIDIA_VISIBLE_DEVICES is set, as NVIDIA's L4T images set it")
    if kernel_release and kernel_release.endswith("-tegra") and not device_tree_seen:
        marks.append("the device tree is hidden under a Jetson kernel, as Docker hides it")
    return tuple(marks)


def l4t_jetpack_image(l4t: L4TVersion) -> str | None:
    """The ``l4t-jetpack`` image for a host on ``l4t``, where one of its ABI group is published."""
    if l4t.major == 35:
        return f"{L4T_JETPACK_IMAGE}:r35.4.1"
    if l4t.major == 36 and l4t >= L4TVersion(36, 4, 0):
        return f"{L4T_JETPACK_IMAGE}:r36.4.0"
    if l4t.major == 36 and l4t.minor in (2, 3):
        return f"{L4T_JETPACK_IMAGE}:r36.{l4t.minor}.0"
    return None

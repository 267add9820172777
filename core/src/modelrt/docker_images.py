"""modelrt's Docker images: which folder of ``docker/`` serves each matrix row, and the label each image writes.

Every row whose install methods include Docker has an image built from the root of a modelrt clone
(the build context must hold ``core/`` and ``plugins/``). Each image also writes a label file that
``modelrt env`` reads to name the image it runs in (``modelrt.image_label``).
"""

from __future__ import annotations

import attrs

__all__ = [
    "CPU_IMAGE",
    "CUDA_IMAGE",
    "DOCKER_IMAGES",
    "JETSON_JP5_IMAGE",
    "JETSON_JP6_IMAGE",
    "DockerImage",
    "image_for_row",
]


@attrs.frozen
class DockerImage:
    """One image: its folder under the clone's root, the tag the README uses, and how to build and run it.

    ``build_options`` and ``run_options`` are the extra words of ``docker build`` and ``docker run``
    (``--target onnx``, ``--runtime nvidia``); ``builds_on`` says where a build can succeed.
    """

    name: str
    folder: str
    build_options: tuple[str, ...] = ()
    run_options: tuple[str, ...] = ()
    builds_on: str = "any machine with Docker"

    @property
    def dockerfile(self) -> str:
        """The Dockerfile's path from the clone's root."""
        return f"{self.folder}/Dockerfile"

    @property
    def tag(self) -> str:
        """The local tag the build command gives the image."""
        return f"modelrt:{self.name}"

    @property
    def build_command(self) -> str:
        """``docker build`` run in the root of a modelrt clone, the build context every image needs."""
        return " ".join(["docker build -f", self.dockerfile, *self.build_options, "-t", self.tag, "."])

    @property
    def run_command(self) -> str:
        """``docker run`` of the image's default command, ``modelrt env``."""
        return " ".join(["docker run --rm", *self.run_options, self.tag])


CPU_IMAGE = DockerImage("cpu-onnx", "docker/cpu", build_options=("--target onnx",))
CUDA_IMAGE = DockerImage(
    "cuda-onnx-trt",
    "docker/cuda",
    run_options=("--gpus all",),
    builds_on="any x86_64 machine with Docker; it runs on an NVIDIA GPU host with the NVIDIA Container Toolkit",
)
JETSON_JP6_IMAGE = DockerImage(
    "jetson-jp6",
    "docker/jetson-jp6",
    run_options=("--runtime nvidia",),
    builds_on="a Jetson on JetPack 6.1 (L4T r36.4), or an arm64 builder",
)
JETSON_JP5_IMAGE = DockerImage(
    "jetson-jp5",
    "docker/jetson-jp5",
    run_options=("--runtime nvidia",),
    builds_on="a Jetson on JetPack 5.1.x (L4T r35), where it compiles onnxruntime for about two hours",
)
DOCKER_IMAGES: tuple[DockerImage, ...] = (CPU_IMAGE, CUDA_IMAGE, JETSON_JP6_IMAGE, JETSON_JP5_IMAGE)

#: Matrix row (and off-matrix row) ids → the image that serves them. Rows without Docker have none.
_IMAGE_BY_ROW: dict[str, DockerImage] = {
    "cpu-x86_64-linux": CPU_IMAGE,
    "cpu-aarch64-linux": CPU_IMAGE,
    "cpu-x86_64-macos": CPU_IMAGE,
    "cpu-apple-silicon-macos": CPU_IMAGE,
    "nvidia-ubuntu": CUDA_IMAGE,
    "nvidia-other-linux": CUDA_IMAGE,
    "jetson-jp61-docker": JETSON_JP6_IMAGE,
    "jetson-jp61-bare-metal": JETSON_JP6_IMAGE,
    "jetson-jp51-docker": JETSON_JP5_IMAGE,
    "jetson-jp51-bare-metal": JETSON_JP5_IMAGE,
}


def image_for_row(row_id: str) -> DockerImage | None:
    """The image for a row of the matrix, or ``None`` where Docker is no route (Windows, unknown hosts)."""
    return _IMAGE_BY_ROW.get(row_id)

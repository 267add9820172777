"""The core's own plugin: built-in architectures, the local-directory and Hub sources, the generic matrix rows.

It registers through the same hooks as any third-party plugin, so built-ins get no special path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from modelrt.hookspecs import hookimpl
from modelrt.specs import ArchitectureSpec, Finding, SourceSpec

if TYPE_CHECKING:
    from modelrt.host_environment import Environment

PLUGIN_NAME = "builtin"


@hookimpl
def register_architectures() -> Iterable[ArchitectureSpec]:
    return [
        ArchitectureSpec("yolov8", ("object-detection",), "modelrt.architectures.yolo:YOLOv8", mps_capable=True),
        ArchitectureSpec("yolov5", ("object-detection",), "modelrt.architectures.yolo:YOLOv5", mps_capable=True),
        # DETR family: static shapes and no NMS in the graph (see modelrt.architectures.detr), so MPS-capable.
        ArchitectureSpec("rf-detr", ("object-detection",), "modelrt.architectures.detr:RFDETR", mps_capable=True),
        ArchitectureSpec("rt-detr", ("object-detection",), "modelrt.architectures.detr:RTDETR", mps_capable=True),
        ArchitectureSpec("detr", ("object-detection",), "modelrt.architectures.detr:DETR", mps_capable=True),
        ArchitectureSpec(
            "yolov8-seg",
            ("instance-segmentation",),
            "modelrt.architectures.yolo_seg:YOLOv8Segmentation",
            mps_capable=True,
        ),
        ArchitectureSpec(
            "yolov8-pose", ("keypoint-detection",), "modelrt.architectures.yolo_pose:YOLOv8Pose", mps_capable=True
        ),
        ArchitectureSpec(
            "yolov8-obb", ("oriented-detection",), "modelrt.architectures.yolo_obb:YOLOv8OBB", mps_capable=True
        ),
        ArchitectureSpec(
            "image-classifier",
            ("classification",),
            "modelrt.architectures.classifier:ImageClassifier",
            mps_capable=True,
        ),
        # One pass over a fixed-size input with numpy post-processing, as for image-classifier.
        ArchitectureSpec(
            "image-embedder", ("embedding",), "modelrt.architectures.embedder:ImageEmbedder", mps_capable=True
        ),
        ArchitectureSpec(
            "semantic-segmenter",
            ("semantic-segmentation",),
            "modelrt.architectures.semantic_segmenter:SemanticSegmenter",
            mps_capable=True,
        ),
        ArchitectureSpec("db-text-detector", ("text-detection",), "modelrt.architectures.db_text:DBTextDetector"),
        # Not MPS-capable: every pyramid level and crop batch has its own shape (see the module docstring).
        ArchitectureSpec(
            "mtcnn", ("object-detection", "keypoint-detection"), "modelrt.architectures.mtcnn:MTCNN", mps_capable=False
        ),
    ]


@hookimpl
def register_sources() -> Iterable[SourceSpec]:
    return [
        SourceSpec("local-directory", ("dir:modelrt.json",), 100, "modelrt.packages:LocalDirectorySource"),
        # huggingface-hub is imported only when an hf:// model is opened (extra modelrt-core[hub]).
        SourceSpec("huggingface-hub", ("hf://",), 100, "modelrt.hub.source:HubSource"),
    ]


@hookimpl
def check_compatibility(env: Environment) -> Iterable[Finding]:
    from modelrt.compatibility import core_findings

    return core_findings(env)

"""A Transformers/Optimum ONNX image classifier repository (``config.json``, ``preprocessor_config.json``,
``onnx/model.onnx``) loads as an ``image-classifier``, its image processor's settings mapped exactly or
refused by name."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

import modelrt
from modelrt.errors import PackageError

from .conftest import LABELS, SIDE, linear_classifier
from .emulator import HubEmulator

WEIGHTS = np.array([[2.0, -1.0, 0.5], [0.0, 1.5, -2.0], [-1.0, 0.5, 1.0]])
BIAS = np.array([0.1, -0.2, 0.3], np.float32)
VIT_PROCESSOR = {
    "image_processor_type": "ViTImageProcessor",
    "do_resize": True,
    "size": {"height": SIDE, "width": SIDE},
    "resample": 2,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}


def config() -> bytes:
    labels = dict(enumerate(LABELS))
    return json.dumps(
        {
            "architectures": ["ViTForImageClassification"],
            "id2label": {str(index): name for index, name in labels.items()},
            "label2id": {name: index for index, name in labels.items()},
        }
    ).encode()


def publish(hub: HubEmulator, processor: dict[str, Any], model_path: str = "onnx/model.onnx") -> None:
    hub.publish(
        "org/vit",
        {
            "config.json": config(),
            "preprocessor_config.json": json.dumps(processor).encode(),
            model_path: linear_classifier(WEIGHTS, BIAS),
            "onnx/model_quantized.onnx": b"never downloaded",
            "README.md": b"# a classifier\n",
        },
    )


def expected(rgb: tuple[int, int, int], mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    """transformers' pixel pipeline on a flat image, then the network, in float64: scale, normalise, pool."""
    channels = (np.array(rgb, np.float64) / 255 - mean) / std
    logits = channels @ WEIGHTS + BIAS.astype(np.float64)
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def flat(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (SIDE * 3, SIDE * 5, 3)).copy()


def test_a_transformers_onnx_classifier_repository_predicts_what_transformers_would(hub: HubEmulator) -> None:
    publish(hub, VIT_PROCESSOR)
    rgb = (200, 40, 90)
    with modelrt.load("hf://org/vit", device="cpu") as model:
        result = model.predict(flat(rgb), color="rgb")
        assert model.labels == LABELS and model.package.manifest.architecture == "image-classifier"
    np.testing.assert_allclose(result.probabilities, expected(rgb), rtol=1e-5, atol=1e-7)
    assert sorted(entry.path for entry in hub.downloads()) == [
        "config.json",
        "onnx/model.onnx",
        "preprocessor_config.json",
    ]


def test_a_detailed_image_is_resized_as_transformers_resizes_it_with_pillow(hub: HubEmulator) -> None:
    publish(hub, VIT_PROCESSOR)
    image = np.random.default_rng(3).integers(0, 256, (SIDE * 3 + 1, SIDE * 5 + 2, 3), dtype=np.uint8)
    resized = np.asarray(Image.fromarray(image).resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float64)
    channels = (resized.mean(axis=(0, 1)) / 255 - 0.5) / 0.5
    logits = channels @ WEIGHTS + BIAS.astype(np.float64)
    reference = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    with modelrt.load("hf://org/vit", device="cpu") as model:
        result = model.predict(image, color="rgb")
    np.testing.assert_allclose(result.probabilities, reference, rtol=1e-5, atol=1e-7)


def test_a_network_at_the_root_of_the_repository_is_found_too(hub: HubEmulator) -> None:
    publish(hub, VIT_PROCESSOR, model_path="model.onnx")
    with modelrt.load("hf://org/vit", device="cpu") as model:
        np.testing.assert_allclose(
            model.predict(flat((1, 2, 3)), color="rgb").probabilities, expected((1, 2, 3)), rtol=1e-5
        )


def test_a_cached_transformers_classifier_loads_offline_without_a_socket(
    hub: HubEmulator, request: pytest.FixtureRequest
) -> None:
    publish(hub, VIT_PROCESSOR)
    modelrt.load("hf://org/vit").close()
    request.getfixturevalue("no_sockets")
    with modelrt.load("hf://org/vit", device="cpu", offline=True) as model:
        np.testing.assert_allclose(
            model.predict(flat((9, 8, 7)), color="rgb").probabilities, expected((9, 8, 7)), rtol=1e-5
        )


def test_channel_order_flip_feeds_bgr(hub: HubEmulator) -> None:
    publish(hub, {**VIT_PROCESSOR, "do_flip_channel_order": True})
    with modelrt.load("hf://org/vit", device="cpu") as model:
        np.testing.assert_allclose(
            model.predict(flat((200, 40, 90)), color="rgb").probabilities, expected((90, 40, 200)), rtol=1e-5
        )


@pytest.mark.parametrize(
    ("settings", "mapped"),
    [
        (
            {"size": {"shortest_edge": SIDE}, "crop_pct": 0.875},
            {"size": (SIDE, SIDE), "resize": "shorter-side-center-crop", "crop_resize": int(SIDE / 0.875)},
        ),
        (
            {"size": {"shortest_edge": 10}, "do_center_crop": True, "crop_size": {"height": SIDE, "width": SIDE}},
            {"size": (SIDE, SIDE), "resize": "shorter-side-center-crop", "crop_resize": 10},
        ),
        ({"size": SIDE}, {"size": (SIDE, SIDE), "resize": "stretch"}),
        ({"do_rescale": False, "do_normalize": False}, {"scale": 1.0, "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}),
        ({"image_mean": 0.4, "image_std": 0.2}, {"mean": (0.4, 0.4, 0.4), "std": (0.2, 0.2, 0.2)}),
    ],
)
def test_image_processor_settings_map_onto_the_manifest_input(
    hub: HubEmulator, settings: dict[str, Any], mapped: dict[str, Any]
) -> None:
    publish(hub, {**VIT_PROCESSOR, **settings})
    with modelrt.load("hf://org/vit", device="cpu") as model:
        found = {key: getattr(model.package.manifest.input, key) for key in mapped}
    assert found == mapped


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"do_pad": True}, "sets 'do_pad'"),
        ({"rescale_offset": True}, "sets 'rescale_offset'"),
        ({"do_resize": False}, "do_resize to false"),
        ({"size": {"longest_edge": 224}}, "longest edge"),
        ({"size": {"shortest_edge": 224}}, "input size would change"),
        ({"do_center_crop": True, "crop_size": {"height": 4, "width": 4}}, "resizing to 8x8 then cropping to 4x4"),
        ({"resample": 9}, "not a Pillow resampling filter"),
        ({"image_mean": [0.5, 0.5]}, "image_mean must be three numbers"),
    ],
)
def test_settings_modelrt_cannot_reproduce_are_refused_by_name(
    hub: HubEmulator, settings: dict[str, Any], message: str
) -> None:
    publish(hub, {**VIT_PROCESSOR, **settings})
    with pytest.raises(PackageError, match=message):
        modelrt.load("hf://org/vit")


def test_a_resampling_filter_other_than_bilinear_loads_with_a_warning(
    hub: HubEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    publish(hub, {**VIT_PROCESSOR, "resample": 3})
    modelrt.load("hf://org/vit").close()
    assert "bicubic resizing; modelrt resizes with Pillow's antialiased bilinear filter" in caplog.text


def test_a_config_without_labels_is_not_taken_for_a_classifier(hub: HubEmulator) -> None:
    hub.publish(
        "org/vit",
        {
            "config.json": b'{"architectures": ["ViTModel"]}',
            "preprocessor_config.json": json.dumps(VIT_PROCESSOR).encode(),
            "onnx/model.onnx": linear_classifier(WEIGHTS, BIAS),
        },
    )
    with pytest.raises(PackageError, match="no 'id2label'"):
        modelrt.load("hf://org/vit")

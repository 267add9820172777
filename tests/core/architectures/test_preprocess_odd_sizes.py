"""The pre-processing tensor against a plain reference on odd image sizes, for every layout, dtype,
channel order and resize mode: the tensor writes only the part the image covers and fills the padding
around it, and must equal a whole padded canvas normalised in float64."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import PIL
import pytest
from PIL import Image

from modelrt.images import load_image
from modelrt.manifest import InputSpec
from modelrt.preprocess import ImageTransform, Preprocessor

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
ODD_SIZES = [(1, 1), (1, 4000), (4000, 1), (333, 517), (517, 333), (640, 640)]


def photo(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width, channels) if channels else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def reference_canvas(image: np.ndarray, transform: ImageTransform, input_spec: InputSpec) -> np.ndarray:
    """The whole input as an RGB uint8 image: resize the whole image, then pad or crop it into place."""
    resized_h, resized_w = transform.resized_size
    input_h, input_w = transform.input_size
    left, top = transform.offset
    pad_value = input_spec.pad_value
    if input_spec.interpolation == "antialiased-bilinear":
        resized = np.asarray(Image.fromarray(image).resize((resized_w, resized_h), Image.Resampling.BILINEAR))
    else:
        resized = cv2.resize(image, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR)
    resized = resized.reshape(resized_h, resized_w, 3)
    padded = np.pad(
        resized,
        ((max(top, 0), max(input_h - top - resized_h, 0)), (max(left, 0), max(input_w - left - resized_w, 0)), (0, 0)),
        constant_values=pad_value,
    )
    return padded[max(-top, 0) : max(-top, 0) + input_h, max(-left, 0) : max(-left, 0) + input_w]


def reference_tensor(image: np.ndarray, input_spec: InputSpec, transform: ImageTransform) -> np.ndarray:
    """One image's tensor as the spec asks, computed the long way (float64, then cast)."""
    pixels = reference_canvas(image, transform, input_spec)
    if input_spec.color == "bgr":
        pixels = pixels[:, :, ::-1]
    if input_spec.dtype == "uint8":
        values: np.ndarray = pixels
    else:
        normalised = (pixels * np.float64(input_spec.scale) - np.asarray(input_spec.mean)) / np.asarray(input_spec.std)
        values = normalised.astype(np.float32).astype(input_spec.dtype)
    return values.transpose(2, 0, 1) if input_spec.layout == "nchw" else values


CROP = {"resize": "shorter-side-center-crop", "size": (96, 96)}
SPECS: dict[str, dict[str, Any]] = {
    "letterbox nchw float32": {"mean": MEAN, "std": STD},
    "letterbox nchw uint8": {"dtype": "uint8", "pad_value": 3},
    "letterbox nchw float16 bgr": {"dtype": "float16", "color": "bgr", "mean": MEAN, "std": STD},
    "letterbox nhwc float32 bgr": {"layout": "nhwc", "color": "bgr", "mean": MEAN, "std": STD, "pad_value": 0},
    "letterbox nhwc uint8 bgr": {"layout": "nhwc", "dtype": "uint8", "color": "bgr"},
    "letterbox nhwc float16": {"layout": "nhwc", "dtype": "float16"},
    "stretch nchw float32": {"resize": "stretch", "size": (96, 160)},
    "centre crop nchw float32": {**CROP, "mean": MEAN, "std": STD},
    "centre crop nhwc uint8": {**CROP, "layout": "nhwc", "dtype": "uint8"},
    "small crop pads": {**CROP, "crop_resize": 64},
    "antialiased stretch": {"resize": "stretch", "size": (96, 160), "interpolation": "antialiased-bilinear"},
}


#: Pillow before 13 runs its two passes in another order for some sizes (one level apart in a few pixels).
OLD_PILLOW = int(PIL.__version__.split(".")[0]) < 13
SPEC_NAMES = [
    pytest.param(name, marks=pytest.mark.skipif(OLD_PILLOW, reason="Pillow < 13 rounds differently"))
    if "antialiased" in name
    else name
    for name in SPECS
]


def make_spec(fields: dict[str, Any]) -> InputSpec:
    return InputSpec(**{"size": (128, 128), **fields})


@pytest.mark.parametrize("name", SPEC_NAMES)
@pytest.mark.parametrize(("height", "width"), ODD_SIZES)
def test_the_tensor_equals_the_reference_exactly(name: str, height: int, width: int) -> None:
    input_spec = make_spec(SPECS[name])
    image = photo(height, width)
    tensor, (transform,) = Preprocessor(input_spec)([image])
    assert tensor.dtype == np.dtype(input_spec.dtype)
    np.testing.assert_array_equal(tensor[0], reference_tensor(image, input_spec, transform))


@pytest.mark.parametrize(("mode", "channels"), [("grayscale", 0), ("grayscale", 1), ("RGBA", 4)])
@pytest.mark.parametrize(("height", "width"), ODD_SIZES)
def test_grayscale_and_rgba_arrays_go_through_as_rgb(mode: str, channels: int, height: int, width: int) -> None:
    array = photo(height, width, channels)
    rgb = load_image(array, color="rgb")
    expected_rgb = cv2.cvtColor(array, cv2.COLOR_GRAY2RGB if mode == "grayscale" else cv2.COLOR_RGBA2RGB)
    np.testing.assert_array_equal(rgb, expected_rgb.reshape(height, width, 3))
    input_spec = make_spec(SPECS["letterbox nchw float32"])
    tensor, (transform,) = Preprocessor(input_spec)([rgb])
    np.testing.assert_array_equal(tensor[0], reference_tensor(expected_rgb, input_spec, transform))


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_a_reused_tensor_keeps_nothing_of_the_previous_image(name: str) -> None:
    # Landscape, then portrait, then a thin strip into the same buffers: each call's padding and content
    # cover the whole input, whatever the one before wrote where.
    input_spec = make_spec(SPECS[name])
    preprocess = Preprocessor(input_spec)
    for seed, (height, width) in enumerate([(333, 517), (517, 333), (1, 4000), (333, 517)]):
        image = photo(height, width, seed=seed)
        tensor, (transform,) = preprocess([image], batch_size=2)
        np.testing.assert_array_equal(tensor[0], reference_tensor(image, input_spec, transform))


def test_a_batch_fills_each_entry_for_its_own_image() -> None:
    input_spec = make_spec(SPECS["letterbox nchw float32"])
    images = [photo(333, 517, seed=1), photo(517, 333, seed=2)]
    tensor, transforms = Preprocessor(input_spec)(images)
    for index, (image, transform) in enumerate(zip(images, transforms, strict=True)):
        np.testing.assert_array_equal(tensor[index], reference_tensor(image, input_spec, transform))

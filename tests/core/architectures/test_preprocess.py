"""Preprocessing against a straightforward reference (cv2.resize, np.pad, float64 arithmetic, Pillow's resize),
buffer reuse, and the inverse mapping of boxes."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import PIL
import pytest
from PIL import Image

from modelrt.errors import InputError
from modelrt.manifest import InputSpec
from modelrt.preprocess import ImageTransform, Preprocessor, boxes_to_original, points_to_original

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def reference_letterbox(image: np.ndarray, size: int, pad_value: int) -> np.ndarray:
    """Ultralytics' LetterBox, written out: resize with the smaller gain, pad split around the centre."""
    height, width = image.shape[:2]
    gain = min(size / height, size / width)
    resized = cv2.resize(image, (round(width * gain), round(height * gain)), interpolation=cv2.INTER_LINEAR)
    pad_h, pad_w = (size - resized.shape[0]) / 2, (size - resized.shape[1]) / 2
    top, bottom = round(pad_h - 0.1), round(pad_h + 0.1)
    left, right = round(pad_w - 0.1), round(pad_w + 0.1)
    return np.pad(resized, ((top, bottom), (left, right), (0, 0)), constant_values=pad_value)


def reference_normalise(pixels: np.ndarray, scale: float, mean: Any, std: Any) -> np.ndarray:
    """HxWx3 uint8 in network channel order -> 3xHxW float32, computed in float64."""
    values = (pixels.astype(np.float64) * scale - np.asarray(mean)) / np.asarray(std)
    return values.astype(np.float32).transpose(2, 0, 1)


def spec(**fields: Any) -> InputSpec:
    return InputSpec(**{"size": (640, 640), **fields})


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize(("height", "width"), [(480, 640), (640, 480), (100, 1000), (999, 1000), (50, 60)])
def test_letterbox_matches_the_reference_exactly(height: int, width: int) -> None:
    image = photo(height, width)
    tensor, _ = Preprocessor(spec(mean=MEAN, std=STD))([image])
    expected = reference_normalise(reference_letterbox(image, 640, 114), 1 / 255, MEAN, STD)
    assert tensor.shape == (1, 3, 640, 640) and tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor[0], expected)


def test_letterbox_puts_the_odd_padding_pixel_bottom_right() -> None:
    # 1000x999 at gain 0.64 becomes 640x639: one padding column, on the right.
    tensor, (transform,) = Preprocessor(spec(dtype="uint8"))([np.full((1000, 999, 3), 7, np.uint8)])
    assert transform.offset == (0, 0) and transform.resized_size == (640, 639)
    assert (tensor[0, :, :, 639] == 114).all() and (tensor[0, :, :, 638] == 7).all()


def test_stretch_matches_cv2_resize_exactly() -> None:
    image = photo(300, 500)
    tensor, _ = Preprocessor(spec(size=(224, 320), resize="stretch", dtype="uint8"))([image])
    expected = cv2.resize(image, (320, 224), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
    np.testing.assert_array_equal(tensor[0], expected)


def test_shorter_side_center_crop_matches_torchvision_geometry() -> None:
    # Resize(256): 300x400 -> 256x341 (long side truncated), then CenterCrop(224): top 16, left round(58.5).
    image = photo(300, 400)
    tensor, (transform,) = Preprocessor(spec(size=(224, 224), resize="shorter-side-center-crop", dtype="uint8"))(
        [image]
    )
    expected = cv2.resize(image, (341, 256), interpolation=cv2.INTER_LINEAR)[16:240, 58:282]
    np.testing.assert_array_equal(tensor[0], expected.transpose(2, 0, 1))
    assert transform.offset == (-58, -16)


def test_crop_resize_smaller_than_the_input_pads_instead_of_cropping() -> None:
    preprocess = Preprocessor(spec(size=(224, 224), resize="shorter-side-center-crop", crop_resize=200, dtype="uint8"))
    tensor, _ = preprocess([np.full((200, 200, 3), 9, np.uint8)])
    assert (tensor[0, :, 12:212, 12:212] == 9).all()
    assert (tensor[0, :, :12] == 114).all() and (tensor[0, :, :, 212:] == 114).all()


def test_bgr_networks_get_the_channels_reversed() -> None:
    image = photo(64, 64)
    rgb, _ = Preprocessor(spec(size=(64, 64), dtype="uint8"))([image])
    bgr, _ = Preprocessor(spec(size=(64, 64), dtype="uint8", color="bgr"))([image])
    np.testing.assert_array_equal(bgr[0], rgb[0, ::-1])


def test_mean_and_std_apply_in_the_network_channel_order() -> None:
    image = photo(64, 64)
    tensor, _ = Preprocessor(spec(size=(64, 64), color="bgr", mean=MEAN, std=STD))([image])
    np.testing.assert_array_equal(tensor[0], reference_normalise(image[:, :, ::-1], 1 / 255, MEAN, STD))


def test_nhwc_layout_interleaves_channels() -> None:
    image = photo(480, 640)
    tensor, _ = Preprocessor(spec(layout="nhwc", color="bgr", mean=MEAN, std=STD))([image])
    expected = reference_normalise(reference_letterbox(image, 640, 114)[:, :, ::-1], 1 / 255, MEAN, STD)
    assert tensor.shape == (1, 640, 640, 3)
    np.testing.assert_array_equal(tensor[0], expected.transpose(1, 2, 0))


def test_uint8_nhwc_is_the_raw_letterboxed_image() -> None:
    image = photo(480, 640)
    tensor, _ = Preprocessor(spec(layout="nhwc", dtype="uint8"))([image])
    np.testing.assert_array_equal(tensor[0], reference_letterbox(image, 640, 114))


def test_float16_holds_the_float32_values_rounded() -> None:
    image = photo(480, 640)
    tensor, _ = Preprocessor(spec(dtype="float16", mean=MEAN, std=STD))([image])
    expected = reference_normalise(reference_letterbox(image, 640, 114), 1 / 255, MEAN, STD).astype(np.float16)
    assert tensor.dtype == np.float16
    np.testing.assert_array_equal(tensor[0], expected)


def test_pad_value_fills_the_letterbox_border() -> None:
    tensor, _ = Preprocessor(spec(dtype="uint8", pad_value=0))([photo(320, 640)])
    assert (tensor[0, :, :160] == 0).all() and (tensor[0, :, 480:] == 0).all()


def test_a_one_pixel_strip_keeps_one_row_in_the_letterbox() -> None:
    # 3000 x 1 at gain 640/3000 rounds to 0 rows; like Ultralytics, it keeps 1.
    tensor, (transform,) = Preprocessor(spec(dtype="uint8"))([np.full((1, 3000, 3), 9, np.uint8)])
    assert transform.resized_size == (1, 640) and transform.offset == (0, 319)
    assert (tensor[0, :, 319] == 9).all() and (tensor[0, :, 318] == 114).all()


# ------------------------------------------------------------------------------ Pillow's antialiased resize


def pillow_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


#: Pillow 13 runs the vertical pass first when the height shrinks far more than the width; modelrt does
#: the same. Older Pillow (the newest on Python 3.10 is 12) always starts horizontally, which rounds some
#: pixels one level apart.
PILLOW_PASS_ORDER = int(PIL.__version__.split(".")[0]) >= 13


def assert_matches_pillow(actual: np.ndarray, expected: np.ndarray, level: float = 1.0) -> None:
    """Bit-exact against Pillow 13 and later; within one pixel level of an older Pillow."""
    if PILLOW_PASS_ORDER:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=0, atol=level * 1.0001)


@pytest.mark.parametrize(
    ("image_size", "input_size"),
    [
        ((480, 640), (224, 224)),  # both axes shrink, the height less: horizontal pass first
        ((1000, 300), (64, 256)),  # the height shrinks far more: vertical pass first
        ((50, 70), (300, 200)),  # both grow
        ((200, 90), (100, 90)),  # only the height changes
        ((37, 411), (37, 128)),  # only the width changes
    ],
)
def test_antialiased_bilinear_stretch_matches_pillow_exactly(
    image_size: tuple[int, int], input_size: tuple[int, int]
) -> None:
    image = photo(*image_size)
    preprocess = Preprocessor(spec(size=input_size, resize="stretch", interpolation="antialiased-bilinear"))
    tensor, _ = preprocess([image])
    expected = reference_normalise(pillow_resize(image, *input_size), 1 / 255, (0, 0, 0), (1, 1, 1))
    assert_matches_pillow(tensor[0], expected, level=1 / 255)


# Random image and input sizes from 1 to 700 pixels, a fixed sample: shrinking, growing, mixed, thin.
RANDOM_SIZES = [tuple(map(int, sizes)) for sizes in np.random.default_rng(7).integers(1, 700, (40, 4))]


@pytest.mark.parametrize(("height", "width", "input_height", "input_width"), RANDOM_SIZES)
def test_antialiased_bilinear_matches_pillow_at_any_size(
    height: int, width: int, input_height: int, input_width: int
) -> None:
    image = photo(height, width, seed=height)
    preprocess = Preprocessor(
        spec(size=(input_height, input_width), resize="stretch", interpolation="antialiased-bilinear", dtype="uint8")
    )
    tensor, _ = preprocess([image])
    assert_matches_pillow(tensor[0], pillow_resize(image, input_height, input_width).transpose(2, 0, 1))


@pytest.mark.parametrize(("height", "width"), [(300, 400), (1080, 1920), (400, 300), (224, 224), (100, 150)])
def test_antialiased_shorter_side_center_crop_is_pillows_resize_then_torchvisions_crop(height: int, width: int) -> None:
    image = photo(height, width)
    preprocess = Preprocessor(
        spec(
            size=(224, 224),
            resize="shorter-side-center-crop",
            crop_resize=224,
            interpolation="antialiased-bilinear",
            dtype="uint8",
        )
    )
    tensor, (transform,) = preprocess([image])
    resized_h, resized_w = transform.resized_size
    left, top = -transform.offset[0], -transform.offset[1]
    expected = pillow_resize(image, resized_h, resized_w)[top : top + 224, left : left + 224]
    assert_matches_pillow(tensor[0], expected.transpose(2, 0, 1))


def test_antialiased_letterbox_pads_around_pillows_resize() -> None:
    image = photo(200, 1920)
    preprocess = Preprocessor(spec(size=(320, 320), interpolation="antialiased-bilinear", dtype="uint8"))
    tensor, (transform,) = preprocess([image])
    assert transform.resized_size == (33, 320) and transform.offset == (0, 143)
    assert_matches_pillow(tensor[0, :, 143:176], pillow_resize(image, 33, 320).transpose(2, 0, 1))
    assert (tensor[0, :, :143] == 114).all() and (tensor[0, :, 176:] == 114).all()


def test_antialiasing_averages_detail_that_opencv_bilinear_aliases() -> None:
    # One-pixel stripes shrunk 8.5 times: Pillow averages them to grey, OpenCV's 2x2 samples alias into bands.
    stripes = np.zeros((64, 512, 3), np.uint8)
    stripes[:, ::2] = 255
    size = {"size": (64, 60), "resize": "stretch", "dtype": "uint8"}
    antialiased, _ = Preprocessor(spec(**size, interpolation="antialiased-bilinear"))([stripes])
    plain, _ = Preprocessor(spec(**size))([stripes])
    assert np.ptp(antialiased) < 10 and np.ptp(plain) > 200


# ------------------------------------------------------------------------------ dynamic size


@pytest.mark.parametrize(
    ("image_size", "spec_size", "expected"),
    [
        ((191, 384), 736, (736, 1472)),  # 384 * 736 / 191 = 1479.7 -> 46.2 multiples -> 1472
        ((1000, 500), 320, (640, 320)),
        ((100, 150), 100, (96, 160)),  # 100 -> 3.125 multiples -> 96; 150 -> 4.69 -> 160
        ((300, 300), 8, (32, 32)),  # rounding to 0 multiples still gives one
    ],
)
def test_dynamic_size_scales_the_shorter_side_and_rounds_to_the_multiple(
    image_size: tuple[int, int], spec_size: int, expected: tuple[int, int]
) -> None:
    preprocess = Preprocessor(spec(size=(spec_size, spec_size), dynamic_size=True, size_multiple=32))
    tensor, (transform,) = preprocess([photo(*image_size)])
    assert transform.input_size == expected and tensor.shape == (1, 3, *expected)
    assert transform.scale == (expected[1] / image_size[1], expected[0] / image_size[0])


def test_dynamic_size_matches_a_plain_resize() -> None:
    image = photo(191, 384)
    tensor, _ = Preprocessor(spec(size=(736, 736), dynamic_size=True, dtype="uint8"))([image])
    np.testing.assert_array_equal(tensor[0], cv2.resize(image, (1472, 736)).transpose(2, 0, 1))


def test_images_with_different_input_sizes_cannot_share_a_batch() -> None:
    preprocess = Preprocessor(spec(size=(64, 64), dynamic_size=True))
    with pytest.raises(InputError, match="share an input size"):
        preprocess([photo(64, 64), photo(64, 128)])


# ------------------------------------------------------------------------------ dynamic letterbox


@pytest.mark.parametrize(
    ("image_size", "expected_input", "expected_offset"),
    [
        ((200, 1920), (96, 640), (0, 14)),  # 67 rows, padded by 29 to 96, 14 of them on top
        ((1000, 360), (640, 256), (13, 0)),  # 230 columns, padded by 26 to 256
        ((375, 500), (480, 640), (0, 0)),  # 480 x 640 exactly: no padding
        ((640, 640), (640, 640), (0, 0)),
        ((20, 30), (448, 640), (0, 10)),  # scaled up, as Ultralytics does: 427 rows, 21 of padding
    ],
)
def test_a_dynamic_letterbox_fits_the_size_and_pads_only_to_the_multiple(
    image_size: tuple[int, int], expected_input: tuple[int, int], expected_offset: tuple[int, int]
) -> None:
    preprocess = Preprocessor(spec(dynamic_size=True, dynamic_resize="letterbox", size_multiple=32))
    tensor, (transform,) = preprocess([photo(*image_size)])
    assert transform.input_size == expected_input and tensor.shape == (1, 3, *expected_input)
    assert transform.offset == expected_offset


def test_a_dynamic_letterbox_matches_resize_and_pad() -> None:
    image = photo(200, 1920)
    preprocess = Preprocessor(spec(dynamic_size=True, dynamic_resize="letterbox", dtype="uint8"))
    tensor, _ = preprocess([image])
    resized = cv2.resize(image, (640, 67), interpolation=cv2.INTER_LINEAR)
    expected = np.pad(resized, ((14, 15), (0, 0), (0, 0)), constant_values=114)
    np.testing.assert_array_equal(tensor[0], expected.transpose(2, 0, 1))


# ------------------------------------------------------------------------------ buffers


def test_the_batch_tensor_is_reused_between_calls() -> None:
    preprocess = Preprocessor(spec())
    first, _ = preprocess([photo(480, 640, seed=1)])
    second, _ = preprocess([photo(480, 640, seed=2)])
    assert second is first


def test_each_thread_gets_its_own_buffers() -> None:
    preprocess = Preprocessor(spec())
    mine, _ = preprocess([photo(480, 640)])
    theirs: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: theirs.append(preprocess([photo(480, 640)])[0]))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and not np.shares_memory(theirs[0], mine)


def test_a_fixed_batch_size_pads_the_tensor() -> None:
    tensor, transforms = Preprocessor(spec())([photo(480, 640)], batch_size=4)
    assert tensor.shape == (4, 3, 640, 640) and len(transforms) == 1


# ------------------------------------------------------------------------------ mapping back


def test_letterboxed_boxes_map_back_through_the_rounded_size_on_each_axis() -> None:
    # 200 x 1920 at gain 1/6 is resized to 33 x 320 (not 33.3): the resized area is the whole image.
    transform = Preprocessor(spec(size=(320, 320))).transform_for(200, 1920)
    assert transform.scale == (320 / 1920, 33 / 200)
    mapped = boxes_to_original(np.array([[0, 143, 320, 176], [160, 143, 320, 159.5]], np.float32), transform)
    np.testing.assert_allclose(mapped, [[0, 0, 1920, 200], [960, 0, 1920, 100]], rtol=1e-6)


def test_boxes_map_back_through_letterbox_padding_and_gain() -> None:
    transform = ImageTransform((100, 1000), (640, 640), (64, 640), (0, 288), (0.64, 0.64))
    mapped = boxes_to_original(np.array([[64, 288, 640, 320]], np.float32), transform)
    np.testing.assert_allclose(mapped, [[100, 0, 1000, 50]], rtol=1e-6)


def test_boxes_outside_the_image_are_clipped_to_it() -> None:
    transform = ImageTransform((480, 640), (640, 640), (480, 640), (0, 80), (1.0, 1.0))
    mapped = boxes_to_original(np.array([[-10, 0, 700, 640]], np.float32), transform)
    np.testing.assert_array_equal(mapped, [[0, 0, 640, 480]])


def test_points_map_back_per_axis() -> None:
    transform = Preprocessor(spec(size=(64, 64), resize="stretch")).transform_for(32, 128)
    mapped = points_to_original(np.array([[[32, 32], [64, 16]]], np.float32), transform)
    np.testing.assert_array_equal(mapped, [[[64, 16], [128, 8]]])

"""Masks computed box by box are bit for bit the masks of the full-frame path they replaced.

``full_frame_masks`` below is the implementation ``yolo_seg`` had before (coefficients x prototypes for the
whole prototype grid, ``cv2.resize`` of every mask to the whole input, crop to the box, ``cv2.resize`` of
the whole letterboxed content to the original image). ``box_masks`` must give the same detections and the
same mask pixels for every geometry: letterbox and stretch, up- and downscaling, boxes at or past the
borders, boxes thinner than a pixel, and mask counts that make OpenCV use IPP for the last stack.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrt.architectures.linear_resize import above, linear_taps
from modelrt.architectures.yolo_seg_masks import box_masks
from modelrt.opencv import cv2
from modelrt.preprocess import ImageTransform

RESIZE_CHANNELS = 128


def full_frame_resize(stack: np.ndarray, height: int, width: int) -> np.ndarray:
    if stack.shape[:2] == (height, width):
        return stack
    chunks = [
        cv2.resize(stack[:, :, start : start + RESIZE_CHANNELS], (width, height), interpolation=cv2.INTER_LINEAR)
        for start in range(0, stack.shape[2], RESIZE_CHANNELS)
    ]
    return np.concatenate([chunk.reshape(height, width, -1) for chunk in chunks], axis=2)


def full_frame_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, xyxy: np.ndarray, transform: ImageTransform
) -> tuple[np.ndarray, np.ndarray]:
    """The previous implementation, whole frames throughout: (has pixels [N], masks [K, H, W])."""
    height, width = transform.input_size
    original_height, original_width = transform.original_size
    if len(coefficients) == 0:
        return np.zeros(0, dtype=bool), np.zeros((0, original_height, original_width), dtype=bool)
    channels, proto_height, proto_width = prototypes.shape
    flat = prototypes.reshape(channels, -1).astype(np.float32, copy=False)
    logits = (flat.T @ coefficients.T).reshape(proto_height, proto_width, -1)
    masks = full_frame_resize(logits, height, width) > 0
    columns = np.arange(width, dtype=np.float32)[None, :, None]
    rows = np.arange(height, dtype=np.float32)[:, None, None]
    masks &= (columns >= xyxy[:, 0]) & (columns < xyxy[:, 2])
    masks &= (rows >= xyxy[:, 1]) & (rows < xyxy[:, 3])
    has_pixels = masks.any(axis=(0, 1))
    masks = masks[:, :, has_pixels]
    if masks.shape[2] == 0:
        return has_pixels, np.zeros((0, original_height, original_width), dtype=bool)
    left, top = transform.offset
    content_height, content_width = transform.resized_size
    content = masks[top : top + content_height, left : left + content_width].astype(np.float32)
    resized = full_frame_resize(content, original_height, original_width) > 0.5
    return has_pixels, np.ascontiguousarray(np.moveaxis(resized, 2, 0))


def letterbox(original: tuple[int, int], input_size: tuple[int, int]) -> ImageTransform:
    (height, width), (input_height, input_width) = original, input_size
    gain = min(input_height / height, input_width / width)
    resized = (max(round(height * gain), 1), max(round(width * gain), 1))
    offset = (round((input_width - resized[1]) / 2 - 0.1), round((input_height - resized[0]) / 2 - 0.1))
    return ImageTransform(original, input_size, resized, offset, (resized[1] / width, resized[0] / height))


def stretch(original: tuple[int, int], input_size: tuple[int, int]) -> ImageTransform:
    scale = (input_size[1] / original[1], input_size[0] / original[0])
    return ImageTransform(original, input_size, input_size, (0, 0), scale)


def head_outputs(
    rng: np.random.Generator, count: int, input_size: tuple[int, int], *, ties: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth prototypes (blob-shaped masks) at a quarter of the input, coefficients and varied boxes.

    With ``ties`` the prototypes and coefficients are small integers, so bilinear weights that are
    powers of two make exact zeros that ``> 0`` must treat as the full-frame path does.
    """
    height, width = input_size
    grid = (32, max(height // 4, 1), max(width // 4, 1))
    if ties:
        prototypes = rng.integers(-1, 2, grid).astype(np.float32)
        coefficients = rng.integers(-1, 2, (count, 32)).astype(np.float32)
    else:
        noise = rng.standard_normal(grid).astype(np.float32)
        prototypes = np.stack([cv2.GaussianBlur(plane, (0, 0), 2) * 4 for plane in noise])
        coefficients = rng.standard_normal((count, 32)).astype(np.float32)
    sizes = rng.uniform(0.2, 1.2, (count, 2)) ** 2 * (width, height)
    centres = rng.uniform(-0.1, 1.1, (count, 2)) * (width, height)
    xyxy = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    return prototypes, coefficients, xyxy


def assert_same_masks(
    prototypes: np.ndarray, coefficients: np.ndarray, xyxy: np.ndarray, transform: ImageTransform
) -> None:
    expected_has_pixels, expected = full_frame_masks(prototypes, coefficients, xyxy, transform)
    has_pixels, masks = box_masks(prototypes, coefficients, xyxy, transform)
    assert has_pixels.tolist() == expected_has_pixels.tolist()
    assert masks.shape == expected.shape and masks.dtype == np.bool_ and masks.flags.c_contiguous
    differing = np.argwhere(masks != expected)
    assert len(differing) == 0, f"{len(differing)} pixels differ, first at [mask, row, column] {differing[0]}"


GEOMETRIES = {
    "1280x720 into 640": letterbox((720, 1280), (640, 640)),
    "1920x1080 into 640": letterbox((1080, 1920), (640, 640)),
    "1000x750 into 640": letterbox((750, 1000), (640, 640)),
    "tall 333x517 into 640": letterbox((517, 333), (640, 640)),
    "320x240 into 640 (downscaled back by 2)": letterbox((240, 320), (640, 640)),
    "213x97 into 640": letterbox((97, 213), (640, 640)),
    "1280x720 into 384x640": letterbox((720, 1280), (384, 640)),
    "640x640 into 640 (no resize)": letterbox((640, 640), (640, 640)),
    "1024x768 into 256 (content scaled up 4 times)": letterbox((768, 1024), (256, 256)),
    "stretch 640x384 to 320x192 (scaled up twice)": stretch((384, 640), (192, 320)),
    "stretch 500x333 to 320": stretch((333, 500), (320, 320)),
    "stretch 97x61 to 96x160": stretch((61, 97), (96, 160)),
}


@pytest.mark.parametrize("count", [1, 2, 5, 30])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_box_masks_are_the_full_frame_masks(geometry: str, count: int) -> None:
    transform = GEOMETRIES[geometry]
    rng = np.random.default_rng([count, *transform.original_size])
    assert_same_masks(*head_outputs(rng, count, transform.input_size), transform)


@pytest.mark.parametrize("geometry", ["1280x720 into 640", "stretch 500x333 to 320", "213x97 into 640"])
def test_exact_zero_logits_and_half_values_fall_on_the_same_side(geometry: str) -> None:
    transform = GEOMETRIES[geometry]
    for seed in range(3):
        rng = np.random.default_rng(seed)
        assert_same_masks(*head_outputs(rng, 7, transform.input_size, ties=True), transform)


@pytest.mark.parametrize("count", [0, 3, 4, 6, 129, 131, 133])
def test_every_mask_count_including_those_opencv_hands_to_ipp(count: int) -> None:
    # OpenCV resizes stacks of 1, 3 or 4 float channels with IPP's own arithmetic; the last stack of
    # 128 + 1, 3 or 5 masks is such a stack in the full-frame path.
    transform = letterbox((150, 260), (160, 224))
    rng = np.random.default_rng(count)
    assert_same_masks(*head_outputs(rng, count, transform.input_size), transform)


@pytest.mark.parametrize("count", [1, 3])
def test_masks_opencv_resizes_with_ipp_keep_ipp_arithmetic(count: int) -> None:
    # Prototypes of 47x61 resized to 640x480: IPP's rounding differs from OpenCV's own, and with
    # integer logits some exact zeros come out slightly positive; those pixels must stay as they were.
    transform = letterbox((750, 1000), (480, 640))
    for seed in (0, 3, 5):
        rng = np.random.default_rng(seed)
        prototypes = rng.integers(-1, 2, (32, 47, 61)).astype(np.float32)
        coefficients = rng.integers(-1, 2, (count, 32)).astype(np.float32)
        xyxy = np.tile(np.array([0, 0, 640, 480], dtype=np.float32), (count, 1))
        assert_same_masks(prototypes, coefficients, xyxy, transform)


@pytest.mark.parametrize("prototype_size", [(128, 128), (100, 70)])
def test_prototypes_larger_than_the_input(prototype_size: tuple[int, int]) -> None:
    # Halving both sides is OpenCV's INTER_AREA, not the bilinear expression.
    transform = letterbox((90, 120), (64, 64))
    rng = np.random.default_rng(3)
    prototypes = rng.standard_normal((32, *prototype_size)).astype(np.float32)
    _, coefficients, xyxy = head_outputs(rng, 6, transform.input_size)
    assert_same_masks(prototypes, coefficients, xyxy, transform)


def test_boxes_at_and_past_the_borders_thin_empty_and_nan() -> None:
    transform = GEOMETRIES["1280x720 into 640"]
    prototypes, coefficients, _ = head_outputs(np.random.default_rng(7), 14, transform.input_size)
    xyxy = np.array(
        [
            [0, 0, 640, 640],  # the whole input, letterbox bands included
            [-50, -50, 30.5, 200],  # past the top-left corner
            [600, 500, 700, 700],  # past the bottom-right corner
            [100.2, 140, 100.9, 300],  # thinner than a pixel, no pixel column inside
            [100.0, 140, 101.0, 300],  # exactly one pixel column
            [200, 139.5, 300, 140.5],  # one row, on the letterbox edge
            [300, 300, 300, 400],  # zero width
            [320, 320, 310, 330],  # inverted
            [np.nan, 10, 50, 50],  # a NaN side keeps nothing, as comparisons with NaN do
            [10, 10, np.nan, 50],
            [10, 10, 50, np.nan],
            [10, 10, np.inf, 50],  # to infinity: every column from 10 on
            [0, 499.7, 640, 500.3],  # one row inside the content, near its bottom
            [639, 639, 640, 640],  # the last pixel
        ],
        dtype=np.float32,
    )
    assert_same_masks(prototypes, coefficients, xyxy, transform)


def test_extreme_logits_infinities_nans_and_subnormals() -> None:
    # Cells whose taps are all clearly positive or all <= 0 are filled without arithmetic; infinities,
    # NaNs and tiny values must fall to the arithmetic and come out as the full-frame path has them.
    transform = GEOMETRIES["1280x720 into 640"]
    rng = np.random.default_rng(11)
    prototypes, coefficients, xyxy = head_outputs(rng, 9, transform.input_size)
    specials = np.array([np.inf, -np.inf, np.nan, 1e-40, -1e-40, 2.0**-100, 0.0, -0.0, 3e38], dtype=np.float32)
    chosen = rng.random(prototypes.shape) < 0.02
    prototypes[chosen] = rng.choice(specials, int(chosen.sum()))
    with np.errstate(all="ignore"):
        assert_same_masks(prototypes, coefficients, xyxy, transform)


@settings(max_examples=40, deadline=None)
@given(
    original=st.tuples(st.integers(1, 300), st.integers(1, 300)),
    input_size=st.tuples(st.integers(1, 10), st.integers(1, 10)).map(lambda size: (size[0] * 32, size[1] * 32)),
    stretched=st.booleans(),
    count=st.integers(0, 9),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_geometry_gives_the_full_frame_masks(
    original: tuple[int, int], input_size: tuple[int, int], stretched: bool, count: int, ties: bool, seed: int
) -> None:
    transform = stretch(original, input_size) if stretched else letterbox(original, input_size)
    rng = np.random.default_rng(seed)
    assert_same_masks(*head_outputs(rng, count, input_size, ties=ties), transform)


@pytest.mark.parametrize("channels", [2, 5, 8, 30, 128])
@pytest.mark.parametrize(
    ("source", "target"), [((160, 160), (640, 640)), ((37, 53), (101, 77)), ((480, 640), (750, 1000))]
)
def test_linear_taps_reproduce_cv2_resize_of_float_stacks(
    source: tuple[int, int], target: tuple[int, int], channels: int
) -> None:
    # The premise of box_masks: OpenCV's float32 bilinear resize is this expression, rounded per operation.
    stack = np.random.default_rng(channels).standard_normal((*source, channels)).astype(np.float32)
    rows, columns = linear_taps(source[0], target[0], False), linear_taps(source[1], target[1], True)
    weight = (columns.first_weight[:, None], columns.second_weight[:, None])
    across = stack[:, columns.first] * weight[0] + stack[:, columns.second] * weight[1]
    expected = cv2.resize(stack, target[::-1], interpolation=cv2.INTER_LINEAR)
    heights = (rows.first_weight[:, None, None], rows.second_weight[:, None, None])
    assert np.array_equal(across[rows.first] * heights[0] + across[rows.second] * heights[1], expected)


@pytest.mark.parametrize(
    ("source", "target"),
    [((30, 40), (60, 80)), ((24, 20), (96, 80)), ((17, 23), (51, 69)), ((20, 30), (40, 90)), ((37, 53), (101, 77))],
)
def test_above_thresholds_the_cv2_resize_at_any_area(source: tuple[int, int], target: tuple[int, int]) -> None:
    # A 0/1 image scaled up an integer number of times (2x, 4x, 3x, 2x by 3x) is looked up in per-phase
    # tables inside whole periods; the rest and the borders are computed as they are. Two channels keep
    # OpenCV off IPP.
    rng = np.random.default_rng(source)
    logits = cv2.GaussianBlur(rng.standard_normal(source).astype(np.float32), (0, 0), 2)
    image = (logits > 0).astype(np.float32)
    expected = cv2.resize(np.dstack([image, image]), target[::-1], interpolation=cv2.INTER_LINEAR)[:, :, 0] > 0.5
    expected_logits = cv2.resize(np.dstack([logits, logits]), target[::-1], interpolation=cv2.INTER_LINEAR)[:, :, 0]
    areas = [(0, target[0], 0, target[1]), (1, 2, 0, target[1]), (0, target[0], target[1] - 1, target[1])]
    for _ in range(20):
        rows, columns = np.sort(rng.integers(0, target[0] + 1, 2)), np.sort(rng.integers(0, target[1] + 1, 2))
        if rows[1] > rows[0] and columns[1] > columns[0]:
            areas.append((int(rows[0]), int(rows[1]), int(columns[0]), int(columns[1])))
    for top, bottom, left, right in areas:
        sizes = ((source[0], target[0]), (source[1], target[1]))
        for binary in (True, False):
            out = np.zeros((bottom - top, right - left), dtype=bool)
            above(image, (0, 0), sizes, (top, bottom, left, right), 0.5, out, binary=binary)
            assert np.array_equal(out, expected[top:bottom, left:right]), (top, bottom, left, right, binary)
        out = np.zeros((bottom - top, right - left), dtype=bool)
        above(logits, (0, 0), sizes, (top, bottom, left, right), 0.0, out)
        assert np.array_equal(out, expected_logits[top:bottom, left:right] > 0), (top, bottom, left, right)

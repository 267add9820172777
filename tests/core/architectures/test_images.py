"""Everything a caller may pass as an image, and every way it can be wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from modelrt import images
from modelrt.errors import InputError
from modelrt.images import MAX_IMAGE_PIXELS, load_image, load_images, max_image_pixels


def photo(height: int = 6, width: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encoded(image_rgb: np.ndarray, suffix: str = ".png") -> bytes:
    ok, data = cv2.imencode(suffix, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


@pytest.fixture
def refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image is decoded."""

    def decode(*args: object) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(images.cv2, "imdecode", decode)


# ------------------------------------------------------------------------------ arrays


def test_an_array_is_bgr_by_default_as_opencv_gives_it() -> None:
    image = photo()
    np.testing.assert_array_equal(load_image(image), image[:, :, ::-1])
    np.testing.assert_array_equal(load_image(image, color="bgr"), image[:, :, ::-1])


def test_an_rgb_array_flagged_as_rgb_is_used_as_it_is() -> None:
    image = photo()
    assert load_image(image, color="rgb") is image


def test_an_array_read_by_opencv_equals_its_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(encoded(photo()))
    from_opencv = cv2.imread(str(path))
    np.testing.assert_array_equal(load_image(from_opencv), load_image(path))
    np.testing.assert_array_equal(load_images([from_opencv])[0][0], load_image(path))


def test_a_grayscale_array_gets_three_equal_channels() -> None:
    gray = photo()[:, :, 0]
    loaded = load_image(gray)
    assert loaded.shape == (6, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, :, channel], gray)


def test_a_single_channel_array_is_grayscale() -> None:
    assert load_image(photo()[:, :, :1]).shape == (6, 8, 3)


def test_an_alpha_channel_is_dropped() -> None:
    rgba = np.dstack([photo(), np.full((6, 8), 255, np.uint8)])
    np.testing.assert_array_equal(load_image(rgba, color="rgb"), rgba[:, :, :3])


def test_bgra_is_reordered_and_loses_its_alpha() -> None:
    bgra = np.dstack([photo(), np.zeros((6, 8), np.uint8)])
    np.testing.assert_array_equal(load_image(bgra), bgra[:, :, 2::-1])


def test_a_strided_view_comes_back_c_contiguous() -> None:
    view = photo(12, 16)[::2, ::2]
    loaded = load_image(view, color="rgb")
    assert loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, view)


def test_a_float_array_outside_0_1_is_refused_with_the_conversion_to_make() -> None:
    image = np.zeros((4, 4, 3), np.float32)
    image[0, 0, 0] = 200.0
    with pytest.raises(InputError, match=r"float32.*values from 0.0 to 200.0.*\[0, 1\].*astype\(np.uint8\)"):
        load_image(image)


def test_a_float_array_in_0_1_equals_its_uint8_version() -> None:
    image = photo()
    np.testing.assert_array_equal(load_image(image / np.float32(255), color="rgb"), image)


@pytest.mark.parametrize("channels", [2, 5])
def test_an_unexpected_channel_count_is_refused(channels: int) -> None:
    with pytest.raises(InputError, match=f"{channels} channels"):
        load_image(np.zeros((4, 4, channels), np.uint8))


def test_a_batch_array_is_refused_with_a_hint_to_pass_a_list() -> None:
    with pytest.raises(InputError, match="pass a list of images"):
        load_image(np.zeros((2, 4, 4, 3), np.uint8))


def test_an_empty_array_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        load_image(np.zeros((0, 4, 3), np.uint8))


def test_an_unknown_color_order_is_refused() -> None:
    with pytest.raises(InputError, match="'rgb' or 'bgr'"):
        load_image(photo(), color="hsv")


def test_an_unsupported_type_is_refused_naming_what_is_accepted() -> None:
    with pytest.raises(InputError, match=r"builtins.int.*numpy array.*PIL image.*file path"):
        load_image(42)


# ------------------------------------------------------------------------------ pixel limit


def test_an_array_over_the_pixel_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(images.MAX_IMAGE_PIXELS_ENV, "47")
    with pytest.raises(InputError, match=r"8x6 = 48 pixels, over the limit of 47.*MODELRT_MAX_IMAGE_PIXELS"):
        load_image(photo())


def test_the_limit_defaults_to_a_hundred_megapixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(images.MAX_IMAGE_PIXELS_ENV, raising=False)
    assert max_image_pixels() == MAX_IMAGE_PIXELS == 100_000_000


def test_a_malformed_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(images.MAX_IMAGE_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match="MODELRT_MAX_IMAGE_PIXELS='lots'"):
        load_image(photo())


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".tiff", ".avif"])
def test_an_encoded_image_over_the_limit_is_refused_before_decoding(
    suffix: str, monkeypatch: pytest.MonkeyPatch, refuse_decoding: None
) -> None:
    data = encoded(photo(30, 40), suffix)
    monkeypatch.setenv(images.MAX_IMAGE_PIXELS_ENV, "1199")
    with pytest.raises(InputError, match="40x30 = 1200 pixels"):
        load_image(data)


# ------------------------------------------------------------------------------ files and bytes


def test_a_png_file_decodes_to_rgb(tmp_path: Path) -> None:
    image = photo()
    path = tmp_path / "photo.png"
    path.write_bytes(encoded(image))
    np.testing.assert_array_equal(load_image(path), image)
    np.testing.assert_array_equal(load_image(str(path)), image)


def test_a_path_with_non_ascii_characters_is_read(tmp_path: Path) -> None:
    image = photo()
    path = tmp_path / "fotografía-写真.png"
    path.write_bytes(encoded(image))
    np.testing.assert_array_equal(load_image(path), image)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing.png does not exist"):
        load_image(tmp_path / "missing.png")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_image(tmp_path)


def test_a_url_is_refused_with_the_advice_to_download_it() -> None:
    with pytest.raises(InputError, match=r"looks like a URL.*Download it first"):
        load_image("https://example.com/cat.jpg")


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_encoded_bytes_decode_to_rgb(wrap: type) -> None:
    image = photo()
    np.testing.assert_array_equal(load_image(wrap(encoded(image))), image)


def test_garbage_bytes_are_not_a_decodable_image() -> None:
    with pytest.raises(InputError, match=r"not a decodable image \(PNG, JPEG"):
        load_image(b"this is not an image at all")


def test_a_garbage_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"notes.png is not a decodable image"):
        load_image(path)


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(InputError, match="0 bytes"):
        load_image(b"")


def test_a_grayscale_file_gets_three_channels() -> None:
    ok, data = cv2.imencode(".png", np.full((5, 7), 200, np.uint8))
    assert ok
    loaded = load_image(data.tobytes())
    assert loaded.shape == (5, 7, 3) and (loaded == 200).all()


# ------------------------------------------------------------------------------ PIL


def test_a_pil_rgb_image_is_converted() -> None:
    image = photo()
    np.testing.assert_array_equal(load_image(Image.fromarray(image)), image)


def test_a_pil_grayscale_image_gets_three_channels() -> None:
    loaded = load_image(Image.fromarray(np.full((5, 7), 9, np.uint8), mode="L"))
    assert loaded.shape == (5, 7, 3) and (loaded == 9).all()


def test_a_pil_rgba_image_loses_its_alpha() -> None:
    rgba = np.dstack([photo(), np.zeros((6, 8), np.uint8)])
    np.testing.assert_array_equal(load_image(Image.fromarray(rgba, mode="RGBA")), rgba[:, :, :3])


def test_a_pil_image_over_the_limit_is_refused_before_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(images.MAX_IMAGE_PIXELS_ENV, "10")
    with pytest.raises(InputError, match="PIL image is 8x6"):
        load_image(Image.fromarray(photo()))


def test_loading_arrays_never_imports_pil() -> None:
    code = (
        "import sys, numpy as np; from modelrt.images import load_image; "
        "load_image(np.zeros((2, 2, 3), np.uint8)); load_image(np.zeros((2, 2), np.uint8)); "
        "print('PIL' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ------------------------------------------------------------------------------ one or many


def test_a_single_image_is_reported_as_single() -> None:
    loaded, single = load_images(photo())
    assert single and len(loaded) == 1


@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_or_tuple_is_many_images(container: type) -> None:
    loaded, single = load_images(container([photo(), photo(3, 3)]))
    assert not single and [image.shape for image in loaded] == [(6, 8, 3), (3, 3, 3)]

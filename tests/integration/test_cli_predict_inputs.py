"""What `modelrt predict` accepts as images: files, directories, quoted glob patterns, `-` for stdin, mixed;
and how it goes on when one input is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli_models import classifier_package, pictures, run_modelrt, write_picture

RED, GREEN, BLUE = (230, 10, 10), (10, 230, 10), (10, 10, 230)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(classifier_package(tmp_path_factory.mktemp("classifier")))


def _result_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line and not line.startswith(" ")]


def test_a_directory_gives_its_images_in_name_order_and_notes_the_other_files(classifier: str, tmp_path: Path) -> None:
    write_picture(tmp_path / "b.png", GREEN)
    write_picture(tmp_path / "a.jpg", RED)
    write_picture(tmp_path / "c.bmp", BLUE)
    (tmp_path / "notes.txt").write_text("not a picture")
    write_picture(tmp_path / "nested" / "deeper.png")

    result = run_modelrt("predict", classifier, str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert _result_lines(result.stdout) == [
        f"{tmp_path / 'a.jpg'}: red (1.000), green (0.000), blue (0.000)",
        f"{tmp_path / 'b.png'}: green (1.000), red (0.000), blue (0.000)",
        f"{tmp_path / 'c.bmp'}: blue (1.000), red (0.000), green (0.000)",
    ]
    assert "note:" in result.stderr and "notes.txt" in result.stderr


def test_a_quoted_glob_pattern_is_expanded_by_modelrt(classifier: str, tmp_path: Path) -> None:
    write_picture(tmp_path / "one.png", RED)
    write_picture(tmp_path / "two.jpg", GREEN)
    write_picture(tmp_path / "deep" / "three.png", BLUE)

    flat = run_modelrt("predict", classifier, str(tmp_path / "*.png"))
    recursive = run_modelrt("predict", classifier, str(tmp_path / "**" / "*.png"))

    assert flat.returncode == 0, flat.stderr
    assert [line.split(":")[0] for line in _result_lines(flat.stdout)] == [str(tmp_path / "one.png")]
    assert recursive.returncode == 0, recursive.stderr
    assert [line.split(":")[0] for line in _result_lines(recursive.stdout)] == [
        str(tmp_path / "deep" / "three.png"),
        str(tmp_path / "one.png"),
    ]


def test_files_directories_patterns_and_stdin_mix_in_the_order_given(classifier: str, tmp_path: Path) -> None:
    single = write_picture(tmp_path / "single.png", RED)
    folder = tmp_path / "folder"
    pictures(folder, 2)
    matched = write_picture(tmp_path / "matched" / "m.png", BLUE)
    piped = write_picture(tmp_path / "piped.png", GREEN).read_bytes()

    result = run_modelrt(
        "predict", classifier, str(folder), "-", str(tmp_path / "matched" / "*.png"), str(single), stdin=piped
    )

    assert result.returncode == 0, result.stderr
    names = [line.split(": ")[0] for line in _result_lines(result.stdout)]
    assert names == [str(folder / "img0000.png"), str(folder / "img0001.png"), "-", str(matched), str(single)]
    assert _result_lines(result.stdout)[2].startswith("-: green")


def test_a_missing_and_a_broken_file_are_reported_while_the_others_are_predicted(
    classifier: str, tmp_path: Path
) -> None:
    good = write_picture(tmp_path / "good.png", RED)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n but nothing after the signature")
    also_good = write_picture(tmp_path / "also_good.png", BLUE)
    missing = tmp_path / "missing.png"

    result = run_modelrt("predict", classifier, str(good), str(missing), str(broken), str(also_good))

    assert result.returncode == 1
    assert [line.split(": ")[0] for line in _result_lines(result.stdout)] == [str(good), str(also_good)]
    errors = result.stderr.splitlines()
    assert any(line.startswith("error: ") and str(missing) in line and "does not exist" in line for line in errors)
    assert any(line.startswith("error: ") and str(broken) in line for line in errors)
    assert "Traceback" not in result.stderr


def test_with_json_stdout_is_one_document_with_the_good_results_and_the_errors(classifier: str, tmp_path: Path) -> None:
    good = write_picture(tmp_path / "good.png", GREEN)
    not_an_image = tmp_path / "text.png"
    not_an_image.write_text("hello")
    missing = tmp_path / "missing.png"

    result = run_modelrt("predict", classifier, str(good), str(not_an_image), str(missing), "--json")

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert [(item["image"], item["top"][0]["class"]) for item in document["results"]] == [(str(good), "green")]
    assert [error["image"] for error in document["errors"]] == [str(not_an_image), str(missing)]
    assert "not a decodable image" in document["errors"][0]["error"]
    assert str(missing) in result.stderr


@pytest.mark.parametrize("name", ["clip.mp4", "clip.MOV", "clip.mkv", "clip.webm", "clip.avi"])
def test_a_video_file_that_cannot_be_decoded_is_reported_as_a_video(classifier: str, tmp_path: Path, name: str) -> None:
    video = tmp_path / name
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))

    result = run_modelrt("predict", classifier, str(video))

    assert result.returncode == 1
    assert "cannot open this video" in result.stderr and "not a decodable image" not in result.stderr


def test_video_content_without_a_video_suffix_is_refused_as_a_video(classifier: str, tmp_path: Path) -> None:
    matroska = b"\x1a\x45\xdf\xa3" + bytes(60)
    unnamed = tmp_path / "recording"
    unnamed.write_bytes(matroska)

    from_file = run_modelrt("predict", classifier, str(unnamed))
    from_stdin = run_modelrt("predict", classifier, "-", stdin=matroska)

    for result in (from_file, from_stdin):
        assert result.returncode == 1
        assert "is a video" in result.stderr and "not a decodable image" not in result.stderr


def test_videos_in_a_directory_are_skipped_with_a_note(classifier: str, tmp_path: Path) -> None:
    write_picture(tmp_path / "frame.png", RED)
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")

    result = run_modelrt("predict", classifier, str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "note:" in result.stderr and "clip.mp4" in result.stderr and "video" in result.stderr


def test_a_directory_or_pattern_without_images_is_an_error_of_that_input(classifier: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    good = write_picture(tmp_path / "good.png", RED)

    result = run_modelrt("predict", classifier, str(empty), str(tmp_path / "*.gif"), str(good))

    assert result.returncode == 1
    assert _result_lines(result.stdout) == [f"{good}: red (1.000), green (0.000), blue (0.000)"]
    assert "holds no image files" in result.stderr and "matches no image files" in result.stderr


def test_dash_twice_is_a_usage_error(classifier: str) -> None:
    result = run_modelrt("predict", classifier, "-", "-", stdin=b"")

    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "stdin" in result.stderr

"""`modelrt predict MODEL clip.mp4`: one result per frame, JSONL with --json, an annotated video with
--save, a summary line, and a typed end for a video that is cut short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..integration.cli_models import classifier_package, grid_detector, run_modelrt, write_picture
from .videos import FPS, HEIGHT, WIDTH, expected_classes, read_back, truncated_video, write_video


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(classifier_package(tmp_path_factory.mktemp("classifier")))


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(grid_detector(tmp_path_factory.mktemp("detector") / "grid.onnx"))


def test_a_video_gives_one_result_per_frame_in_order_and_a_summary(classifier: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 9)

    result = run_modelrt("predict", classifier, str(video), "--batch", "4")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{video} frame {index} ({index / FPS:.3f} s)" for index in range(9)
    ]
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == expected_classes(9)
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"{video}: 9 frames in ")
    assert "frames/s" in summary and "mean/p90" in summary and "run " in summary and "dropped 0" in summary


def test_json_is_one_json_line_per_frame(classifier: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 7)

    result = run_modelrt("predict", classifier, str(video), "--json")

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["frame"] for record in records] == list(range(7))
    assert [record["top"][0]["class"] for record in records] == expected_classes(7)
    timestamps = [record["timestamp"] for record in records]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 7
    assert {record["source"] for record in records} == {str(video)}


def test_save_writes_the_annotated_video_with_the_frames_size_and_rate_of_the_source(
    detector: str, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "clip.mp4", 8)
    out = tmp_path / "out" / "annotated.mp4"

    result = run_modelrt("predict", detector, str(video), "--save", str(out))

    assert result.returncode == 0, result.stderr
    assert read_back(out) == (8, (WIDTH, HEIGHT), FPS)
    assert f"saved {out}" in result.stderr
    assert [path.name for path in out.parent.iterdir()] == ["annotated.mp4"]  # no temporary file left


def test_save_into_a_directory_names_the_video_after_its_source(detector: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", 4, codec="MJPG")
    (tmp_path / "out").mkdir()

    result = run_modelrt("predict", detector, str(video), "--save", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    assert read_back(tmp_path / "out" / "clip.annotated.mp4")[0] == 4


def test_save_never_replaces_an_existing_video_without_overwrite(detector: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 3)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")

    refused = run_modelrt("predict", detector, str(video), "--save", str(out))
    replaced = run_modelrt("predict", detector, str(video), "--save", str(out), "--overwrite")

    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    assert replaced.returncode == 0, replaced.stderr
    assert read_back(out)[0] == 3


def test_a_truncated_video_reports_the_frames_that_decoded_then_fails(classifier: str, tmp_path: Path) -> None:
    video = truncated_video(tmp_path / "cut.avi", frames=20)
    out = tmp_path / "out.mp4"

    result = run_modelrt("predict", classifier, str(video), "--json", "--save", str(out))

    assert result.returncode == 1
    frames = [json.loads(line)["frame"] for line in result.stdout.splitlines()]
    assert 0 < len(frames) < 20 and frames == list(range(len(frames)))
    assert "truncated or corrupt" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # an annotated video is written whole or not at all


def test_a_video_is_predicted_on_its_own(classifier: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 2)
    picture = write_picture(tmp_path / "photo.png")

    result = run_modelrt("predict", classifier, str(video), str(picture))

    assert result.returncode == 1
    assert "on its own" in result.stderr and "Traceback" not in result.stderr

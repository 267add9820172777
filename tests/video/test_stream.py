"""``Model.stream``: frames of files, image directories and live sources, predicted lazily with a
background decode thread, the drop policy, batching, and a clean or typed end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import InputError
from modelrt.video import FrameStream, StreamStalledError

from ..integration.cli_models import classifier_package, grid_detector, write_picture
from .videos import COLOURS, FPS, HEIGHT, WIDTH, expected_classes, truncated_video, write_video

#: Generous bound against hangs; no test depends on how fast anything runs.
HANG = 30.0


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[modelrt.Model]:
    model = modelrt.load(classifier_package(tmp_path_factory.mktemp("classifier")))
    yield model
    model.close()


def _classes(stream: FrameStream) -> list[str]:
    return [prediction.top(1)[0][0] for _, _, prediction in stream]


class FakeCamera:
    """A live source that gives ``frames`` frames as fast as they are asked for, then ends (or breaks).

    ``exhausted`` is set once it has given its last frame, so a test can hold the model back until
    the camera has run ahead of it, with no timing involved; with ``hold=True`` the camera waits after
    its first frame until ``go`` is set.
    """

    live = True
    fps = 30.0
    size = (WIDTH, HEIGHT)
    frame_count = None

    def __init__(self, frames: int, *, breaks: bool = False, stalls: bool = False, hold: bool = False) -> None:
        self.name = "fake camera"
        self._frames = frames
        self._given = 0
        self._breaks = breaks
        self._stalls = stalls
        self._hold = hold
        self.go = threading.Event()
        self.exhausted = threading.Event()
        self.released = threading.Event()
        self.closed = False

    def read(self) -> tuple[float, np.ndarray] | None:
        if self._hold and self._given == 1:
            self.go.wait(HANG)
        if self._given == self._frames:
            self.exhausted.set()
            if self._stalls:
                self.released.wait(HANG)  # a camera that stops answering
            if self._breaks:
                raise InputError("fake camera: connection lost")
            return None
        colour = COLOURS[self._given % len(COLOURS)]
        frame = np.full((HEIGHT, WIDTH, 3), colour[::-1], np.uint8)
        self._given += 1
        return self._given / self.fps, frame

    def close(self) -> None:
        self.closed = True


def test_a_file_gives_every_frame_in_order_with_its_container_timestamps(
    classifier: modelrt.Model, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "clip.mp4", 12)

    with classifier.stream(str(video), batch=4) as stream:
        items = list(stream)

    assert [info.index for info, _, _ in items] == list(range(12))
    assert [prediction.top(1)[0][0] for _, _, prediction in items] == expected_classes(12)
    timestamps = [info.timestamp for info, _, _ in items]
    assert timestamps == pytest.approx([index / FPS for index in range(12)], abs=1e-3)
    first = items[0].info
    assert (first.fps, first.size, first.live) == (FPS, (WIDTH, HEIGHT), False)
    assert items[0].frame.shape == (HEIGHT, WIDTH, 3)
    assert set(first.stage_seconds) >= {"read", "pre", "run", "post"}
    assert stream.policy == "every" and stream.stats.predicted == 12 and stream.stats.dropped == 0


def test_frames_are_bgr_as_opencv_gives_them(classifier: modelrt.Model, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 1)

    with classifier.stream(video) as stream:
        (_, frame, _), *_ = list(stream)

    blue, green, red = frame[HEIGHT // 2, WIDTH // 2].tolist()
    assert red > 200 and green < 40 and blue < 40  # the first frame is red, stored B, G, R


def test_batching_gives_the_results_of_one_frame_at_a_time(classifier: modelrt.Model, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 11)

    with classifier.stream(video, batch=1) as one, classifier.stream(video, batch=4) as batched:
        assert _classes(batched) == _classes(one) == expected_classes(11)


def test_every_and_max_fps_choose_frames_by_position_and_source_time(classifier: modelrt.Model, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 10)

    with classifier.stream(video, every=3) as every_third, classifier.stream(video, max_fps=FPS / 2) as half_rate:
        assert [info.index for info, _, _ in every_third] == [0, 3, 6, 9]
        assert [info.index for info, _, _ in half_rate] == [0, 2, 4, 6, 8]
    assert (every_third.stats.skipped, half_rate.stats.skipped) == (6, 5)


def test_an_image_directory_streams_as_a_video_of_stills(classifier: modelrt.Model, tmp_path: Path) -> None:
    for index, colour in enumerate(COLOURS):
        write_picture(tmp_path / f"frame{index}.png", colour)

    with classifier.stream(tmp_path, stills_fps=2.0) as stream:
        items = list(stream)

    assert [prediction.top(1)[0][0] for _, _, prediction in items] == ["red", "green", "blue"]
    assert [info.timestamp for info, _, _ in items] == [0.0, 0.5, 1.0]


def test_a_truncated_video_raises_input_error_after_the_frames_that_decoded(
    classifier: modelrt.Model, tmp_path: Path
) -> None:
    video = truncated_video(tmp_path / "cut.avi", frames=20)
    seen: list[int] = []

    with classifier.stream(video, batch=3) as stream, pytest.raises(InputError, match="truncated or corrupt"):
        for info, _, _ in stream:
            seen.append(info.index)

    assert 0 < len(seen) < 20
    assert seen == list(range(len(seen)))


def test_a_file_that_is_not_a_video_is_an_input_error(classifier: modelrt.Model, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))

    with pytest.raises(InputError, match="cannot open this video"):
        classifier.stream(fake)


def test_a_live_source_faster_than_the_model_keeps_only_the_latest_frame(classifier: modelrt.Model) -> None:
    camera = FakeCamera(50, hold=True)

    with classifier.stream(camera) as stream:
        first = next(stream)
        camera.go.set()
        assert camera.exhausted.wait(HANG)  # the model is "busy" while the camera gives all its frames
        rest = list(stream)

    assert stream.policy == "latest"
    assert first.info.index == 0
    assert [info.index for info, _, _ in rest] == [49]  # the stale frames were dropped, the newest kept
    assert stream.stats.dropped == 50 - 2 and stream.stats.read == 50 and stream.stats.predicted == 2


def test_the_every_frame_policy_on_a_live_source_drops_nothing(classifier: modelrt.Model) -> None:
    camera = FakeCamera(30)

    with classifier.stream(camera, policy="every", batch=2) as stream:
        indices = [info.index for info, _, _ in stream]

    assert indices == list(range(30)) and stream.stats.dropped == 0


def test_a_live_source_that_breaks_ends_the_stream_cleanly(classifier: modelrt.Model) -> None:
    camera = FakeCamera(5, breaks=True)

    with classifier.stream(camera) as stream:
        next(stream)
        assert camera.exhausted.wait(HANG)
        list(stream)  # ends without an error

    assert camera.closed


def test_a_broken_live_source_is_reopened_up_to_reconnect_times_with_time_going_on(
    classifier: modelrt.Model,
) -> None:
    cameras: list[FakeCamera] = []

    def open_camera() -> FakeCamera:
        cameras.append(FakeCamera(3, breaks=True))
        return cameras[-1]

    with classifier.stream(open_camera, policy="every", reconnect=2) as stream:
        items = list(stream)

    assert len(cameras) == 3 and all(camera.closed for camera in cameras)
    assert [info.index for info, _, _ in items] == list(range(9)) and stream.stats.reconnects == 2
    timestamps = [info.timestamp for info, _, _ in items]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 9


def test_a_stalled_source_raises_stream_stalled_error_after_its_frames(classifier: modelrt.Model) -> None:
    camera = FakeCamera(2, stalls=True)
    seen = []

    with classifier.stream(camera, policy="every", timeout=0.5) as stream:
        with pytest.raises(StreamStalledError, match=r"no frame for 0\.5 s"):
            for info, _, _ in stream:
                seen.append(info.index)
        camera.released.set()  # lets the decode thread end

    assert seen == [0, 1]
    assert isinstance(StreamStalledError("x"), TimeoutError)


def test_leaving_the_block_early_stops_the_decode_thread_and_releases_the_source(classifier: modelrt.Model) -> None:
    camera = FakeCamera(10_000)

    with classifier.stream(camera, policy="every") as stream:
        next(stream)

    assert camera.closed
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("modelrt-decode")]


@pytest.mark.parametrize(
    ("option", "value"), [("batch", 0), ("every", 0), ("max_fps", -1), ("timeout", 0), ("policy", "oldest")]
)
def test_bad_options_are_refused_before_anything_is_opened(
    classifier: modelrt.Model, option: str, value: object
) -> None:
    with pytest.raises(InputError, match=option):
        classifier.stream(FakeCamera(1), **{option: value})


def test_stream_detections_convert_to_supervision_detections_for_trackers(tmp_path: Path) -> None:
    """Trackers (``trackers.ByteTrackTracker``, ``sv.ByteTrack`` before supervision 0.31) take
    ``supervision.Detections`` with boxes, confidences and class ids aligned."""
    supervision = pytest.importorskip("supervision")
    video = write_video(tmp_path / "clip.mp4", 3)

    with modelrt.load(grid_detector(tmp_path / "grid.onnx")) as detector, detector.stream(video) as stream:
        converted = [prediction.to_supervision() for _, _, prediction in stream]

    assert len(converted) == 3
    for detections in converted:
        assert isinstance(detections, supervision.Detections) and len(detections) == 64
        assert detections.xyxy.shape == (64, 4) and detections.confidence.shape == (64,)
        assert set(detections.class_id.tolist()) == {0, 1}

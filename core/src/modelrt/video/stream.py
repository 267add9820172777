"""``Model.stream``: predictions over a frame source, decoding in a background thread.

One decode thread reads the source into a small bounded buffer while the caller's thread predicts, so
decoding overlaps inference and memory stays bounded however long the source runs. What happens when
the model is slower than the source is the *drop policy*:

- ``"every"`` (the default for files and image directories): the decode thread waits for room, so every
  frame is predicted, in order;
- ``"latest"`` (the default for cameras and stream URLs): the decode thread never waits; when the
  buffer is full the oldest frame is dropped (counted in ``stats.dropped``), so predictions follow the
  live scene instead of falling further and further behind it.

``every=K`` predicts one frame in K (the others are skipped, counted in ``stats.skipped``) and
``max_fps=F`` at most F frames per second of source time; both follow the source's timestamps, so a
file gives the same frames on any machine. A source that ends ends the iterator; a live source whose
connection breaks ends it too, unless ``reconnect`` allows re-opening it; a file that is truncated or
corrupt raises ``InputError`` after the frames that decoded; a source that gives no frame for
``timeout`` seconds raises ``StreamStalledError``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from modelrt.errors import InputError, StreamStalledError
from modelrt.timing import StageTimer
from modelrt.video.frames import FrameInfo, FrameSource, open_frames

if TYPE_CHECKING:
    import numpy as np

    from modelrt.model import Model
    from modelrt.results import Prediction

__all__ = ["DROP_POLICIES", "FrameStream", "StreamItem", "StreamStalledError", "StreamStats", "open_stream"]

DROP_POLICIES = ("auto", "every", "latest")
#: Frames decoded ahead per batch for files (enough to keep the model fed while the next batch decodes).
_AHEAD_BATCHES = 2
#: How long ``close`` waits for the decode thread to notice it should stop.
_JOIN_SECONDS = 5.0


class StreamItem(NamedTuple):
    """One predicted frame: unpacks as ``info, frame, prediction``; ``frame`` is BGR as OpenCV gives it."""

    info: FrameInfo
    frame: np.ndarray
    prediction: Prediction


@dataclass
class StreamStats:
    """Counts so far: frames ``read`` from the source, ``predicted``, ``dropped`` by the live policy,
    ``skipped`` by ``every``/``max_fps``, and ``reconnects`` of a live source."""

    read: int = 0
    predicted: int = 0
    dropped: int = 0
    skipped: int = 0
    reconnects: int = 0


class _End:
    """Put in the buffer after the last frame; carries the error that ended the source, if any."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


_Decoded = tuple[FrameInfo, "np.ndarray"]


class _FrameBuffer:
    """A bounded buffer between the decode thread and the predicting thread, with the drop policy."""

    def __init__(self, capacity: int, drop_oldest: bool, stats: StreamStats) -> None:
        self._items: deque[_Decoded | _End] = deque()
        self._capacity = capacity
        self._drop_oldest = drop_oldest
        self._stats = stats
        self._ready = threading.Condition()
        self.closed = False

    def put(self, item: _Decoded | _End) -> None:
        with self._ready:
            if not isinstance(item, _End):
                while len(self._items) >= self._capacity and not self.closed:
                    if self._drop_oldest:
                        self._items.popleft()
                        self._stats.dropped += 1
                    else:
                        self._ready.wait()
            if not self.closed:
                self._items.append(item)
                self._ready.notify_all()

    def get(self, timeout: float | None) -> _Decoded | _End | None:
        """The next item; ``None`` when ``timeout`` (``None``: no wait) passed without one."""
        with self._ready:
            if timeout is not None:
                self._ready.wait_for(lambda: bool(self._items), timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._ready.notify_all()
            return item

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._items.clear()
            self._ready.notify_all()


class FrameStream:
    """An iterator of ``StreamItem``s; ``stats`` counts what happened; ``close()`` (or leaving a ``with``
    block, or the end of the source) stops the decode thread and releases the source."""

    def __init__(
        self,
        model: Model,
        source: FrameSource,
        *,
        batch: int,
        every: int,
        max_fps: float | None,
        policy: str,
        timeout: float,
        reopen: Callable[[], FrameSource] | None,
        reconnect: int,
        overrides: Mapping[str, Any],
    ) -> None:
        self.source = source
        self.stats = StreamStats()
        self.policy = ("latest" if source.live else "every") if policy == "auto" else policy
        self._model = model
        self._batch = batch
        self._every = every
        self._min_gap = 1.0 / max_fps if max_fps else 0.0
        self._timeout = timeout
        self._reopen = reopen
        self._reconnect = reconnect
        self._time_offset = 0.0
        self._last_timestamp = float("-inf")
        self._overrides = dict(overrides)
        capacity = batch if self.policy == "latest" else batch * _AHEAD_BATCHES
        self._buffer = _FrameBuffer(capacity, self.policy == "latest", self.stats)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._decode_loop, name=f"modelrt-decode {source.name}", daemon=True)
        self._items = self._predict_loop()
        self._thread.start()

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> StreamItem:
        return next(self._items)

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop decoding and release the source; frames not yet predicted are discarded."""
        self._stop.set()
        self._buffer.close()
        self._items.close()
        if self._thread is not threading.current_thread():
            self._thread.join(_JOIN_SECONDS)

    # ----------------------------------------------------------------------------------- decode thread

    def _decode_loop(self) -> None:
        source = self.source
        last_kept = float("-inf")
        error: BaseException | None = None
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                frame = self._read(source)
                if frame is None:
                    break
                source = self.source
                timestamp, pixels = frame
                timestamp = self._last_timestamp = timestamp + self._time_offset
                index = self.stats.read
                self.stats.read += 1
                if index % self._every or timestamp - last_kept < self._min_gap - 1e-9:
                    self.stats.skipped += 1
                    continue
                last_kept = timestamp
                read = {"read": time.perf_counter() - started}
                info = FrameInfo(source.name, index, timestamp, source.fps, source.size, source.live, read)
                self._buffer.put((info, pixels))
        except BaseException as caught:  # handed to the predicting thread, which raises it
            error = caught
        finally:
            self.source.close()
            self._buffer.put(_End(error))

    def _read(self, source: FrameSource) -> tuple[float, np.ndarray] | None:
        """The next frame; a live source that ends or breaks is re-opened up to ``reconnect`` times."""
        while True:
            try:
                frame = source.read()
            except InputError:
                if not source.live:
                    raise
                frame = None
            if frame is not None or not source.live or self.stats.reconnects >= self._reconnect:
                return frame
            if self._reopen is None or self._stop.is_set():
                return None
            self.stats.reconnects += 1
            source.close()
            # A re-opened source counts time from zero again; its frames go on after the last one seen.
            self._time_offset = max(self._last_timestamp + 1.0 / source.fps, self._time_offset)
            source = self.source = self._reopen()

    # ------------------------------------------------------------------------------- predicting thread

    def _predict_loop(self) -> Generator[StreamItem, None, None]:
        try:
            while chunk := self._next_batch():
                timer = StageTimer()
                frames = [pixels for _, pixels in chunk]
                results = self._model.predict(frames, color="bgr", timer=timer, **self._overrides)
                assert isinstance(results, list)  # a list in, a list out
                shared = {stage: seconds / len(chunk) for stage, seconds in timer.seconds.items()}
                self.stats.predicted += len(chunk)
                for (info, pixels), result in zip(chunk, results, strict=True):
                    yield StreamItem(replace(info, stage_seconds={**info.stage_seconds, **shared}), pixels, result)
        finally:
            self._stop.set()
            self._buffer.close()

    def _next_batch(self) -> list[_Decoded]:
        """Up to ``batch`` frames: waits for the first; for files also for the rest, for live sources
        takes only those already decoded (waiting would add latency)."""
        chunk: list[_Decoded] = []
        while len(chunk) < self._batch:
            wait = self._timeout if not chunk or self.policy == "every" else None
            item = self._buffer.get(wait)
            if item is None:
                if chunk:
                    return chunk
                raise StreamStalledError(
                    f"{self.source.name}: no frame for {self._timeout:g} s; the source stalled (a camera that "
                    "stopped, a stream that lost its connection). Check it, or pass a longer timeout"
                )
            if isinstance(item, _End):
                self._buffer.put(item)  # seen again by the next call, after this chunk is yielded
                if item.error is not None and not chunk:
                    raise item.error
                return chunk
            chunk.append(item)
        return chunk


def open_stream(
    model: Model,
    source: Any,
    *,
    batch: int = 1,
    every: int = 1,
    max_fps: float | None = None,
    policy: str = "auto",
    timeout: float = 10.0,
    reconnect: int = 0,
    stills_fps: float = 30.0,
    overrides: Mapping[str, Any] | None = None,
) -> FrameStream:
    """Check the options, open ``source`` and start decoding it (see ``Model.stream``)."""
    for name, value in (("batch", batch), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name}={value!r} must be a whole number, at least 1")
    if isinstance(reconnect, bool) or not isinstance(reconnect, int) or reconnect < 0:
        raise InputError(f"reconnect={reconnect!r} must be a whole number of attempts, 0 or more")
    if max_fps is not None and not (isinstance(max_fps, int | float) and max_fps > 0):
        raise InputError(f"max_fps={max_fps!r} must be a positive number of frames per second, or None")
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise InputError(f"timeout={timeout!r} must be a positive number of seconds")
    if policy not in DROP_POLICIES:
        raise InputError(f"policy={policy!r} is not a drop policy; use one of {', '.join(DROP_POLICIES)}")
    opened = open_frames(source, stills_fps=stills_fps)
    reopen = None if opened is source else (lambda: open_frames(source, stills_fps=stills_fps))
    return FrameStream(
        model,
        opened,
        batch=batch,
        every=every,
        max_fps=max_fps,
        policy=policy,
        timeout=float(timeout),
        reopen=reopen,
        reconnect=reconnect,
        overrides=overrides or {},
    )

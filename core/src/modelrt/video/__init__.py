"""Video files, cameras, streams and image directories as frame sources for ``Model.stream``.

Importing this package imports neither numpy nor OpenCV; a source opens OpenCV when it is created.
"""

from modelrt.video.frames import FrameInfo, FrameSource, open_frames
from modelrt.video.stream import FrameStream, StreamItem, StreamStalledError, StreamStats

__all__ = ["FrameInfo", "FrameSource", "FrameStream", "StreamItem", "StreamStalledError", "StreamStats", "open_frames"]

"""OpenCV as every modelrt module imports it: with its decoder's pixel limit set first.

OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when its library loads, and whichever modelrt module
imports it first (pre-processing, drawing, image decoding) loads it; so all of them take ``cv2`` from
here. The limit is process-wide: it also bounds what the caller's own OpenCV calls decode, unless cv2
was imported before modelrt first needed it (see ``modelrt.image_limits``).
"""

from modelrt.image_limits import limit_opencv_decoder

limit_opencv_decoder()

import cv2  # noqa: E402  (the limit must be in the environment before OpenCV loads)

__all__ = ["cv2"]

"""OpenCV as every modelrt module imports it: with its decoder's pixel limit set first.

OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when its library loads, and whichever modelrt module
imports it first (pre-processing, drawing, image decoding) loads it; so all of them take ``cv2`` from
here. The limit is process-wide: it also bounds what the caller's own OpenCV calls decode, unless cv2
was imported before modelrt first needed it (see ``modelrt.image_limits``).

OpenCV's thread count is left as the caller set it: modelrt never calls ``cv2.setNumThreads``. On 2
cores, one OpenCV thread pre-processed a 1280x720 frame about 8% (0.1 ms) faster than two, and whole
predictions differed by less than the noise (paired ratio 0.98, one caller or two at once). The setting
is process-wide and would also govern the caller's own OpenCV work, which a tenth of a millisecond does
not justify. Where pre-processing matters on a small machine, ``cv2.setNumThreads(1)`` is the caller's
choice to make.
"""

from modelrt.image_limits import limit_opencv_decoder

limit_opencv_decoder()

import cv2  # noqa: E402  (the limit must be in the environment before OpenCV loads)

__all__ = ["cv2"]

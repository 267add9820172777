"""Annotated oriented boxes: the rotated outline is drawn, not the axis-aligned bounds."""

from __future__ import annotations

import math

import numpy as np

from modelrt.annotate import annotate
from modelrt.results import Detections


def test_an_oriented_box_is_drawn_along_its_rotated_sides_only() -> None:
    grey = np.full((200, 300, 3), 128, dtype=np.uint8)
    oriented = np.array([[150, 100, 160, 60, math.pi / 4]], dtype=np.float32)
    detections = Detections(
        ("ship",), xyxy=[[65, 15, 235, 185]], confidence=[0.9], class_id=[0], oriented_boxes=oriented
    )
    drawn = annotate(grey, detections)
    changed = (drawn != 128).any(axis=2)
    # Midpoints of the four sides: centre ± (w/2)(cos, sin) and centre ± (h/2)(-sin, cos).
    cos, sin = math.cos(math.pi / 4), math.sin(math.pi / 4)
    for x, y in [(150 + 80 * cos, 100 + 80 * sin), (150 - 80 * cos, 100 - 80 * sin), (150 - 30 * sin, 100 + 30 * cos)]:
        assert changed[round(y), round(x)], (x, y)
    assert not changed[100, 150]  # the centre stays untouched
    assert not changed[184, 66]  # a corner of the axis-aligned bounds is outside the rotated box: no rectangle there

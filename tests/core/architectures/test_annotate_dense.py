"""Annotated segmentation maps and embeddings: each class but "background" tints its pixels half and half
with its colour, with a legend; an embedding gets a label with its length."""

from __future__ import annotations

import numpy as np

from modelrt.annotate import annotate
from modelrt.results import Embedding, SemanticSegmentation

RED, GREEN, BLUE = (255, 56, 56), (50, 205, 50), (30, 144, 255)  # the colours of classes 0, 1 and 2


def grey(height: int = 200, width: int = 300) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def test_each_class_tints_its_pixels_and_background_is_left_alone() -> None:
    class_map = np.zeros((200, 300), dtype=np.int32)
    class_map[100:200, 0:150] = 1
    class_map[100:200, 150:300] = 2
    drawn = annotate(grey(), SemanticSegmentation(("background", "road", "car"), class_map=class_map))
    assert drawn[150, 75].tolist() == [round((128 + c) / 2) for c in GREEN]
    assert drawn[150, 225].tolist() == [round((128 + c) / 2) for c in BLUE]
    assert (drawn[90:100, 200:300] == 128).all()  # background, away from the legend
    changed = (drawn != 128).any(axis=2)
    assert changed[100:, :].all()
    assert changed[:50, :60].any()  # the legend of the two classes, top left


def test_without_a_background_label_class_zero_is_drawn_too() -> None:
    class_map = np.zeros((200, 300), dtype=np.int32)
    drawn = annotate(grey(), SemanticSegmentation(("sky",), class_map=class_map))
    assert drawn[150, 150].tolist() == [round((128 + c) / 2) for c in RED]


def test_an_embedding_is_labelled_with_its_length() -> None:
    drawn = annotate(grey(), Embedding((), vector=np.ones(1280, np.float32)))
    changed = (drawn != 128).any(axis=2)
    assert changed[:30, :150].any() and not changed[100:].any()

"""Timing helpers: interleaved runs, robust statistics, and the detections-equal gate."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping

import numpy as np

Variant = Callable[[], Mapping[str, float]]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def summarise(samples: list[float]) -> dict[str, float]:
    """Median and p90 in milliseconds."""
    return {"median_ms": 1000 * statistics.median(samples), "p90_ms": 1000 * percentile(samples, 90)}


def interleave(
    variants: Mapping[str, Variant], runs: int, warmup: int, seed: int = 0
) -> dict[str, list[dict[str, float]]]:
    """Run every variant ``runs`` times in a shuffled order per round, so drift hits all alike.

    A variant returns its per-stage seconds; the wall time of the call is added as ``total``.
    """
    rng = random.Random(seed)
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _ in range(runs):
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            stages = dict(variants[name]())
            stages["total"] = time.perf_counter() - start
            results[name].append(stages)
    return results


def assert_same_detections(
    expected: tuple[np.ndarray, np.ndarray, np.ndarray], actual: tuple[np.ndarray, np.ndarray, np.ndarray], what: str
) -> None:
    """Refuse to time variants that disagree: same count, classes, scores and boxes (to 0.01 px)."""
    boxes_e, scores_e, classes_e = expected
    boxes_a, scores_a, classes_a = actual
    if len(boxes_e) != len(boxes_a):
        raise AssertionError(f"{what}: {len(boxes_a)} detections, expected {len(boxes_e)}")
    order_e = np.lexsort((boxes_e[:, 0], -scores_e))
    order_a = np.lexsort((boxes_a[:, 0], -scores_a))
    np.testing.assert_array_equal(classes_e[order_e], classes_a[order_a], err_msg=what)
    np.testing.assert_allclose(scores_e[order_e], scores_a[order_a], atol=1e-5, err_msg=what)
    np.testing.assert_allclose(boxes_e[order_e], boxes_a[order_a], atol=1e-2, err_msg=what)

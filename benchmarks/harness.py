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
    variants: Mapping[str, Variant], runs: int, warmup: int, seed: int = 0, pause_s: float = 0.0
) -> dict[str, list[dict[str, float]]]:
    """Run every variant ``runs`` times in a shuffled order per round, so drift hits all alike.

    A variant returns its per-stage seconds; the wall time of the call is added as ``total`` unless
    the variant measured its own (one run in another process reports ``total`` itself, without the
    round trip). ``pause_s`` of idle time after each call lets the thread pools of the variant that
    just ran stop spinning before the next one starts, so no variant pays for another's pool.
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
            stages.setdefault("total", time.perf_counter() - start)
            results[name].append(stages)
            if pause_s:
                time.sleep(pause_s)
    return results


def paired_ratio(numerator: list[dict[str, float]], denominator: list[dict[str, float]]) -> float:
    """Median over rounds of the ratio of two variants' totals in the same round.

    Both ran within the same round, moments apart, so a burst of load from another process slows
    both; the ratio of the two medians has no such protection.
    """
    ratios = [a["total"] / b["total"] for a, b in zip(numerator, denominator, strict=True)]
    return float(statistics.median(ratios))


def summarise_rows(rows: list[dict[str, float]], per: int = 1) -> dict[str, dict[str, float]]:
    """Median and p90 of ``total`` and of each stage present in every row, divided by ``per`` images."""
    stages = [name for name in ("total", "pre", "run", "post") if all(name in row for row in rows)]
    return {name: summarise([row[name] / per for row in rows]) for name in stages}


def assert_same_detections(
    expected: tuple[np.ndarray, np.ndarray, np.ndarray],
    actual: tuple[np.ndarray, np.ndarray, np.ndarray],
    what: str,
    box_atol: float = 1e-2,
) -> None:
    """Refuse to time variants that disagree: same count, classes, scores and boxes (to ``box_atol`` px).

    A runtime that rounds its boxes to whole pixels (inference-models does) is compared with
    ``box_atol`` just over 0.5.
    """
    boxes_e, scores_e, classes_e = expected
    boxes_a, scores_a, classes_a = actual
    if len(boxes_e) != len(boxes_a):
        raise AssertionError(f"{what}: {len(boxes_a)} detections, expected {len(boxes_e)}")
    order_e = np.lexsort((boxes_e[:, 0], -scores_e))
    order_a = np.lexsort((boxes_a[:, 0], -scores_a))
    np.testing.assert_array_equal(classes_e[order_e], classes_a[order_a], err_msg=what)
    np.testing.assert_allclose(scores_e[order_e], scores_a[order_a], atol=1e-5, err_msg=what)
    np.testing.assert_allclose(boxes_e[order_e], boxes_a[order_a], atol=box_atol, err_msg=what)

"""Resident memory growth over many predicts of one model, or many load/close cycles, in a fresh process.

Run by ``test_memory.py`` (``python rss_probe.py PACKAGE --predicts N [--leak-bytes B]``, or ``--cycles N``
for N rounds of load, one predict, close); prints JSON. A fresh
process keeps the measurement free of what other tests allocated and freed: a deliberate leak could
otherwise fill holes left in the heap and go unseen. ``--leak-bytes`` keeps that many bytes alive per
predict, written so they are resident: the negative control that the same threshold must catch.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys

import cv2
import numpy as np

import modelrt

WARMUP_PREDICTS = 500
WARMUP_CYCLES = 30


def resident_bytes() -> int:
    """Resident set size now (Linux ``/proc/self/statm``); elsewhere the peak, which a leak raises too."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def inputs() -> list[object]:
    """One of each kind a service receives: uint8 and float arrays, PNG bytes, a batch of two."""
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    encoded = cv2.imencode(".png", photo)[1].tobytes()
    return [photo, photo[:40, :50] / np.float32(255), encoded, [photo, photo[8:, 8:]]]


def measure(package: str, predicts: int, leak_bytes: int) -> dict[str, int]:
    kinds = inputs()
    kept: list[np.ndarray] = []
    with modelrt.load(package, device="cpu") as model:
        for index in range(WARMUP_PREDICTS):
            model.predict(kinds[index % len(kinds)])
        gc.collect()
        before = resident_bytes()
        for index in range(predicts):
            model.predict(kinds[index % len(kinds)])
            if leak_bytes:
                kept.append(np.ones(leak_bytes, np.uint8))
        gc.collect()
        after = resident_bytes()
    return {"predicts": predicts, "rss_growth_bytes": after - before, "leaked_bytes": leak_bytes * len(kept)}


def measure_cycles(package: str, cycles: int, leak_bytes: int) -> dict[str, int]:
    """Load, predict once and close, ``cycles`` times: what a service reloading a model does."""
    photo = inputs()[0]
    kept: list[np.ndarray] = []

    def cycle() -> None:
        with modelrt.load(package, device="cpu") as model:
            model.predict(photo)

    for _ in range(WARMUP_CYCLES):
        cycle()
    gc.collect()
    before = resident_bytes()
    for _ in range(cycles):
        cycle()
        if leak_bytes:
            kept.append(np.ones(leak_bytes, np.uint8))
    gc.collect()
    after = resident_bytes()
    return {"cycles": cycles, "rss_growth_bytes": after - before, "leaked_bytes": leak_bytes * len(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package")
    work = parser.add_mutually_exclusive_group(required=True)
    work.add_argument("--predicts", type=int)
    work.add_argument("--cycles", type=int)
    parser.add_argument("--leak-bytes", type=int, default=0)
    args = parser.parse_args()
    if args.cycles is not None:
        print(json.dumps(measure_cycles(args.package, args.cycles, args.leak_bytes)))
    else:
        print(json.dumps(measure(args.package, args.predicts, args.leak_bytes)))


if __name__ == "__main__":
    main()

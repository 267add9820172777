"""Memory stays flat over thousands of predicts, by a threshold shown to catch a leak of known size.

Each measurement runs in a fresh process (``rss_probe.py``): 500 warm-up predicts, then resident memory
before and after N predicts cycling through a uint8 array, a float array, PNG bytes and a batch of two.
The negative control runs the same loop keeping ``2 x THRESHOLD / N`` bytes alive per predict (a
leak of 2 x THRESHOLD in all); the same threshold must catch it, or the measurement proves nothing.

CI runs N = 2,000 (control: 4,194 bytes per predict); ``-m slow`` runs the 10,000-predict version
(control: 838 bytes per predict). A service that reloads its model is measured the same way: 300
cycles of load, one predict and close, against a control keeping 27,962 bytes per cycle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

THRESHOLD_BYTES = 4 * 1024 * 1024
PROBE = Path(__file__).with_name("rss_probe.py")


LOAD_CLOSE_CYCLES = 300


def _rss_growth(package: Path, predicts: int, leak_bytes: int = 0, work: str = "--predicts") -> int:
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(package), work, str(predicts), "--leak-bytes", str(leak_bytes)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    measured = json.loads(completed.stdout)
    assert measured[work.removeprefix("--")] == predicts and measured["leaked_bytes"] == predicts * leak_bytes
    return int(measured["rss_growth_bytes"])


def _control_leak_per_predict(predicts: int) -> int:
    return 2 * THRESHOLD_BYTES // predicts


@pytest.mark.parametrize("predicts", [2_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_resident_memory_stays_flat_over_many_predicts(classifier_package: Path, predicts: int) -> None:
    assert _rss_growth(classifier_package, predicts) < THRESHOLD_BYTES


@pytest.mark.parametrize("predicts", [2_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_the_same_threshold_catches_a_deliberate_leak_of_known_size(classifier_package: Path, predicts: int) -> None:
    assert _rss_growth(classifier_package, predicts, _control_leak_per_predict(predicts)) >= THRESHOLD_BYTES


def test_resident_memory_stays_flat_over_load_close_cycles(classifier_package: Path) -> None:
    assert _rss_growth(classifier_package, LOAD_CLOSE_CYCLES, work="--cycles") < THRESHOLD_BYTES


def test_the_same_threshold_catches_a_leak_of_known_size_per_load(classifier_package: Path) -> None:
    leak = _control_leak_per_predict(LOAD_CLOSE_CYCLES)
    assert _rss_growth(classifier_package, LOAD_CLOSE_CYCLES, leak, work="--cycles") >= THRESHOLD_BYTES

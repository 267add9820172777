"""The steady-state part and the report built from it: the schema, never the times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import e2e, models, report


@pytest.fixture(scope="module")
def e2e_part(tiny_model: models.BenchModel, tiny_image: Path) -> dict[str, Any]:
    return e2e.run(tiny_model, tiny_image, runs=2, warmup=0, threads=1, batch=2, reference=False, pause_s=0)


def test_every_in_process_variant_is_timed_at_batch_1_and_at_the_batch(e2e_part: dict[str, Any]) -> None:
    assert set(e2e_part["variants"]) == {
        "numpy floor",
        "raw session.run",
        "modelrt",
        "raw session.run x2",
        "modelrt x2",
    }
    assert e2e_part["variants"]["modelrt x2"]["batch"] == 2
    assert e2e_part["threads"] == 1
    assert e2e_part["reference"] is None


def test_variants_with_stages_report_them_and_the_time_outside_the_model_run(e2e_part: dict[str, Any]) -> None:
    modelrt = e2e_part["variants"]["modelrt"]
    assert set(modelrt["per_image"]) == {"total", "pre", "run", "post"}
    assert set(modelrt["per_image"]["total"]) == {"median_ms", "p90_ms"}
    assert "median_ms" in modelrt["outside_model_run_per_image"]
    assert set(e2e_part["variants"]["raw session.run"]["per_image"]) == {"total", "run"}


def test_ratios_are_paired_round_by_round_and_per_image(e2e_part: dict[str, Any]) -> None:
    assert set(e2e_part["paired_ratios"]) == {
        "modelrt / raw session.run",
        "modelrt / numpy floor",
        "raw session.run x2 / raw session.run",
        "modelrt x2 / modelrt",
    }


def test_detections_are_counted_after_the_equality_check(e2e_part: dict[str, Any]) -> None:
    assert e2e_part["detections"] > 0


def test_targets_from_the_e2e_part_are_ratios_with_a_verdict(e2e_part: dict[str, Any]) -> None:
    found = report.targets({"e2e": e2e_part})
    names = [target["name"] for target in found]
    assert names == [
        "modelrt time outside the model run, per image (ms)",
        "modelrt / raw session.run (paired median)",
        "modelrt batch 2 / batch 1, per image (CPU)",
    ]
    assert all(isinstance(target["met"], bool) for target in found)


def test_report_is_written_as_json_and_a_markdown_table(e2e_part: dict[str, Any], tmp_path: Path) -> None:
    import json

    full: dict[str, Any] = {"command": "python -m benchmarks run", "date": "today", "e2e": e2e_part}
    full["targets"] = report.targets(full)
    json_path, markdown_path = report.write(full, tmp_path)
    assert json.loads(json_path.read_text())["e2e"]["runs"] == 2
    text = markdown_path.read_text()
    assert "| variant | ms per image, median |" in text
    assert "| modelrt x2 |" in text
    assert "| target | measured | goal | met |" in text

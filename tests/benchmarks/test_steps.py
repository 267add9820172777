"""The step floor benchmark runs every step on the tiny model and reports each stage's floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import models, steps


def test_every_step_runs_and_the_floor_sums_the_floor_steps(tiny_model: models.BenchModel, tiny_image: Path) -> None:
    import modelrt

    with modelrt.load(tiny_model.modelrt_package, warmup=0) as model:
        medians = steps.time_steps(steps.steps(model, models.read_rgb(tiny_image)), rounds=3)
    assert set(steps.PRE_FLOOR) | set(steps.POST_FLOOR) <= set(medians)
    assert all(value > 0 for value in medians.values())
    result = steps.report(medians, "python -m benchmarks.steps")
    assert result["pre"]["floor_ms"] == pytest.approx(sum(result["steps_ms"][name] for name in steps.PRE_FLOOR))
    assert result["post"]["modelrt_ms"] == result["steps_ms"]["modelrt post-processing"]
    assert "| modelrt pre-processing |" in steps.markdown(result)


def test_the_command_writes_json_and_markdown(
    tiny_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = models.synthetic(tiny_image, passing=10, input_size=64, trunk_depth=1, models=tmp_path / "models")
    monkeypatch.setattr(models, "synthetic", lambda image: tiny)
    assert steps.main(["--image", str(tiny_image), "--rounds", "2", "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "steps.json").exists() and (tmp_path / "out" / "steps.md").exists()

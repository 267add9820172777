"""Profiles per stage, written next to the results after the timing: which calls land where, and the files."""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import __main__ as cli
from benchmarks import envs, models, profiles, report, suite
from benchmarks.profiles import ProfilingTimer

# ------------------------------------------------------------------------------ the profiling timer


def only_in_pre() -> int:
    return sum(range(50))


def only_in_post() -> int:
    return sum(range(60))


def inside_run_inside_post() -> int:
    return sum(range(70))


def outside_every_stage() -> int:
    return sum(range(80))


def functions(profile: cProfile.Profile) -> set[str]:
    return {name for _file, _line, name in pstats.Stats(profile).stats}  # type: ignore[attr-defined]


def test_each_stage_profiler_sees_only_the_calls_made_inside_that_stage() -> None:
    timer = ProfilingTimer()
    for _ in range(3):
        with timer.stage("pre"):
            only_in_pre()
        outside_every_stage()
        with timer.stage("post"):
            only_in_post()
    assert set(timer.profiles) == {"pre", "post"}
    assert "only_in_post" in functions(timer.profiles["post"])
    assert "only_in_pre" not in functions(timer.profiles["post"])
    assert "only_in_pre" in functions(timer.profiles["pre"])
    assert "only_in_post" not in functions(timer.profiles["pre"])
    assert not any("outside_every_stage" in functions(profile) for profile in timer.profiles.values())


def test_the_timer_still_accumulates_seconds_per_stage_like_a_stage_timer() -> None:
    timer = ProfilingTimer()
    for _ in range(2):
        with timer.stage("pre"):
            only_in_pre()
    assert set(timer.seconds) == {"pre"}
    assert timer.seconds["pre"] > 0


def test_a_stage_inside_another_is_counted_in_the_inner_one_and_the_outer_one_resumes() -> None:
    timer = ProfilingTimer()
    with timer.stage("post"):
        with timer.stage("run"):
            inside_run_inside_post()
        only_in_post()
    assert "inside_run_inside_post" in functions(timer.profiles["run"])
    assert "inside_run_inside_post" not in functions(timer.profiles["post"])
    assert "only_in_post" in functions(timer.profiles["post"])


def test_dump_writes_a_pstats_file_and_a_readable_summary_per_stage(tmp_path: Path) -> None:
    timer = ProfilingTimer()
    with timer.stage("post"):
        only_in_post()
    written = profiles.dump(timer, tmp_path, "modelrt", "one call")
    assert [path.name for path in written] == ["modelrt-post.pstats", "modelrt-post.txt"]
    loaded = pstats.Stats(str(tmp_path / "modelrt-post.pstats"))
    assert any(name == "only_in_post" for _file, _line, name in loaded.stats)  # type: ignore[attr-defined]
    text = (tmp_path / "modelrt-post.txt").read_text()
    assert text.startswith("modelrt, stage post: one call;")
    assert "by cumulative time" in text and "by own time" in text
    assert "tests/benchmarks/test_profiles.py" in text and "(only_in_post)" in text
    assert f"{envs.REPO}/" not in text  # paths are shown from the checkout's root


def test_long_path_prefixes_are_shortened() -> None:
    line = (
        "1 0.0 0.0 0.0 0.0 /opt/venv/lib/python3.11/site-packages/numpy/core/_methods.py:39(_amax)\n"
        "1 0.0 0.0 0.0 0.0 /usr/lib/python3.11/contextlib.py:141(__exit__)\n"
        f"1 0.0 0.0 0.0 0.0 {envs.REPO}/core/src/modelrt/nms.py:55(nms)\n"
    )
    assert profiles.shorten(line).splitlines() == [
        "1 0.0 0.0 0.0 0.0 numpy/core/_methods.py:39(_amax)",
        "1 0.0 0.0 0.0 0.0 contextlib.py:141(__exit__)",
        "1 0.0 0.0 0.0 0.0 core/src/modelrt/nms.py:55(nms)",
    ]


def test_importtime_summary_lists_the_largest_cumulative_imports_first() -> None:
    log = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |   numpy.core\n"
        "import time:       500 |       2600 | numpy\n"
        "import time:      1200 |       1200 | modelrt\n"
    )
    rows = profiles.importtime_top(log, top=2).splitlines()[3:]
    assert [row.split()[-1] for row in rows] == ["numpy", "modelrt"]
    assert rows[0].split()[:2] == ["2.6", "0.5"]


# ------------------------------------------------------------------------ the suite writes them


def options(output: Path, **changes: Any) -> suite.SuiteOptions:
    return suite.SuiteOptions(
        threads=1,
        parts=("e2e",),
        reference=False,
        runs=2,
        warmup=0,
        batch=2,
        pause_s=0,
        output=output,
        profile_rounds=2,
        **changes,
    )


@pytest.fixture(scope="module")
def profiled(
    tiny_model: models.BenchModel, tiny_image: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    output = tmp_path_factory.mktemp("results")
    stale = output / "latest.profile"
    stale.mkdir()
    (stale / "modelrt-x16-post.pstats").write_bytes(b"from an earlier run")
    (stale / "modelrt-x16-post.txt").write_text("from an earlier run")
    (stale / "notes.md").write_text("not a profile")
    result = suite.run(options(output, image=tiny_image), "python -m benchmarks run", model=tiny_model)
    return output, result


def expected_files(variants: tuple[str, ...]) -> list[str]:
    return sorted(f"{v}-{stage}.{ext}" for v in variants for stage in profiles.STAGES for ext in ("pstats", "txt"))


def test_e2e_writes_a_profile_per_variant_and_stage_next_to_the_results(profiled: tuple[Path, dict[str, Any]]) -> None:
    output, _ = profiled
    directory = output / "latest.profile"
    assert profiles.listed(directory) == expected_files(("modelrt", "modelrt-x2"))
    post = (directory / "modelrt-post.txt").read_text()
    assert post.startswith("modelrt, stage post: 2 predictions of 1 image each, after the timed runs;")
    assert "core/src/modelrt/architectures/yolo.py" in post
    assert "core/src/modelrt/preprocess.py" in (directory / "modelrt-x2-pre.txt").read_text()


def test_the_report_lists_the_profiles_and_the_markdown_says_where_they_are(
    profiled: tuple[Path, dict[str, Any]],
) -> None:
    output, result = profiled
    assert result["profiles"] == {
        "directory": str(output / "latest.profile"),
        "rounds": 2,
        "files": expected_files(("modelrt", "modelrt-x2")),
    }
    last = report.markdown(result).rstrip().splitlines()[-1]
    assert last.startswith(f"Profiles (cProfile, 2 predictions after the timing): `{output / 'latest.profile'}/`")
    assert "`modelrt-<stage>.txt`, `modelrt-x2-<stage>.txt` (stages decode, pre, run, post" in last


def test_profiles_of_an_earlier_run_are_removed_and_other_files_kept(profiled: tuple[Path, dict[str, Any]]) -> None:
    output, _ = profiled
    directory = output / "latest.profile"
    assert not (directory / "modelrt-x16-post.pstats").exists()
    assert not (directory / "modelrt-x16-post.txt").exists()
    assert (directory / "notes.md").exists()


def test_without_profiling_nothing_is_written_and_the_report_names_none(
    tiny_model: models.BenchModel, tiny_image: Path, tmp_path: Path
) -> None:
    result = suite.run(options(tmp_path, image=tiny_image, profile=False), "python -m benchmarks run", model=tiny_model)
    assert not (tmp_path / "latest.profile").exists()
    assert "profiles" not in result
    assert "Profiles" not in report.markdown(result)


def test_the_command_line_passes_the_output_directory_and_no_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[suite.SuiteOptions] = []

    def run(options: suite.SuiteOptions, command: str) -> dict[str, Any]:
        seen.append(options)
        return {"command": command, "date": "today", "targets": []}

    monkeypatch.setattr(suite, "run", run)
    arguments = ["--model", "synthetic", "--parts", "e2e", "--threads", "1", "--output", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", ["python -m benchmarks", "run", *arguments, "--no-profile"])
    assert cli.main() == 0
    assert seen[-1].output == tmp_path and seen[-1].profile is False
    assert (tmp_path / "latest.json").exists()
    monkeypatch.setattr(sys, "argv", ["python -m benchmarks", "run", *arguments])
    assert cli.main() == 0
    assert seen[-1].profile is True and seen[-1].profile_dir == tmp_path / "latest.profile"


# ---------------------------------------------------------------------------------------- start-up


def test_startup_is_profiled_in_a_fresh_process_of_the_startup_python(
    tiny_model: models.BenchModel, tiny_image: Path, tmp_path: Path
) -> None:
    written = profiles.startup_profile(Path(sys.executable), tiny_model, tiny_image, threads=1, directory=tmp_path)
    assert sorted(path.name for path in written) == profiles.listed(tmp_path)
    assert profiles.listed(tmp_path) == [
        "startup-importtime-top.txt",
        "startup-importtime.txt",
        "startup.pstats",
        "startup.txt",
    ]
    assert "| modelrt" in (tmp_path / "startup-importtime.txt").read_text()
    top = (tmp_path / "startup-importtime-top.txt").read_text().splitlines()
    assert top[2].split() == ["cumulative", "ms", "self", "ms", "module"] and len(top) > 3
    loaded = pstats.Stats(str(tmp_path / "startup.pstats"))
    assert any(name == "first_modelrt" for _file, _line, name in loaded.stats)  # type: ignore[attr-defined]
    assert "benchmarks/tools/startup_probe.py" in (tmp_path / "startup.txt").read_text()

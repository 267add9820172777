"""The options of `modelrt`: global ones anywhere, help text for every one, `--task` choices, `--classes`
by name or id."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from modelrt.cli import build_parser
from modelrt.cli_package import PACKAGE_TASKS
from modelrt.manifest import TASKS

from .cli_models import GRID, grid_detector, run_modelrt, write_picture


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(grid_detector(tmp_path_factory.mktemp("detector") / "grid.onnx"))


@pytest.fixture(scope="module")
def grid_picture(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_picture(tmp_path_factory.mktemp("pictures") / "grid.png"))


# ----------------------------------------------------------------------------------------- global options


@pytest.mark.parametrize(
    "arguments",
    [
        ["predict", "MISSING", "PICTURE", "--verbose"],
        ["predict", "-v", "MISSING", "PICTURE"],
        ["explain", "MISSING", "-v"],
    ],
)
def test_verbose_works_after_the_command(arguments: list[str], grid_picture: str, tmp_path: Path) -> None:
    words = {"MISSING": str(tmp_path / "missing"), "PICTURE": grid_picture}

    result = run_modelrt(*(words.get(word, word) for word in arguments))

    assert result.returncode == 1
    assert "Traceback" in result.stderr and "not found" in result.stderr


def test_version_works_after_the_command_too() -> None:
    result = run_modelrt("env", "--version")

    assert result.returncode == 0
    assert result.stdout.startswith("modelrt-core ")


# ------------------------------------------------------------------------------------------------- help


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    missing = []
    for name, command in {"modelrt": parser, **_commands(parser)}.items():
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {choice.dest}" for choice in action._choices_actions if not choice.help]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_package_help_lists_the_tasks() -> None:
    result = run_modelrt("package", "--help")

    assert result.returncode == 0
    assert all(task in result.stdout for task in TASKS)


def test_the_task_choices_are_the_manifest_tasks() -> None:
    assert PACKAGE_TASKS == TASKS


def test_predict_help_says_which_inputs_it_accepts() -> None:
    result = run_modelrt("predict", "--help")

    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for accepted in ("directory", "glob pattern", "stdin", "A video file (clip.mp4, ...) or stream URL", "--overwrite"):
        assert accepted in text


# ---------------------------------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    ("classes", "kept"),
    [("cat", {"cat"}), ("1", {"dog"}), ("0,dog", {"cat", "dog"}), (" dog , 0 ", {"cat", "dog"})],
)
def test_classes_takes_names_and_ids(classes: str, kept: set[str], detector: str, grid_picture: str) -> None:
    result = run_modelrt("predict", detector, grid_picture, "--classes", classes)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    found = {line.split()[0] for line in lines[1:]}
    assert found == kept
    assert lines[0].endswith(f"{GRID * GRID // 2 * len(kept)} detections")


@pytest.mark.parametrize("unknown", ["zebra", "2", "-1", "cat,zebra"])
def test_an_unknown_class_is_an_error_listing_the_valid_ones(unknown: str, detector: str, grid_picture: str) -> None:
    result = run_modelrt("predict", detector, grid_picture, "--classes", unknown)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: --classes: ")
    assert "valid: 0 cat, 1 dog" in result.stderr

"""What `modelrt` writes: a quiet end when the reader of stdout goes away, a JSON document nothing else can
corrupt, text lines no file name can forge, and annotated pictures that never replace a file silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

from .cli_models import (
    GRID,
    classifier_package,
    grid_detector,
    noisy_plugin,
    run_modelrt,
    start_modelrt,
    write_picture,
)

#: 128 + SIGPIPE: what a shell reports for `ls | head -1` when ls is still writing.
STDOUT_CLOSED = 141


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(grid_detector(tmp_path_factory.mktemp("detector") / "grid.onnx"))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(classifier_package(tmp_path_factory.mktemp("classifier")))


# ------------------------------------------------------------------------------------ a closed stdout


def test_a_reader_that_closes_stdout_early_ends_predict_quietly(detector: str, tmp_path: Path) -> None:
    image = str(write_picture(tmp_path / "grid.png"))
    images = [image] * 40  # 40 x 65 lines of text: far more than a pipe holds

    process = start_modelrt("predict", detector, *images)
    assert process.stdout is not None and process.stderr is not None
    first_line = process.stdout.readline()
    process.stdout.close()  # as `head -1` does once it has its line
    status = process.wait(timeout=120)
    errors = process.stderr.read().decode()

    assert first_line.decode().startswith(f"{image}: {GRID * GRID} detections")
    assert status == STDOUT_CLOSED
    assert errors == ""


def test_a_reader_that_closes_stdout_early_ends_a_json_document_quietly(detector: str, tmp_path: Path) -> None:
    images = [str(write_picture(tmp_path / "grid.png"))] * 60

    process = start_modelrt("predict", detector, *images, "--json")
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    status = process.wait(timeout=120)

    assert status == STDOUT_CLOSED
    assert process.stderr.read().decode() == ""


# ----------------------------------------------------------------------------- stdout holds only JSON


@pytest.mark.parametrize("command", [["plugins"], ["env"], ["predict", "CLASSIFIER", "PICTURE"]])
def test_with_json_a_plugin_writing_to_stdout_cannot_corrupt_the_document(
    command: list[str], classifier: str, tmp_path: Path
) -> None:
    plugin_path = noisy_plugin(tmp_path / "plugin")
    picture = str(write_picture(tmp_path / "red.png", (230, 10, 10)))
    arguments = [{"CLASSIFIER": classifier, "PICTURE": picture}.get(word, word) for word in command]

    result = run_modelrt(*arguments, "--json", env={"PYTHONPATH": str(plugin_path)})

    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)  # the whole of stdout is one document
    assert "noise from a plugin's print() at import" in result.stderr
    assert "noise written to file descriptor 1 at import" in result.stderr


# ---------------------------------------------------------------------------------- forged text lines


def test_a_newline_in_a_file_name_cannot_forge_an_output_line(classifier: str, tmp_path: Path) -> None:
    forged = "a.png: blue (1.000), red (0.000), green (0.000)\nb"
    write_picture(tmp_path / f"{forged}.png", (230, 10, 10))
    write_picture(tmp_path / "plain.png", (230, 10, 10))

    result = run_modelrt("predict", classifier, str(tmp_path))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0] == repr(str(tmp_path / f"{forged}.png")) + ": red (1.000), green (0.000), blue (0.000)"
    assert lines[1] == f"{tmp_path / 'plain.png'}: red (1.000), green (0.000), blue (0.000)"


def test_a_terminal_escape_in_a_class_name_is_printed_escaped(tmp_path: Path) -> None:
    labels = ("cat\x1b[2J", "dog")
    detector = grid_detector(tmp_path / "escape.onnx", labels=labels)
    picture = write_picture(tmp_path / "grid.png")

    result = run_modelrt("predict", str(detector), str(picture))

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "cat\\x1b[2J" in result.stdout


def test_an_error_message_quoting_a_file_name_stays_one_line(classifier: str, tmp_path: Path) -> None:
    result = run_modelrt("predict", classifier, str(tmp_path / "missing\nerror: forged.png"))

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "missing\\nerror: forged.png" in result.stderr


# ----------------------------------------------------------------------------------- annotated pictures


def test_save_gives_inputs_with_the_same_name_distinct_outputs(classifier: str, tmp_path: Path) -> None:
    first = write_picture(tmp_path / "a" / "x.png", (230, 10, 10))
    second = write_picture(tmp_path / "b" / "x.png", (10, 10, 230))
    third = write_picture(tmp_path / "c" / "X.jpg", (10, 230, 10))
    out = tmp_path / "out"

    result = run_modelrt("predict", classifier, str(first), str(second), str(third), "--save", str(out))

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["X-3.annotated.png", "x-2.annotated.png", "x.annotated.png"]
    reds = [cv2.imread(str(out / name))[-1, -1, 2] for name in ("x.annotated.png", "x-2.annotated.png")]
    assert reds[0] > 200 and reds[1] < 50  # each output is the picture of its own input
    assert f"saved {out / 'x-2.annotated.png'}" in result.stdout


def test_save_refuses_to_replace_an_existing_file_before_predicting(classifier: str, tmp_path: Path) -> None:
    picture = write_picture(tmp_path / "x.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.annotated.png").write_bytes(b"someone's file")

    refused = run_modelrt("predict", classifier, str(picture), "--save", str(out))

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "already exist" in refused.stderr and "--overwrite" in refused.stderr
    assert (out / "x.annotated.png").read_bytes() == b"someone's file"

    replaced = run_modelrt("predict", classifier, str(picture), "--save", str(out), "--overwrite")

    assert replaced.returncode == 0, replaced.stderr
    assert cv2.imread(str(out / "x.annotated.png")) is not None
    assert sorted(os.listdir(out)) == ["x.annotated.png"]  # no temporary file left behind


def test_save_to_one_named_file_refuses_to_replace_it_too(classifier: str, tmp_path: Path) -> None:
    picture = write_picture(tmp_path / "x.png")
    target = tmp_path / "result.jpg"
    target.write_bytes(b"keep me")

    result = run_modelrt("predict", classifier, str(picture), "--save", str(target))

    assert result.returncode == 1
    assert target.read_bytes() == b"keep me"


def _refuse_non_json_numbers(name: str) -> None:
    raise AssertionError(f"{name} is not valid JSON")


def test_json_output_stays_valid_json_when_a_model_outputs_nan(tmp_path: Path) -> None:
    package = classifier_package(tmp_path / "nan-classifier", sharpness=float("nan"))
    image = write_picture(tmp_path / "red.png", (255, 0, 0))
    completed = run_modelrt("predict", str(package), str(image), "--json")
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout, parse_constant=_refuse_non_json_numbers)
    assert [entry["probability"] for entry in document["results"][0]["top"]] == [None, None, None]

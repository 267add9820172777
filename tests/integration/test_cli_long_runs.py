"""Long `modelrt predict` runs: Ctrl-C ends them cleanly, and a progress bar shows on a terminal only."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from .cli_models import classifier_package, pictures, run_modelrt, start_modelrt, write_picture

INTERRUPTED = 130
PICTURES = 200


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(classifier_package(tmp_path_factory.mktemp("classifier")))


@pytest.fixture(scope="module")
def slow_pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Large pictures of one colour: small files that take a while to decode, so a run lasts."""
    directory = tmp_path_factory.mktemp("slow")
    first = write_picture(directory / "0000.png", size=(3000, 3000))
    for index in range(1, PICTURES):
        shutil.copy(first, directory / f"{index:04d}.png")
    return directory


def test_ctrl_c_ends_predict_with_130_keeping_the_lines_already_printed(classifier: str, slow_pictures: Path) -> None:
    process = start_modelrt("predict", classifier, str(slow_pictures))
    assert process.stdout is not None
    first_line = process.stdout.readline().decode()  # printed as soon as the first result is known
    process.send_signal(signal.SIGINT)
    rest, errors = _rest_of_the_output(process)

    assert first_line.startswith(f"{slow_pictures / '0000.png'}: ")
    assert process.returncode == INTERRUPTED
    assert "Traceback" not in errors.decode() and "interrupted" in errors.decode()
    lines = [first_line, *rest.decode().splitlines(keepends=True)]
    assert len(lines) < PICTURES
    assert all(line.endswith(")\n") for line in lines)  # every line printed is whole


def test_ctrl_c_with_json_still_ends_one_valid_document(classifier: str, slow_pictures: Path) -> None:
    process = start_modelrt("predict", classifier, str(slow_pictures), "--json")
    assert process.stdout is not None
    received = b""
    while b'{"image"' not in received:  # each result is written as soon as it is known
        line = process.stdout.readline()
        assert line, "the run ended before writing a result"
        received += line
    process.send_signal(signal.SIGINT)
    rest, errors = _rest_of_the_output(process)

    assert process.returncode == INTERRUPTED
    document = json.loads(received + rest)
    assert document["interrupted"] is True
    assert 1 <= len(document["results"]) < PICTURES
    assert "Traceback" not in errors.decode()


def _rest_of_the_output(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Whatever stdout still holds (what ``readline`` buffered included) and stderr, once the process ends."""
    assert process.stdout is not None and process.stderr is not None
    rest = process.stdout.read()
    process.wait(timeout=120)
    return rest, process.stderr.read()


def _stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run `modelrt ARGS` with stderr on a pseudo-terminal; its exit status and what the terminal got."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    process = start_modelrt(*args, stderr=terminal)
    os.close(terminal)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process has exited
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    process.communicate(timeout=120)
    return process.returncode, received.decode(errors="replace")


def test_a_progress_bar_shows_on_a_terminal_and_never_off_it(classifier: str, tmp_path: Path) -> None:
    pictures(tmp_path / "pictures", 24)

    status, terminal = _stderr_on_a_terminal("predict", classifier, str(tmp_path / "pictures"))
    off_terminal = run_modelrt("predict", classifier, str(tmp_path / "pictures"))

    assert status == 0
    assert "/24 [" in terminal  # tqdm's "n/total [elapsed<remaining, rate]"
    assert off_terminal.returncode == 0
    assert off_terminal.stderr == ""
    assert len(off_terminal.stdout.splitlines()) == 24

"""Local work never touches the network: no socket connects while modelrt loads, predicts or reports.

A guard replaces ``socket.connect`` (and ``create_connection``) for the test, so a connection attempt
fails the test instead of reaching out, whatever ``HF_HUB_OFFLINE`` says.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.cli import main as cli

from .conftest import SIDE


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[1:] or args)
        raise OSError("network access during a test of local work")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert attempts == [], f"modelrt tried to connect: {attempts}"


def test_loading_and_predicting_a_local_package_opens_no_connection(
    no_network: list[object], classifier_package: Path
) -> None:
    with modelrt.load(classifier_package) as model:
        model.predict(np.zeros((SIDE, SIDE, 3), np.uint8))


def test_env_plugins_and_explain_open_no_connection(
    no_network: list[object], classifier_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["env", "--json"]) == 0
    assert cli(["plugins", "--json"]) == 0
    assert cli(["explain", str(classifier_package)]) == 0
    capsys.readouterr()

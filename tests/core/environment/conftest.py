from __future__ import annotations

from pathlib import Path

import pytest

from modelrt.host import HOST_ROOT_VARIABLE


@pytest.fixture(autouse=True)
def _no_fake_root_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide themselves whether MODELRT_HOST_ROOT is set."""
    monkeypatch.delenv(HOST_ROOT_VARIABLE, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty directory to build a fake host root in."""
    path = tmp_path / "host"
    path.mkdir()
    return path

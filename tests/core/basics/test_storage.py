"""Atomic writes: a killed writer never leaves a partial file; disk errors become StorageError."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelrt.errors import StorageError
from modelrt.storage import atomic_copy, atomic_write_text, publish


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "modelrt.json"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["modelrt.json"]


def test_atomic_copy_creates_missing_directories(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    atomic_copy(source, tmp_path / "deep" / "dir" / "a.bin")
    assert (tmp_path / "deep" / "dir" / "a.bin").read_bytes() == b"x" * 1000


def test_disk_full_becomes_a_storage_error_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="free some disk space") as caught:
        atomic_write_text(tmp_path / "modelrt.json", "{}")
    assert isinstance(caught.value, OSError)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_becomes_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot write"):
        atomic_write_text(blocker / "modelrt.json", "{}")


def test_a_writer_killed_before_rename_leaves_the_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "modelrt.json"
    target.write_text("old and valid")
    script = textwrap.dedent(
        f"""
        import os, signal
        import modelrt.storage as storage
        real_replace = os.replace
        def killed(*args):  # die exactly between the temp write and the rename
            os.kill(os.getpid(), signal.SIGKILL)
        storage.os.replace = killed
        storage.atomic_write_text(__import__("pathlib").Path({str(target)!r}), "new " * 100000)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "old and valid"


def _finished(tmp_path: Path, content: bytes) -> Path:
    temp = tmp_path / ".picture.png.tmp"
    temp.write_bytes(content)
    return temp


def test_publish_without_replacing_takes_a_free_name_and_leaves_no_temp_file(tmp_path: Path) -> None:
    publish(_finished(tmp_path, b"new"), tmp_path / "picture.png", replace=False)
    assert [p.name for p in tmp_path.iterdir()] == ["picture.png"]
    assert (tmp_path / "picture.png").read_bytes() == b"new"


@pytest.mark.parametrize("hard_links", [True, False])
def test_publish_without_replacing_never_replaces_a_file_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:

        def no_links(*_args: object) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "picture.png"
    target.write_bytes(b"old")
    temp = _finished(tmp_path, b"new")
    with pytest.raises(FileExistsError):
        publish(temp, target, replace=False)
    assert target.read_bytes() == b"old" and temp.read_bytes() == b"new"


def test_publish_without_hard_links_still_takes_a_free_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    publish(_finished(tmp_path, b"new"), tmp_path / "picture.png", replace=False)
    assert [p.name for p in tmp_path.iterdir()] == ["picture.png"]

"""Artifact bytes are hashed once per load: ``read_verified`` trusts what ``verify_file`` hashed only while
the file keeps the identity it had then (inode, size, mtime, ctime), and hashes again otherwise."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrt import integrity
from modelrt.errors import IntegrityError
from modelrt.integrity import read_verified, verify_file


@pytest.fixture
def artifact(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights" * 1000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The sizes of the buffers ``read_verified`` hashed."""
    hashed: list[int] = []
    real = hashlib.sha256

    def counting(data: bytes = b"") -> object:
        hashed.append(len(data))
        return real(data)

    monkeypatch.setattr(integrity.hashlib, "sha256", counting)
    integrity._verified.clear()
    yield hashed
    integrity._verified.clear()


def test_bytes_of_a_file_hashed_at_planning_are_not_hashed_again(artifact: tuple[Path, str], hashes: list[int]) -> None:
    path, sha256 = artifact
    verify_file(path, path.stat().st_size, sha256)
    hashes.clear()
    assert read_verified(path, None, sha256) == path.read_bytes()
    assert hashes == []


def test_a_file_rewritten_in_place_after_planning_is_hashed_and_refused(
    artifact: tuple[Path, str], hashes: list[int]
) -> None:
    path, sha256 = artifact
    verify_file(path, path.stat().st_size, sha256)
    before = path.stat()
    path.write_bytes(b"WEIGHTS" * 1000)  # same size, other bytes
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    with pytest.raises(IntegrityError, match="manifest says"):
        read_verified(path, None, sha256)


def test_a_file_swapped_for_another_after_planning_is_hashed_and_refused(
    artifact: tuple[Path, str], hashes: list[int], tmp_path: Path
) -> None:
    path, sha256 = artifact
    verify_file(path, path.stat().st_size, sha256)
    other = tmp_path / "other.bin"
    other.write_bytes(b"WEIGHTS" * 1000)
    os.replace(other, path)
    with pytest.raises(IntegrityError, match="manifest says"):
        read_verified(path, None, sha256)


def test_without_an_earlier_check_the_bytes_read_are_hashed(artifact: tuple[Path, str], hashes: list[int]) -> None:
    path, sha256 = artifact
    read_verified(path, None, sha256)
    assert hashes == [path.stat().st_size]

"""The modelrt cache: where it lives, atomic and locked writes, checks on read, and the errors of a bad disk."""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

import pytest

from modelrt import cache
from modelrt.errors import IntegrityError, StorageError

from .conftest import run_python, start_python


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_an_entry_written_is_read_back_and_listed_with_its_size(cache_dir: Path) -> None:
    with cache.open_entry("engines", "abc@1") as entry:
        entry.write_text("plan.json", '{"x": 1}')
    assert cache.read_text("engines", "abc@1", "plan.json") == '{"x": 1}'
    assert cache.read_text("engines", "abc@1", "other.json") is None
    (info,) = cache.list_entries()
    assert (info.kind, info.key, info.files, info.path) == ("engines", "abc@1", 1, cache_dir / "engines" / "abc@1")
    assert info.size == sum(path.stat().st_size for path in info.path.iterdir())


def test_the_cache_follows_modelrt_cache_else_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "mine"))
    assert cache.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("MODELRT_CACHE")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "modelrt"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert cache.cache_root() == tmp_path / "home" / ".cache" / "modelrt"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache.cache_root() == tmp_path / "home" / "Library" / "Caches" / "modelrt"


def test_a_full_disk_is_a_storage_error_naming_the_cache_and_leaves_no_file(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with cache.open_entry("engines", "abc") as entry:
        monkeypatch.setattr(os, "fsync", no_space)
        with pytest.raises(StorageError, match=rf"modelrt cache {cache_dir} cannot be written .*space.*MODELRT_CACHE"):
            entry.write_text("plan.json", "x" * 1000)
    assert list((cache_dir / "engines" / "abc").iterdir()) == []


def test_a_cache_that_cannot_be_created_is_a_storage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "file" / "cache"))
    unwritable = pytest.raises(StorageError, match=r"modelrt cache .*file/cache cannot be written.*set MODELRT_CACHE")
    with unwritable, cache.open_entry("engines", "abc"):
        pass


def test_a_file_changed_after_it_was_written_is_refused_and_reported(cache_dir: Path) -> None:
    with cache.open_entry("engines", "abc") as entry:
        path = entry.write_text("plan.json", '{"x": 1}')
    path.write_text('{"x": 2}')
    with pytest.raises(IntegrityError, match=r"plan.json has sha256 .* but .* was recorded.*modelrt cache verify"):
        cache.read_text("engines", "abc", "plan.json")
    (problem,) = cache.verify_entries()
    assert (problem.key, problem.file) == ("abc", "plan.json")


def test_verify_names_an_unfinished_write_and_a_file_nobody_recorded(cache_dir: Path) -> None:
    with cache.open_entry("engines", "abc") as entry:
        entry.write_text("plan.json", "{}")
    (cache_dir / "engines" / "abc" / ".plan.json.x1y2.tmp").write_text("half")
    (cache_dir / "engines" / "abc" / "stray.bin").write_text("?")
    reasons = {problem.file: problem.reason for problem in cache.verify_entries()}
    assert reasons == {
        ".plan.json.x1y2.tmp": "an unfinished write (its writer was interrupted)",
        "stray.bin": "no checksum recorded for it",
    }


def test_processes_filling_one_key_at_once_build_it_once(cache_dir: Path) -> None:
    build = (
        "import os, time\n"
        "from modelrt import cache\n"
        "with cache.open_entry('engines', 'shared') as entry:\n"
        "    if entry.read_text('plan.json') is None:\n"
        "        time.sleep(0.5)  # a slow build: the other process must wait for it, not start its own\n"
        "        entry.write_text('plan.json', str(os.getpid()))\n"
        "        print('built')\n"
    )
    processes = [start_python(build) for _ in range(3)]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sorted(outputs) == ["", "", "built\n"]


def test_clear_older_than_removes_only_entries_unused_for_that_long(cache_dir: Path) -> None:
    for key in ("old", "new"):
        with cache.open_entry("engines", key) as entry:
            entry.write_text("plan.json", key)
    two_days_ago = time.time() - 2 * 86400
    for path in (cache_dir / "engines" / "old").iterdir():
        os.utime(path, (two_days_ago, two_days_ago))
    removed, busy = cache.clear_entries(older_than_s=86400)
    assert ([info.key for info in removed], busy) == (["old"], [])
    assert [info.key for info in cache.list_entries()] == ["new"]
    cache.read_text("engines", "new", "plan.json")
    assert cache.clear_entries()[0][0].key == "new"
    assert cache.list_entries() == []


def test_the_cache_command_lists_verifies_and_clears(cache_dir: Path) -> None:
    with cache.open_entry("engines", "abc") as entry:
        path = entry.write_text("plan.json", "{}")
    listed = run_python("from modelrt.cli import main; raise SystemExit(main(['cache', 'list']))")
    assert listed.returncode == 0 and "engines/abc  " in listed.stdout and "1 entry" in listed.stdout
    assert run_python("from modelrt.cli import main; raise SystemExit(main(['cache', 'verify']))").returncode == 0
    path.write_text("{ }")
    damaged = run_python("from modelrt.cli import main; raise SystemExit(main(['cache', 'verify', '--json']))")
    assert damaged.returncode == 1 and '"file": "plan.json"' in damaged.stdout
    cleared = run_python(
        "from modelrt.cli import main; raise SystemExit(main(['cache', 'clear', '--older-than', '1d']))"
    )
    assert cleared.returncode == 0 and "removed 0 entries" in cleared.stdout
    cleared = run_python("from modelrt.cli import main; raise SystemExit(main(['cache', 'clear']))")
    assert cleared.returncode == 0 and "removed 1 entry" in cleared.stdout
    assert not (cache_dir / "engines" / "abc").exists()

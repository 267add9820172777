"""``modelrt env`` on a fake host root full of junk: it never raises, and what it cannot read is unknown.

Hypothesis builds fake roots (``MODELRT_HOST_ROOT``) where every file the probe reads, and random
other paths, hold random bytes or text, or are a directory, a dangling symlink, a symlink loop, a
link to ``/dev/zero`` (endless) or ``/dev/null``, a sparse 1 GiB file, or a file without read
permission; ``.modelrt-host.json`` holds random JSON. For each, ``modelrt env --json`` and the text
form exit 0; the JSON names the fake root, round-trips into an ``Environment``, and on a Linux (or
undetermined) host every fact read from those files that came out ``None`` carries its reason in
``unknown``, as DESIGN promises. Read errors the OS
gives an unprivileged user (EACCES, EIO, ...) are injected too, since CI may run as root.

A FIFO or device node at a probed path is never opened blocking: ``modelrt env`` finishes and reports
the fact as unknown.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrt.cli import main as cli
from modelrt.host import FAKE_HOST_FILE, HOST_ROOT_VARIABLE
from modelrt.host_environment import Environment

from .conftest import FUZZ_EXAMPLES

PROBED = (
    "etc/os-release",
    "etc/nv_tegra_release",
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/1/cgroup",
    "proc/sys/kernel/osrelease",
    "proc/sys/kernel/arch",
    "proc/driver/nvidia/version",
    "sys/fs/cgroup/cpu.max",
    "dev/nvidia0",
    ".dockerenv",
    "run/.containerenv",
    "var/run/secrets/kubernetes.io",
    FAKE_HOST_FILE,
)
#: Facts read from the probed files; each is a value or ``None`` with a reason in ``unknown``.
FILE_FACTS = ("distribution", "architecture", "kernel_release", "cpu_model", "cpu_count", "memory_bytes")
KINDS = ("bytes", "text", "directory", "dangling", "loop", "endless", "empty-device", "sparse", "no-permission")

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=8,
)
_component = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="/\\"), max_size=8).filter(
    lambda name: name not in ("", ".", "..")
)
_HOST_FILE_KEYS = st.sampled_from(
    ["system", "machine", "kernel_release", "mac_ver", "cpu_brand", "cpu_count", "memory_bytes", "environ"]
)
_paths = st.sampled_from(PROBED) | st.lists(_component, min_size=1, max_size=3).map("/".join)


@st.composite
def junk_roots(draw: st.DrawFn) -> dict[str, tuple[str, Any]]:
    entries: dict[str, tuple[str, Any]] = {}
    for path in draw(st.lists(_paths, min_size=1, max_size=8, unique=True)):
        kind = draw(st.sampled_from(KINDS))
        payload = draw(st.binary(max_size=200)) if kind == "bytes" else draw(st.text(max_size=200))
        entries[path] = (kind, payload)
    if draw(st.booleans()):
        entries[FAKE_HOST_FILE] = (
            "text",
            json.dumps(draw(_json | st.dictionaries(_HOST_FILE_KEYS, _json, max_size=5))),
        )
    return entries


def _build(root: Path, entries: dict[str, tuple[str, Any]]) -> None:
    for relative, (kind, payload) in entries.items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # an earlier entry made a file where this one needs a directory
        if path.exists() or path.is_symlink():
            continue
        if kind == "bytes":
            path.write_bytes(payload)
        elif kind == "directory":
            path.mkdir()
        elif kind == "dangling":
            path.symlink_to(root / "nowhere")
        elif kind == "loop":
            path.symlink_to(path)
        elif kind == "endless":
            path.symlink_to("/dev/zero")
        elif kind == "empty-device":
            path.symlink_to("/dev/null")
        elif kind == "sparse":
            with path.open("wb") as handle:
                handle.truncate(1 << 30)
        else:
            path.write_text(payload, encoding="utf-8", errors="surrogatepass")
            if kind == "no-permission":
                path.chmod(0)


@contextmanager
def fake_root(entries: dict[str, tuple[str, Any]]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        root = Path(directory) / "host"
        root.mkdir()
        _build(root, entries)
        patch.setenv(HOST_ROOT_VARIABLE, str(root))
        yield root


def _env_report(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cli(["env", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_reported_honestly(report: dict[str, Any], root: Path) -> None:
    environment = report["environment"]
    assert environment["host_root"] == str(root)
    assert Environment.from_dict(environment).to_dict() == environment
    if environment["system"] in ("Linux", None):  # a declared macOS or Windows has no os-release to miss
        for fact in FILE_FACTS:
            assert environment[fact] is not None or fact in environment["unknown"], fact


@pytest.mark.parametrize("examples", FUZZ_EXAMPLES)
def test_modelrt_env_reports_any_junk_root_without_raising(examples: int, capsys: pytest.CaptureFixture[str]) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(junk_roots())
    def check(entries: dict[str, tuple[str, Any]]) -> None:
        with fake_root(entries) as root:
            assert_reported_honestly(_env_report(capsys), root)
            assert cli(["env"]) == 0
            assert str(root) in capsys.readouterr().out

    check()


@pytest.mark.parametrize(
    "error", [errno.EACCES, errno.EPERM, errno.EIO, errno.ENXIO, errno.ELOOP], ids=errno.errorcode.get
)
def test_every_probed_file_failing_to_read_is_reported_as_unknown(
    error: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = {path: ("text", "ID=ubuntu\nprocessor : 0\nMemTotal: 1024 kB\n") for path in PROBED}
    with fake_root(entries) as root:
        real_open, real_os_open = Path.open, os.open

        def failing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self.is_relative_to(root):
                raise OSError(error, os.strerror(error), str(self))
            return real_open(self, *args, **kwargs)

        def failing_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
            if Path(path).is_relative_to(root):
                raise OSError(error, os.strerror(error), str(path))
            return real_os_open(path, *args, **kwargs)

        monkeypatch.setattr(Path, "open", failing_open)
        monkeypatch.setattr(os, "open", failing_os_open)
        report = _env_report(capsys)
    assert_reported_honestly(report, root)
    assert report["environment"]["distribution"] is None


def test_a_fifo_in_the_host_root_never_hangs_modelrt_env(tmp_path: Path) -> None:
    # A blocking open() of a FIFO waits for a writer forever: the command would run into the timeout.
    (tmp_path / "etc").mkdir()
    os.mkfifo(tmp_path / "etc" / "os-release")
    os.mkfifo(tmp_path / "etc" / "nv_tegra_release")
    result = subprocess.run(
        [sys.executable, "-m", "modelrt", "env", "--json"],
        env={**os.environ, "MODELRT_HOST_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["environment"]["distribution"] is None

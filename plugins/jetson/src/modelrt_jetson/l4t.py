"""L4T releases: reading them from a board, and the JetPack, Ubuntu and CUDA each one ships.

Logic uses the L4T *major* (R36 is JetPack 6 whatever its revision); the exact table is for display
and for the matrix rows, which name exact releases. A release the tables do not list is reported
as such, never rounded to a neighbour: ``jetpack_for`` answers ``None`` for L4T 36.9.0 while
``jetpack_major_for`` still says 6. The tables follow ``HARDWARE.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs

from modelrt.host import Host

__all__ = [
    "DPKG_INFO_DIR",
    "DPKG_STATUS_FILE",
    "L4T_CORE_PACKAGE",
    "TEGRA_RELEASE_FILE",
    "L4TVersion",
    "cuda_for",
    "is_jetpack_51",
    "is_jetpack_61",
    "jetpack_for",
    "jetpack_major_for",
    "read_l4t_core_package",
    "read_tegra_release",
    "ubuntu_for",
]

TEGRA_RELEASE_FILE = "etc/nv_tegra_release"
DPKG_STATUS_FILE = "var/lib/dpkg/status"
DPKG_INFO_DIR = "var/lib/dpkg/info"
L4T_CORE_PACKAGE = "nvidia-l4t-core"

#: A dpkg status file of a full JetPack install is a few MB; stop well past that on a garbage file.
_DPKG_READ_LIMIT_BYTES = 64 * 1024 * 1024


@attrs.frozen(order=True)
class L4TVersion:
    """An L4T release, ``36.4.0``; ordered, so ranges of releases compare naturally."""

    major: int
    minor: int = 0
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> L4TVersion | None:
        """``36.4.0``, ``R36.4``, ``r35.4.1``, or a package version ``36.4.0-20240912212859``; else ``None``."""
        match = re.fullmatch(r"[rR]?(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?(?:-[0-9A-Za-z.+~]*)?", text.strip())
        if match is None:
            return None
        major, minor, patch = (int(part) if part else 0 for part in match.groups())
        return cls(major, minor, patch)


def _v(text: str) -> L4TVersion:
    version = L4TVersion.parse(text)
    assert version is not None, text
    return version


#: (first, last, JetPack) with both ends included, newest first; HARDWARE.md's table.
_JETPACK_BY_L4T: tuple[tuple[L4TVersion, L4TVersion, str], ...] = tuple(
    (_v(first), _v(last), jetpack)
    for first, last, jetpack in (
        ("39.2.0", "39.2.0", "7.2"),
        ("38.4.0", "38.4.0", "7.1"),
        ("38.2.0", "38.2.999", "7.0"),
        ("36.5.0", "36.5.0", "6.2.2"),
        ("36.4.4", "36.4.4", "6.2.1"),
        ("36.4.7", "36.4.7", "6.2.1"),
        ("36.4.3", "36.4.3", "6.2"),
        ("36.4.0", "36.4.0", "6.1"),
        ("36.4.2", "36.4.2", "6.1"),
        ("36.3.0", "36.3.0", "6.0"),
        ("36.2.0", "36.2.0", "6.0 DP"),
        ("35.6.4", "35.6.4", "5.1.6"),
        ("35.6.1", "35.6.3", "5.1.5"),
        ("35.6.0", "35.6.0", "5.1.4"),
        ("35.5.0", "35.5.0", "5.1.3"),
        ("35.4.1", "35.4.1", "5.1.2"),
        ("35.3.1", "35.3.1", "5.1.1"),
        ("35.2.1", "35.2.1", "5.1"),
        ("35.1.0", "35.1.0", "5.0.2"),
        ("34.1.0", "34.1.999", "5.0 DP"),
        ("32.7.0", "32.7.999", "4.6.x"),
    )
)
_JETPACK_MAJOR_BY_L4T_MAJOR = {32: 4, 34: 5, 35: 5, 36: 6, 38: 7, 39: 7}
_UBUNTU_BY_L4T_MAJOR = {32: "18.04", 34: "20.04", 35: "20.04", 36: "22.04", 38: "24.04", 39: "24.04"}
#: CUDA that an L4T release ships, for when no CUDA is found on the board: (major, minor) → CUDA.
_CUDA_BY_L4T: dict[tuple[int, int], str] = {
    (36, 2): "12.2",
    (36, 3): "12.4",
    (36, 4): "12.6",
    (36, 5): "12.6",
}
_CUDA_BY_L4T_MAJOR = {38: "13.0", 39: "13.2"}

_JETPACK_61 = (_v("36.4.0"), _v("36.4.2"))
#: "JetPack 5.1.x (L4T 35.2.1 to 35.6.x) is the 5.1 row."
_JETPACK_51_FIRST, _JETPACK_51_BEYOND = _v("35.2.1"), _v("35.7.0")


def jetpack_for(l4t: L4TVersion) -> str | None:
    """The JetPack release of an L4T release as the table names it (``6.1``), or ``None`` if unlisted."""
    return next((jetpack for first, last, jetpack in _JETPACK_BY_L4T if first <= l4t <= last), None)


def jetpack_major_for(l4t: L4TVersion) -> int | None:
    """JetPack's major from the L4T major (R36 → 6); ``None`` for a major no JetPack is known to use."""
    return _JETPACK_MAJOR_BY_L4T_MAJOR.get(l4t.major)


def ubuntu_for(l4t: L4TVersion) -> str | None:
    """The Ubuntu release the L4T major ships (R36 → ``22.04``)."""
    return _UBUNTU_BY_L4T_MAJOR.get(l4t.major)


def cuda_for(l4t: L4TVersion) -> str | None:
    """The CUDA release (``12.6``) an L4T release ships, where the table says; for boards where none is found."""
    return _CUDA_BY_L4T.get((l4t.major, l4t.minor)) or _CUDA_BY_L4T_MAJOR.get(l4t.major)


def is_jetpack_61(l4t: L4TVersion) -> bool:
    """JetPack 6.1, the verified JetPack 6 row: L4T 36.4.0 or 36.4.2."""
    return l4t in _JETPACK_61


def is_jetpack_51(l4t: L4TVersion) -> bool:
    """JetPack 5.1.x, the verified JetPack 5 rows: L4T 35.2.1 up to every 35.6.x."""
    return _JETPACK_51_FIRST <= l4t < _JETPACK_51_BEYOND


# -------------------------------------------------------------------------------------------- reading


def read_tegra_release(host: Host) -> tuple[L4TVersion | None, str | None]:
    """The L4T release in line 1 of ``/etc/nv_tegra_release`` and that line (``None``, ``None`` if absent).

    The line reads ``# R36 (release), REVISION: 4.3, GCID: ..., BOARD: generic, ...``; its ``BOARD``
    field is unreliable and ignored.
    """
    text = host.read_text(TEGRA_RELEASE_FILE)
    if text is None:
        return None, None
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")[:200]
    match = re.match(r"#\s*R(\d{1,3})\s*\(release\),\s*REVISION:\s*(\d{1,3})(?:\.(\d{1,3}))?", first_line)
    if match is None:
        return None, first_line
    major, minor, patch = match.groups()
    return L4TVersion(int(major), int(minor), int(patch or 0)), first_line


def read_l4t_core_package(host: Host) -> str | None:
    """The version of the installed ``nvidia-l4t-core`` package from dpkg's status file (never dpkg itself).

    Only a package dpkg reports as installed counts: a removed one leaves a ``config-files`` stanza.
    The status file of a desktop runs to megabytes, so it is read only where dpkg keeps the
    package's file list (``info/nvidia-l4t-core.list``, or ``nvidia-l4t-core:arm64.list``).
    """
    if not host.glob(f"{DPKG_INFO_DIR}/{L4T_CORE_PACKAGE}*.list"):
        return None
    fields = next((stanza for stanza in _dpkg_stanzas(host) if stanza.get("Package") == L4T_CORE_PACKAGE), None)
    if fields is None:
        return None
    status_words = fields.get("Status", "").split()
    if status_words[-1:] != ["installed"]:
        return None
    return fields.get("Version") or None


def _dpkg_stanzas(host: Host) -> Iterator[dict[str, str]]:
    """The status file's stanzas (blank-line separated ``Key: value`` blocks), streamed: it is large."""
    try:
        with host.path(DPKG_STATUS_FILE).open("rb") as handle:
            stanza: dict[str, str] = {}
            read = 0
            for raw_line in handle:
                read += len(raw_line)
                if read > _DPKG_READ_LIMIT_BYTES:
                    return
                line = raw_line.decode("utf-8", errors="replace").rstrip("\r\n")
                if not line.strip():
                    if stanza:
                        yield stanza
                    stanza = {}
                elif not line[0].isspace():
                    key, separator, value = line.partition(":")
                    if separator:
                        stanza.setdefault(key.strip(), value.strip()[:200])
            if stanza:
                yield stanza
    except (OSError, ValueError):
        return

"""Coverage-guided fuzzing of the manifest reader with atheris (libFuzzer).

Usage: ``python tests/reliability/fuzz_manifest.py [libFuzzer options] [CORPUS_DIR ...]``, e.g.
``-runs=20000 -seed=1 corpus/``. Each input is written as ``modelrt.json`` and read with
``read_manifest``: the outcome must be a ``Manifest`` that survives a round trip through JSON, or a
``PackageError``. Anything else (another exception, a mismatch) stops the run with the input saved as
``crash-*``, and a non-zero exit. ``test_manifest_fuzz.py`` runs a CI-sized campaign of this target
from a corpus of valid manifests.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["modelrt"]):
    from modelrt.errors import PackageError
    from modelrt.manifest import MANIFEST_NAME, dump_manifest, manifest_from_dict, read_manifest

#: Where each input is written, memory-backed where possible: a write to a disk-backed /tmp costs 20x
#: the parse. ``MODELRT_FUZZ_WORKDIR`` names it (the test passes a directory it removes afterwards).
MEMORY_BACKED = "/dev/shm" if os.path.isdir("/dev/shm") else None
_DIRECTORY = Path(os.environ.get("MODELRT_FUZZ_WORKDIR") or tempfile.mkdtemp(prefix="modelrt-fuzz-", dir=MEMORY_BACKED))
_FILE = _DIRECTORY / MANIFEST_NAME


def check_one(data: bytes) -> None:
    """Read ``data`` as a manifest: a Manifest that round-trips, or a PackageError; nothing else."""
    _FILE.write_bytes(data)
    try:
        manifest = read_manifest(_DIRECTORY)
    except PackageError:
        return
    again = manifest_from_dict(json.loads(dump_manifest(manifest)))
    if again != manifest:
        raise AssertionError(f"the manifest changed in a round trip: {manifest!r} became {again!r}")


def main() -> None:
    atheris.Setup(sys.argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

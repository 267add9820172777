"""The torch backend passes the generic backend contract every plugin gets from the core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelrt.backend import Artifact
from modelrt.testing.conformance import BackendConformance

from .conftest import artifact, expected, feed, write_exported_program


class TestTorchBackend(BackendConformance):
    plugin_module = "modelrt_torch.plugin"
    backend_name = "torch"

    def make_artifact(self, directory: Path) -> Artifact:
        return artifact(write_exported_program(directory / "affine.pt2"), "exported-program")

    def input_feed(self) -> dict[str, Any]:
        return feed()

    def expected_outputs(self) -> dict[str, Any]:
        return expected()

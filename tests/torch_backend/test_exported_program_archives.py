"""An exported program (.pt2) runs no code from its archive unless the caller consents to pickles.

``torch.export.load`` unpickles with ``weights_only=False`` any weight or constant its config marks
``use_pickle``, every object constant, example inputs that fail a safe load, and the whole layout torch
2.7 and older wrote; it evaluates shape expressions and guards as Python. Each archive here is a real
export altered in one of those places to create a marker file, so a test sees whether the code ran, not
only which error was raised. Packages carry the altered file's correct sha256: verification passes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import modelrt
from modelrt.errors import SecurityError

from .conftest import IMAGES, AffineAndSum, Planted, affine_package, feed
from .crafted_archives import (
    EXAMPLE_INPUTS,
    PROGRAM,
    WEIGHTS_CONFIG,
    Scaled,
    edited_json,
    entries,
    exported,
    old_layout,
    rewritten,
    saved,
    with_first_shape_expression,
    with_object_constant,
    with_pickled_weight,
    zip_of,
)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


def _load(tmp_path: Path, archive: bytes, **load: Any) -> modelrt.Model:
    return modelrt.load(affine_package(tmp_path, archive), backend="torch", warmup=0, **load)


# ------------------------------------------------------------------------------------------ pickled payloads


def test_a_weight_stored_as_a_pickle_runs_no_code_without_consent(tmp_path: Path, marker: Path) -> None:
    with pytest.raises(SecurityError, match=r"weight 'scale' as pickles.*allow_pickle=True"):
        _load(tmp_path, with_pickled_weight(Planted(marker)))
    assert not marker.exists()


def test_modelrt_predict_refuses_the_same_archive(tmp_path: Path, marker: Path) -> None:
    package = affine_package(tmp_path, with_pickled_weight(Planted(marker)))
    completed = subprocess.run(
        [sys.executable, "-m", "modelrt", "predict", str(package), str(IMAGES / "chelsea.png"), "--backend", "torch"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode != 0
    assert "allow_pickle" in completed.stderr
    assert not marker.exists()


def test_a_trusted_pickled_weight_loads_only_with_consent(tmp_path: Path) -> None:
    archive = with_pickled_weight(torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0])))
    with pytest.raises(SecurityError, match="weight 'scale'"):
        _load(tmp_path / "refused", archive)
    with _load(tmp_path / "consented", archive, allow_pickle=True) as model:
        outputs = model.sessions["main"].run(feed())
    np.testing.assert_array_equal(outputs["y"], feed()["x"] * np.array([1.0, 2.0, 3.0], np.float32))


@pytest.mark.parametrize("file", ["opaque_obj_0", "tensor_0"], ids=["python-object", "pickled-tensor"])
def test_a_pickled_constant_runs_no_code_without_consent(tmp_path: Path, marker: Path, file: str) -> None:
    with pytest.raises(SecurityError, match="constant 'planted'"):
        _load(tmp_path, with_object_constant(marker, file))
    assert not marker.exists()


def test_example_inputs_that_are_not_plain_tensors_run_no_code(tmp_path: Path, marker: Path) -> None:
    # torch reads them with weights_only=True, then again with weights_only=False when that fails
    archive = rewritten(exported(AffineAndSum()), {EXAMPLE_INPUTS: saved((Planted(marker),))})
    with pytest.raises(SecurityError, match="example inputs"):
        _load(tmp_path, archive)
    assert not marker.exists()


@pytest.mark.parametrize("layout", ["old", "current-with-old-entries"])
def test_the_layout_torch_2_7_wrote_needs_consent(tmp_path: Path, marker: Path, layout: str) -> None:
    # torch falls back to that layout whenever the current one fails, so old entries beside a current archive count
    old = old_layout(marker)
    archive = zip_of(old) if layout == "old" else rewritten(exported(AffineAndSum()), {}, top_level=old)
    with pytest.raises(SecurityError, match=r"layout torch 2\.7 and older wrote.*allow_pickle=True"):
        _load(tmp_path, archive)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------ code in the program


def test_a_shape_expression_that_is_python_code_is_refused_even_with_consent(tmp_path: Path, marker: Path) -> None:
    # torch rebuilds each symbolic size with sympy.sympify, which is Python's eval
    archive = with_first_shape_expression(
        exported(AffineAndSum()), lambda original: f"__import__('pathlib').Path({str(marker)!r}).touch() or {original}"
    )
    with pytest.raises(SecurityError, match=r"shape expression.*__import__"):
        _load(tmp_path, archive, allow_pickle=True)
    assert not marker.exists()


class Halves(torch.nn.Module):
    """An export whose shapes are expressions over ``2*batch`` and that carries guards of its own."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": x.reshape(-1, 6)[: x.shape[0] // 2] * 2}


def test_guards_run_only_when_they_are_the_arithmetic_torch_writes(tmp_path: Path, marker: Path) -> None:
    # ExportedProgram.module() compiles guards with exec and runs them on every call
    batch = torch.export.Dim("batch", min=2, max=64)
    program = torch.export.export(Halves(), (torch.zeros(4, 3),), dynamic_shapes={"x": {0: 2 * batch}})
    assert program._guards_code
    torch.export.save(program, tmp_path / "halves.pt2")
    halves = (tmp_path / "halves.pt2").read_bytes()
    with _load(tmp_path / "as-exported", halves) as model:
        outputs = model.sessions["main"].run({"x": np.ones((8, 3), np.float32)})
    np.testing.assert_array_equal(outputs["y"], np.full((4, 6), 2, np.float32))

    def planted(program: dict[str, Any]) -> None:
        program["guards_code"].append(f"__import__('pathlib').Path({str(marker)!r}).touch() is None")

    altered = edited_json(halves, PROGRAM, planted)
    with pytest.raises(SecurityError, match="guard"), _load(tmp_path / "altered", altered, allow_pickle=True) as model:
        model.sessions["main"].run({"x": np.ones((8, 3), np.float32)})
    assert not marker.exists()


# ------------------------------------------------------------------------------------------ entries torch would read


@pytest.mark.parametrize(
    "entry",
    ["data/aotinductor/model/model.so", "models/second.json", "data/weights/notes.txt"],
    ids=["compiled-library", "second-program", "unknown-file"],
)
def test_an_entry_torch_export_save_does_not_write_is_refused(tmp_path: Path, entry: str) -> None:
    archive = rewritten(exported(AffineAndSum()), {entry: b"\x7fELF not a real library"})
    with pytest.raises(SecurityError, match=re.escape(entry)):
        _load(tmp_path, archive)


def test_an_entry_written_twice_is_refused(tmp_path: Path) -> None:
    # which copy of a repeated name wins is up to each zip reader; the check must not guess torch's
    archive = exported(Scaled())
    weights = json.loads(entries(archive)[1][WEIGHTS_CONFIG])
    weights["config"]["scale"]["use_pickle"] = True
    twice = rewritten(archive, {}, repeated={WEIGHTS_CONFIG: json.dumps(weights).encode()})
    with pytest.raises(SecurityError, match="repeat"):
        _load(tmp_path, twice, allow_pickle=True)


def test_a_config_with_fields_torch_does_not_write_is_refused(tmp_path: Path) -> None:
    def extended(config: dict[str, Any]) -> None:
        config["config"]["scale"]["load_with"] = "pickle"

    with pytest.raises(SecurityError, match=f"entry for 'scale' in {WEIGHTS_CONFIG}"):
        _load(tmp_path, edited_json(exported(Scaled()), WEIGHTS_CONFIG, extended))

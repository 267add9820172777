"""``modelrt.build``: ahead-of-time compilation through any backend that implements ``EngineBuilder``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelrt
from modelrt.backend import BuildRequest
from modelrt.cli_build import parse_batch, parse_shape
from modelrt.errors import InputError, NoUsableBackendError
from modelrt.testing.fakes import fake_backend_plugin
from modelrt.testing.managers import manager_with


def builder(builds: list[Any], **options: Any) -> Any:
    return fake_backend_plugin("compiler", devices=("cpu", "cuda"), priority=90, builds=builds, **options)


def test_build_hands_the_request_to_the_backend_and_returns_one_outcome_per_role(
    make_package: Callable[..., Path],
) -> None:
    builds: list[Any] = []
    progress: list[tuple[str, int, int]] = []
    outcomes = modelrt.build(
        make_package(),
        backend="compiler",
        device="cpu",
        precision="fp16",
        batch=(1, 4, 8),
        shapes={"images": [(1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8)]},
        workspace_gb=0.5,
        version_compatible=True,
        progress=lambda *step: progress.append(step),
        manager=manager_with(builder(builds)),
    )
    ((artifact, device, request),) = builds
    assert (artifact.file.name, str(device)) == ("model.onnx", "cpu")
    assert request == BuildRequest(
        precision="fp16",
        batch=(1, 4, 8),
        shapes={"images": ((1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8))},
        workspace_bytes=1 << 29,
        version_compatible=True,
    )
    assert [(o.role, o.artifact, o.summary) for o in outcomes] == [("main", "model.onnx", "compiler built it for cpu")]
    assert progress == [("building", 1, 1)]


def test_build_needs_a_named_backend(make_package: Callable[..., Path]) -> None:
    with pytest.raises(InputError, match="build needs a backend to build for"):
        modelrt.build(make_package(), backend="auto", manager=manager_with(builder([])))


def test_a_backend_that_only_runs_models_builds_nothing(make_package: Callable[..., Path]) -> None:
    manager = manager_with(fake_backend_plugin("runner", devices=("cpu",)))
    with pytest.raises(NoUsableBackendError, match="backend 'runner' builds nothing"):
        modelrt.build(make_package(), backend="runner", manager=manager)


def test_a_backend_unusable_here_says_why_and_what_to_install(make_package: Callable[..., Path]) -> None:
    manager = manager_with(builder([], usable=False, fix="pip install compiler-runtime"))
    with pytest.raises(NoUsableBackendError, match=r"compiler cannot run on cuda.*Fix: pip install compiler-runtime"):
        modelrt.build(make_package(), backend="compiler", manager=manager)


@pytest.mark.parametrize("batch", [(0, 1, 1), (4, 2, 8), (1, 2)])
def test_a_batch_range_must_be_min_opt_max_from_one_up(make_package: Callable[..., Path], batch: Any) -> None:
    with pytest.raises(InputError, match="batch must be"):
        modelrt.build(make_package(), backend="compiler", batch=batch, manager=manager_with(builder([])))


def test_the_cli_reads_batch_ranges_and_input_shapes() -> None:
    assert parse_batch("1:4:8") == (1, 4, 8)
    assert parse_batch("4") == (4, 4, 4)
    assert parse_shape("images:1x3x640x640") == ("images", ((1, 3, 640, 640),) * 3)
    assert parse_shape("x:1x3x32x32:1x3x64x64:1x3x96x96") == ("x", ((1, 3, 32, 32), (1, 3, 64, 64), (1, 3, 96, 96)))


@pytest.mark.parametrize("text", ["1:2", "8:4:1", "a:b:c", "0"])
def test_the_cli_refuses_a_malformed_batch(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_batch(text)


@pytest.mark.parametrize(
    "text", ["1x3x8x8", "images:1x3:1x3", "images:1x3x8x8:1x3x8:1x3", "images:axb", "images:0x3x8x8"]
)
def test_the_cli_refuses_a_malformed_shape(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shape(text)

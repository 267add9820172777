"""Broken and hostile model files: each is a typed modelrt error naming the file and the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrt.devices import Device
from modelrt.errors import PackageError, SecurityError
from modelrt.options import RunOptions
from modelrt_onnx.backend import OnnxRuntimeBackend

CPU = Device.parse("cpu")
OPTIONS = RunOptions(threads=1, warmup=0)


def _load(
    backend: OnnxRuntimeBackend, make_artifact: Any, path: Path, root: Path | None = None, data: tuple[Path, ...] = ()
) -> Any:
    return backend.load(make_artifact(path, package_root=root, data_files=data), CPU, OPTIONS)


def test_a_truncated_file_is_a_package_error_naming_it(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    path = models.truncated()
    with pytest.raises(PackageError, match=r"truncated.onnx is not a valid ONNX model.*corrupt, truncated"):
        _load(backend, make_artifact, path)


def test_garbage_bytes_are_a_package_error_naming_the_file(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError, match=r"garbage.onnx is not a valid ONNX model"):
        _load(backend, make_artifact, models.garbage())


def test_an_empty_file_is_a_package_error(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> None:
    with pytest.raises(PackageError, match=r"empty \(0 bytes\)"):
        _load(backend, make_artifact, models.empty())


def test_a_missing_file_is_a_package_error(backend: OnnxRuntimeBackend, models: Any, make_artifact: Any) -> None:
    with pytest.raises(PackageError, match=r"cannot read artifact .*absent.onnx"):
        _load(backend, make_artifact, models.path("absent.onnx"))


def test_a_too_new_opset_says_to_upgrade_onnxruntime_or_re_export(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError, match=r"newer ONNX than onnxruntime .*lower opset"):
        _load(backend, make_artifact, models.opset_too_new())


def test_a_too_new_ir_version_says_to_upgrade_onnxruntime(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError, match=r"IR version.*Upgrade onnxruntime"):
        _load(backend, make_artifact, models.ir_too_new())


def test_a_custom_operator_says_which_and_how_to_fix(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError, match=r"FancyScale.*without custom operators"):
        _load(backend, make_artifact, models.custom_op())


def test_an_unknown_standard_operator_says_to_upgrade_or_re_export(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError, match=r"operator onnxruntime .* does not implement.*MultiplyTwice"):
        _load(backend, make_artifact, models.unknown_standard_op())


def test_load_errors_keep_the_onnxruntime_exception_as_cause(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    with pytest.raises(PackageError) as caught:
        _load(backend, make_artifact, models.custom_op())
    assert type(caught.value.__cause__).__module__.startswith("onnxruntime")


def test_external_data_inside_the_package_loads_and_runs(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    path = models.with_external_data("nets/model.onnx", "weights/w.bin")
    data = (models.path("nets/weights/w.bin"),)
    session = _load(backend, make_artifact, path, root=models.directory, data=data)
    np.testing.assert_array_equal(session.run({"x": np.ones(3, np.float32)})["y"], [1.0, 2.0, 3.0])


def test_external_data_reaching_up_but_staying_in_the_package_loads(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    # The package is the boundary, not the model's folder: onnxruntime gets the file from memory, so
    # its own rule (no '..' at all, from 1.24 on) does not apply.
    path = models.with_external_data("nets/model.onnx", "../shared/w.bin")
    data = (models.path("shared/w.bin"),)
    session = _load(backend, make_artifact, path, root=models.directory, data=data)
    np.testing.assert_array_equal(session.run({"x": np.ones(3, np.float32)})["y"], [1.0, 2.0, 3.0])


def test_external_data_escaping_with_dot_dot_is_a_security_error(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, tmp_path: Path
) -> None:
    path = models.with_external_data("model.onnx", "../outside.bin")
    assert (tmp_path / "outside.bin").exists()
    with pytest.raises(SecurityError, match=r"'../outside.bin'.*outside the package directory"):
        _load(backend, make_artifact, path)


def test_external_data_at_an_absolute_path_is_a_security_error(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.bin"
    path = models.with_external_data("model.onnx", str(target), write_data_at=target)
    with pytest.raises(SecurityError, match=r"absolute"):
        _load(backend, make_artifact, path)


def test_external_data_through_a_symlink_leaving_the_package_is_a_security_error(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.bin"
    path = models.with_external_data("model.onnx", "link.bin", write_data_at=outside)
    os.symlink(outside, models.path("link.bin"))
    with pytest.raises(SecurityError, match=r"'link.bin'.*secret.bin, outside"):
        _load(backend, make_artifact, path)


def test_external_data_escaping_from_inside_a_subgraph_is_a_security_error(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any
) -> None:
    path = models.with_external_data_in_subgraph("model.onnx", "../../etc/passwd")
    with pytest.raises(SecurityError, match=r"outside the package directory"):
        _load(backend, make_artifact, path)


def test_missing_external_data_file_is_a_package_error_naming_it(
    backend: OnnxRuntimeBackend, models: Any, make_artifact: Any, tmp_path: Path
) -> None:
    path = models.with_external_data("model.onnx", "weights.bin", write_data_at=tmp_path / "not-there.bin")
    with pytest.raises(PackageError, match=r"keeps weights in 'weights.bin'.*does not exist"):
        _load(backend, make_artifact, path)

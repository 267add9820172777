"""``BackendConformance``: the contract tests a backend plugin gets by subclassing one class.

Subclass it in a test module under a name pytest collects, say where the plugin is and which
backend it registers, and give it a tiny model that computes a known function::

    from pathlib import Path

    import numpy as np

    from modelrt.backend import Artifact
    from modelrt.testing.conformance import BackendConformance


    class TestMyBackend(BackendConformance):
        plugin_module = "my_plugin.plugin"  # the module your entry point names
        backend_name = "my-backend"  # the BackendSpec.name it registers

        def make_artifact(self, directory: Path) -> Artifact:
            path = directory / "double.onnx"
            ...  # write a model computing y = 2 * x
            return Artifact(role="main", format="onnx", file=path, package_root=directory)

        def input_feed(self) -> dict[str, np.ndarray]:
            return {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}

        def expected_outputs(self) -> dict[str, np.ndarray]:
            return {"y": 2 * np.arange(6, dtype=np.float32).reshape(2, 3)}

Class attributes to adjust: ``device`` (default ``"cpu"``), ``run_options`` (default one thread and
no warm-up, so concurrent results are bit-identical), ``rtol``/``atol`` for the expected outputs,
and ``framework_modules`` (modules the plugin module must not import; extend it with
``BackendConformance.framework_modules + ("mylib",)``). The ``environment`` fixture probes this host;
override it to test against a fake one.

The tests cover: the plugin registers a well-formed ``BackendSpec`` (formats, device kinds, integer
priority, PEP 508 requirements, importable factory); the factory builds without arguments;
``availability`` answers with an ``Availability``; ``load`` returns a ``Session`` describing its
inputs, outputs, device and provider; ``run`` gives the expected outputs, also from several threads
at once; ``run`` after ``close`` raises ``ModelClosedError``; a corrupt file raises ``PackageError``
(never a dependency's own exception); importing the plugin module imports no framework.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from modelrt.backend import Artifact, Backend, Session, TensorInfo
from modelrt.devices import DEVICE_KINDS, Device
from modelrt.errors import ModelClosedError, PackageError
from modelrt.options import RunOptions
from modelrt.specs import Availability, BackendSpec, load_factory
from modelrt.testing.managers import manager_with

__all__ = ["DEFAULT_FRAMEWORK_MODULES", "BackendConformance"]

#: Top-level modules too heavy to import during plugin discovery.
DEFAULT_FRAMEWORK_MODULES = (
    "numpy",
    "cv2",
    "onnx",
    "onnxruntime",
    "torch",
    "torchvision",
    "tensorrt",
    "tensorrt_lean",
    "tensorrt_rtx",
    "tensorflow",
    "jax",
    "openvino",
    "coremltools",
)

_CORRUPTIONS = ("garbage", "empty", "truncated")

_LIST_IMPORTS = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
    "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))"
)


class BackendConformance:
    """Contract tests for one backend of a plugin; see the module docstring for how to use it."""

    plugin_module: ClassVar[str]
    backend_name: ClassVar[str]
    device: ClassVar[str] = "cpu"
    run_options: ClassVar[RunOptions] = RunOptions(threads=1, warmup=0)
    rtol: ClassVar[float] = 1e-5
    atol: ClassVar[float] = 1e-6
    framework_modules: ClassVar[tuple[str, ...]] = DEFAULT_FRAMEWORK_MODULES
    concurrent_threads: ClassVar[int] = 8
    runs_per_thread: ClassVar[int] = 25

    # ------------------------------------------------------------------ what a subclass provides

    def make_artifact(self, directory: Path) -> Artifact:
        """Write a tiny model of a format the backend runs into ``directory`` and describe it."""
        raise NotImplementedError(f"{type(self).__name__} must define make_artifact(directory)")

    def input_feed(self) -> dict[str, Any]:
        """Inputs for the artifact of ``make_artifact``, by input name."""
        raise NotImplementedError(f"{type(self).__name__} must define input_feed()")

    def expected_outputs(self) -> dict[str, Any]:
        """What the artifact computes from ``input_feed()``, by output name."""
        raise NotImplementedError(f"{type(self).__name__} must define expected_outputs()")

    # ------------------------------------------------------------------ fixtures

    @pytest.fixture
    def environment(self) -> Any:
        """This host's ``Environment``; override to test availability against a fake host."""
        from modelrt.host_environment import probe_environment

        return probe_environment()

    @pytest.fixture
    def spec(self) -> BackendSpec:
        """The spec as the plugin registers it, read through a strict plugin manager."""
        backends = manager_with(importlib.import_module(self.plugin_module)).backends()
        assert self.backend_name in backends, (
            f"{self.plugin_module} registers the backends {sorted(backends)}, not {self.backend_name!r}"
        )
        return backends[self.backend_name]

    @pytest.fixture
    def backend(self, spec: BackendSpec) -> Backend:
        return load_factory(spec.factory)()

    @pytest.fixture
    def target_device(self) -> Device:
        return Device.parse(self.device)

    @pytest.fixture
    def session(self, backend: Backend, environment: Any, target_device: Device, tmp_path: Path) -> Iterator[Session]:
        availability = backend.availability(environment, target_device)
        if not availability.usable:
            pytest.fail(
                f"{self.backend_name} is not usable on {target_device} here, so it cannot be tested: "
                f"{availability.reason} (fix: {availability.fix})"
            )
        session = backend.load(self.make_artifact(tmp_path), target_device, self.run_options)
        yield session
        session.close()

    # ------------------------------------------------------------------ the spec

    def test_spec_lists_formats(self, spec: BackendSpec) -> None:
        assert spec.formats, "a backend must run at least one artifact format"
        assert all(isinstance(name, str) and name for name in spec.formats)

    def test_spec_lists_known_device_kinds(self, spec: BackendSpec) -> None:
        unknown = set(spec.devices) - set(DEVICE_KINDS)
        assert spec.devices and not unknown, f"unknown device kinds {sorted(unknown)}; known: {DEVICE_KINDS}"

    def test_spec_offers_the_tested_device(self, spec: BackendSpec, target_device: Device) -> None:
        assert target_device.kind in spec.devices

    def test_spec_priority_is_an_integer(self, spec: BackendSpec) -> None:
        assert isinstance(spec.priority, int) and not isinstance(spec.priority, bool)

    def test_spec_requirements_are_pep508(self, spec: BackendSpec) -> None:
        from packaging.requirements import Requirement

        for requirement in spec.requires:
            Requirement(requirement)

    def test_spec_factory_is_importable(self, spec: BackendSpec) -> None:
        assert callable(load_factory(spec.factory))

    # ------------------------------------------------------------------ the backend

    def test_factory_builds_a_backend_without_arguments(self, backend: Backend) -> None:
        assert isinstance(backend, Backend)

    def test_availability_answers_with_an_availability(
        self, backend: Backend, environment: Any, target_device: Device
    ) -> None:
        availability = backend.availability(environment, target_device)
        assert isinstance(availability, Availability)
        assert isinstance(availability.usable, bool)
        assert availability.reason, "availability must say why, usable or not"

    def test_load_returns_a_session(self, session: Session) -> None:
        assert isinstance(session, Session)

    def test_session_describes_its_inputs(self, session: Session) -> None:
        assert all(isinstance(info, TensorInfo) for info in session.inputs)
        assert {info.name for info in session.inputs} == set(self.input_feed())

    def test_session_describes_its_outputs(self, session: Session) -> None:
        assert all(isinstance(info, TensorInfo) for info in session.outputs)
        assert set(self.expected_outputs()) <= {info.name for info in session.outputs}

    def test_session_runs_on_the_requested_device(self, session: Session, target_device: Device) -> None:
        assert session.device == target_device

    def test_session_names_its_provider(self, session: Session) -> None:
        assert isinstance(session.provider, str) and session.provider

    def test_run_gives_the_expected_outputs(self, session: Session) -> None:
        outputs = session.run(self.input_feed())
        for name, expected in self.expected_outputs().items():
            np.testing.assert_allclose(outputs[name], expected, rtol=self.rtol, atol=self.atol, err_msg=name)

    def test_concurrent_runs_match_a_serial_run(self, session: Session) -> None:
        feed = self.input_feed()
        serial = session.run(feed)

        def run_repeatedly() -> list[dict[str, Any]]:
            return [session.run(feed) for _ in range(self.runs_per_thread)]

        with ThreadPoolExecutor(self.concurrent_threads) as pool:
            batches = [pool.submit(run_repeatedly) for _ in range(self.concurrent_threads)]
            results = [outputs for batch in batches for outputs in batch.result()]
        for outputs in results:
            for name, expected in serial.items():
                np.testing.assert_array_equal(outputs[name], expected, err_msg=name)

    def test_run_after_close_raises_model_closed_error(
        self, backend: Backend, target_device: Device, tmp_path: Path
    ) -> None:
        session = backend.load(self.make_artifact(tmp_path), target_device, self.run_options)
        session.close()
        with pytest.raises(ModelClosedError):
            session.run(self.input_feed())

    @pytest.mark.parametrize("corruption", _CORRUPTIONS)
    def test_load_of_a_corrupt_file_raises_package_error(
        self, backend: Backend, target_device: Device, tmp_path: Path, corruption: str
    ) -> None:
        artifact = self.make_artifact(tmp_path)
        content = artifact.file.read_bytes()
        damaged = {
            "garbage": b"this is not a model file\n" * 16,
            "empty": b"",
            "truncated": content[: len(content) // 2],
        }[corruption]
        artifact.file.write_bytes(damaged)
        with pytest.raises(PackageError):
            backend.load(artifact, target_device, self.run_options)

    # ------------------------------------------------------------------ discovery cost

    def test_plugin_module_imports_no_framework(self) -> None:
        # The child sees the same sys.path as this process, so plugins found through test-time paths
        # (conftest insertions, uninstalled source trees) are found there too.
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)}
        completed = subprocess.run(
            [sys.executable, "-c", _LIST_IMPORTS, self.plugin_module],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        heavy = sorted(set(json.loads(completed.stdout)) & set(self.framework_modules))
        assert not heavy, (
            f"importing {self.plugin_module} imported {heavy}; import them inside availability() or load()"
        )

"""The plugin module: what it registers, that its factories resolve, and that importing it stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from modelrt.backend import Backend
from modelrt.specs import BackendSpec, SourceSpec, load_factory
from modelrt_onnx import plugin


def test_register_backends_declares_onnxruntime_for_onnx_on_cpu_cuda_and_coreml() -> None:
    (spec,) = plugin.register_backends()
    assert spec == BackendSpec(
        "onnxruntime",
        formats=("onnx",),
        devices=("cpu", "cuda", "coreml"),
        priority=50,
        requires=("onnxruntime>=1.17",),
        factory="modelrt_onnx.backend:OnnxRuntimeBackend",
    )


def test_register_sources_claims_onnx_files_and_inference_models_directories() -> None:
    specs = {spec.name: spec for spec in plugin.register_sources()}
    assert specs["ultralytics-onnx"] == SourceSpec(
        "ultralytics-onnx", (".onnx",), 50, "modelrt_onnx.sources:UltralyticsOnnxSource"
    )
    assert specs["inference-models"] == SourceSpec(
        "inference-models", ("dir:model_config.json",), 60, "modelrt_onnx.sources:InferenceModelsSource"
    )


def test_ultralytics_source_matches_onnx_files_but_not_directories() -> None:
    spec = {spec.name: spec for spec in plugin.register_sources()}["ultralytics-onnx"]
    assert spec.matches("models/YOLOv8n.ONNX", is_dir=False, dir_entries=frozenset())
    assert not spec.matches("models/yolov8n.onnx", is_dir=True, dir_entries=frozenset())


def test_inference_models_source_matches_a_directory_with_model_config() -> None:
    spec = {spec.name: spec for spec in plugin.register_sources()}["inference-models"]
    assert spec.matches("pkg", is_dir=True, dir_entries=frozenset({"model_config.json", "weights.onnx"}))
    assert not spec.matches("pkg", is_dir=True, dir_entries=frozenset({"modelrt.json"}))


def test_backend_factory_loads_and_builds_a_backend_without_arguments() -> None:
    (spec,) = plugin.register_backends()
    backend = load_factory(spec.factory)()
    assert isinstance(backend, Backend)


@pytest.mark.parametrize("spec", list(plugin.register_sources()), ids=lambda spec: spec.name)
def test_source_factories_load_and_have_an_open_method(spec: SourceSpec) -> None:
    source = load_factory(spec.factory)()
    assert callable(source.open)


def test_importing_the_plugin_module_imports_no_onnxruntime_onnx_or_numpy() -> None:
    code = (
        "import json, sys\n"
        "import modelrt_onnx.plugin\n"
        "heavy = ('onnxruntime', 'onnx', 'numpy', 'cv2')\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []

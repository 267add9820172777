"""`import modelrt` stays light: no numpy, OpenCV, framework or hub client until a model is used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "cv2", "onnxruntime", "onnx", "torch", "tensorrt", "huggingface_hub", "PIL", "cattrs")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output))


def test_import_modelrt_imports_nothing_heavy() -> None:
    loaded = _modules_after("import modelrt")
    assert not loaded & set(HEAVY)


def test_public_names_resolve_lazily_without_heavy_imports() -> None:
    loaded = _modules_after(
        "import modelrt\nmodelrt.hookimpl, modelrt.Device, modelrt.ModelRTError, modelrt.BackendSpec"
    )
    assert not loaded & set(HEAVY)


def test_every_advertised_name_resolves() -> None:
    import modelrt

    for name in modelrt.__all__:
        assert getattr(modelrt, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    import modelrt

    try:
        modelrt.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_all_lists_exactly_the_lazy_exports() -> None:
    import modelrt

    assert set(modelrt.__all__) == {"__version__", *modelrt._EXPORTS}

"""Every Hub file is checked before use, from the huggingface-hub cache too, and nothing escapes the model.

huggingface-hub never re-reads a cached file: these tests change cached files behind its back (same
size, modification time put back) and serve broken bytes, and check that modelrt downloads again once
when online, refuses offline, and never hands a wrong byte to a runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest

import modelrt
from modelrt.errors import IntegrityError, PackageError, SecurityError

from .conftest import classifier_onnx, image, manifest_for, package_files
from .emulator import HubEmulator, git_blob_sha1


def cached(tmp_path: Path, repo_id: str, path: str) -> Path:
    """The huggingface-hub cache's link for ``path`` of the newest snapshot of ``repo_id``."""
    snapshots = tmp_path / "hf-cache" / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    (snapshot,) = snapshots.iterdir()
    return snapshot / path


def change_in_place(file: Path, edit: bytes | None = None) -> None:
    """Rewrite ``file``'s blob with one byte changed (or ``edit``), same size, modification time restored."""
    blob = file.resolve()
    status = blob.stat()
    data = bytearray(blob.read_bytes())
    if edit is None:
        data[len(data) // 2] ^= 0x01
    else:
        assert len(edit) == len(data)
        data[:] = edit
    blob.write_bytes(bytes(data))
    os.utime(blob, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert blob.stat().st_size == status.st_size and blob.stat().st_mtime_ns == status.st_mtime_ns


def predict(reference: str, **options: object) -> np.ndarray:
    with modelrt.load(reference, device="cpu", **options) as model:
        return model.predict(image()).probabilities


@pytest.fixture
def published(hub: HubEmulator) -> np.ndarray:
    """``org/tiny`` published and loaded once (so cached); its probabilities on the test image."""
    hub.publish("org/tiny", package_files())
    return predict("hf://org/tiny")


def test_an_artifact_changed_in_the_cache_is_downloaded_again_online(
    hub: HubEmulator, published: np.ndarray, tmp_path: Path
) -> None:
    change_in_place(cached(tmp_path, "org/tiny", "model.onnx"))
    np.testing.assert_array_equal(predict("hf://org/tiny"), published)
    assert len(hub.downloads("model.onnx")) == 2
    np.testing.assert_array_equal(predict("hf://org/tiny", offline=True), published)


def test_an_artifact_changed_in_the_cache_is_refused_offline(
    published: np.ndarray, tmp_path: Path, no_sockets: list[object]
) -> None:
    change_in_place(cached(tmp_path, "org/tiny", "model.onnx"))
    with pytest.raises(IntegrityError, match=r"model\.onnx.*Offline it cannot be downloaded again"):
        modelrt.load("hf://org/tiny", offline=True)


def test_a_manifest_changed_in_the_cache_is_refused_offline(
    published: np.ndarray, tmp_path: Path, no_sockets: list[object]
) -> None:
    manifest = cached(tmp_path, "org/tiny", "modelrt.json")
    change_in_place(manifest, manifest.read_bytes().replace(b'"cat"', b'"cow"'))
    with pytest.raises(IntegrityError, match=r"'modelrt.json' of hf://org/tiny .* is not the file the Hub served"):
        modelrt.load("hf://org/tiny", offline=True)


def test_a_manifest_replaced_with_its_blob_renamed_to_match_is_caught_by_modelrts_record(
    published: np.ndarray, tmp_path: Path, no_sockets: list[object]
) -> None:
    link = cached(tmp_path, "org/tiny", "modelrt.json")
    forged = link.read_bytes().replace(b'"cat"', b'"cow"')
    forged_blob = link.resolve().parent / git_blob_sha1(forged)
    forged_blob.write_bytes(forged)
    link.unlink()
    link.symlink_to(os.path.relpath(forged_blob, link.parent))
    with pytest.raises(IntegrityError, match=r"'modelrt.json' .* is not the file the Hub served"):
        modelrt.load("hf://org/tiny", offline=True)


def test_a_hub_that_serves_a_corrupt_file_once_is_asked_again(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files())
    hub.faults["model.onnx"] = ["corrupt"]
    predict("hf://org/tiny")
    assert len(hub.downloads("model.onnx")) == 2


def test_a_hub_that_keeps_serving_a_corrupt_file_is_refused_naming_the_file(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files())
    hub.faults["model.onnx"] = ["corrupt", "corrupt"]
    with pytest.raises(IntegrityError, match=r"model\.onnx.*downloaded again and still does not match"):
        modelrt.load("hf://org/tiny")
    assert len(hub.downloads("model.onnx")) == 2


def test_a_truncated_download_is_never_kept_and_is_fetched_again(hub: HubEmulator, tmp_path: Path) -> None:
    hub.publish("org/tiny", package_files())
    hub.faults["model.onnx"] = ["short"]
    predict("hf://org/tiny")
    assert [entry.bytes_sent for entry in hub.downloads("model.onnx")] == [
        len(classifier_onnx()) // 2,
        len(classifier_onnx()),
    ]


def test_a_download_truncated_every_time_fails_and_leaves_no_blob(hub: HubEmulator, tmp_path: Path) -> None:
    hub.publish("org/tiny", package_files())
    hub.faults["model.onnx"] = ["short", "short"]
    with pytest.raises(PackageError, match=r"'model\.onnx' of hf://org/tiny.*Two downloads .* failed"):
        modelrt.load("hf://org/tiny")
    blobs = {path.name for path in (tmp_path / "hf-cache").rglob("blobs/*")}
    assert hashlib.sha256(classifier_onnx()).hexdigest() not in blobs
    assert not any(name.endswith(".incomplete") for name in blobs)


@pytest.mark.parametrize("escaping_path", ["../model.onnx", "../../other/model.onnx", "/etc/model.onnx"])
def test_a_manifest_path_leaving_the_model_folder_is_refused_before_any_download(
    hub: HubEmulator, escaping_path: str
) -> None:
    model = classifier_onnx()
    hub.publish(
        "org/zoo",
        {"sub/modelrt.json": manifest_for({escaping_path: ("onnx", model)}), "model.onnx": model},
    )
    with pytest.raises(SecurityError, match=r"outside the model's folder"):
        modelrt.load("hf://org/zoo/sub")
    assert [entry.path for entry in hub.downloads()] == ["sub/modelrt.json"]


def test_onnx_external_data_loads_through_the_huggingface_hub_caches_links(hub: HubEmulator, tmp_path: Path) -> None:
    model = onnx.load_from_string(classifier_onnx())
    onnx.save_model(
        model, tmp_path / "model.onnx", save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    graph, weights = (tmp_path / "model.onnx").read_bytes(), (tmp_path / "weights.bin").read_bytes()
    document = json.loads(manifest_for({"model.onnx": ("onnx", graph)}))
    document["artifacts"].append(
        {
            "role": "main",
            "format": "external-data",
            "path": "weights.bin",
            "size": len(weights),
            "sha256": hashlib.sha256(weights).hexdigest(),
            "used_by": "model.onnx",
        }
    )
    hub.publish(
        "org/external", {"modelrt.json": json.dumps(document).encode(), "model.onnx": graph, "weights.bin": weights}
    )
    hub.publish("org/tiny", package_files())
    np.testing.assert_array_equal(predict("hf://org/external"), predict("hf://org/tiny"))
    assert cached(tmp_path, "org/external", "weights.bin").is_symlink()

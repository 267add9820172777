"""The ``hf://`` source: a model in a Hugging Face Hub repository, opened from the huggingface-hub cache.

Layouts, tried in this order inside the repository (or its subfolder):

1. a modelrt package: ``modelrt.json``. Only the manifest is fetched when the package is opened; each
   artifact is fetched when a load actually uses it (``ModelPackage.fetch``), so a repository holding
   several formats costs the download of the one that runs here.
2. a Transformers/Optimum ONNX image classifier (``transformers_layout``): its two JSON files and its
   ONNX network (with any external data) are fetched when it is opened.
3. an ONNX file another source reads, such as an Ultralytics export with its metadata: named in the
   reference (``hf://org/repo/weights/best.onnx``), or the only ``.onnx`` file of the folder. It is
   fetched, checked against the Hub's sha256 for it, and opened by the source that claims ``.onnx``
   files (the ONNX plugin's), exactly as a local file would be.

Every file is checked before use (``files``), and nothing from a repository is ever executed: manifests
and configs are parsed as data, pickle artifacts follow the same refusal as local ones.
"""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path

import attrs

from modelrt.errors import NotCachedError, PackageError
from modelrt.hub.client import HubClient, HubFileMissing
from modelrt.hub.files import HubFiles, locate_commit, pull_command
from modelrt.hub.pins import check_bytes
from modelrt.hub.reference import HubReference, parse_reference
from modelrt.hub.transformers_layout import CONFIG_NAME, MODEL_PATHS, PREPROCESSOR_NAME, transformers_manifest
from modelrt.manifest import (
    DATA_FORMAT,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    ArtifactEntry,
    Manifest,
    manifest_from_dict,
    parse_json_strictly,
    read_bounded,
)
from modelrt.onnx_external_data import read_external_data
from modelrt.onnx_proto import OnnxFormatError, read_header
from modelrt.packages import ModelPackage

__all__ = ["SOURCE_NAME", "HubSource"]

SOURCE_NAME = "huggingface-hub"
ONNX_SUFFIX = ".onnx"


class HubSource:
    """Opens ``hf://org/repo[@revision][/sub/folder]``; ``revision``/``subfolder`` may be passed instead."""

    def open(
        self, reference: str, offline: bool = False, revision: str | None = None, subfolder: str | None = None
    ) -> ModelPackage:
        hub_reference = parse_reference(reference, revision, subfolder)
        client = HubClient(hub_reference.repo_id, str(hub_reference))
        if hub_reference.subfolder.lower().endswith(ONNX_SUFFIX):
            folder, _, name = hub_reference.subfolder.rpartition("/")
            return _open_onnx_file(client, attrs.evolve(hub_reference, subfolder=folder), name, offline, reference)
        try:
            commit = locate_commit(client, hub_reference, MANIFEST_NAME, offline)
        except HubFileMissing:
            pass
        else:
            return _open_modelrt_package(client, hub_reference, commit, offline, reference)
        try:
            return _open_transformers_classifier(client, hub_reference, offline, reference)
        except HubFileMissing:
            pass
        commit, listed = client.listing(hub_reference.revision, offline)
        onnx_files = [path for path in listed if _in_folder(path, hub_reference.subfolder, ONNX_SUFFIX)]
        if len(onnx_files) == 1:
            return _open_onnx_file(client, hub_reference, posixpath.basename(onnx_files[0]), offline, reference)
        raise _not_a_model(hub_reference, onnx_files, offline)


def _open_modelrt_package(
    client: HubClient, reference: HubReference, commit: str, offline: bool, text: str
) -> ModelPackage:
    files = HubFiles(client, reference, commit, offline)
    manifest = _read_manifest(files)
    for entry in manifest.artifacts:
        files.repo_path(entry.path)  # a path leaving the model's folder is refused before any download
    return ModelPackage(
        root=files.root,
        manifest=manifest,
        source=SOURCE_NAME,
        reference=text,
        fetch=lambda entries, verify: _fetch(files, entries, verify),
        store=client.storage_folder,
    )


def _open_onnx_file(client: HubClient, reference: HubReference, name: str, offline: bool, text: str) -> ModelPackage:
    """A single ONNX file, checked against the Hub, then opened by the source that reads ``.onnx`` files."""
    from modelrt.api import default_manager
    from modelrt.sources import open_package

    files = HubFiles(client, reference, locate_commit(client, reference, name, offline), offline)
    opened = open_package(str(files.ensure(name)), default_manager(), offline=offline)
    return ModelPackage(
        root=opened.root, manifest=opened.manifest, source=SOURCE_NAME, reference=text, store=client.storage_folder
    )


def _in_folder(path: str, folder: str, suffix: str) -> bool:
    return posixpath.dirname(path) == folder and path.lower().endswith(suffix)


def _not_a_model(reference: HubReference, onnx_files: list[str], offline: bool) -> PackageError:
    where = f" in {reference.subfolder}" if reference.subfolder else ""
    if len(onnx_files) > 1:
        names = ", ".join(f"hf://{reference.repo_id}/{path}" for path in onnx_files[:5])
        return PackageError(f"{reference} holds several ONNX files{where} and no modelrt.json; name one: {names}")
    if offline:
        return NotCachedError(
            f"{reference} is not cached: none of the files modelrt looks for (modelrt.json, {CONFIG_NAME}, an .onnx "
            f"file) is in the huggingface-hub cache, and offline mode is on. Fetch it while online with "
            f"`{pull_command(reference)}`"
        )
    return PackageError(
        f"{reference} is not a model modelrt can open: it has no {MANIFEST_NAME} (a modelrt package), no "
        f"{CONFIG_NAME} with {PREPROCESSOR_NAME} and {' or '.join(MODEL_PATHS)} (a Transformers ONNX image "
        f"classifier) and no single .onnx file{where}. Check the repository and subfolder, or publish a modelrt "
        "package there (`modelrt package`)"
    )


def _fetch(files: HubFiles, entries: tuple[ArtifactEntry, ...], verify: bool) -> None:
    for entry in entries:
        files.ensure(entry.path, (entry.size, entry.sha256) if verify and entry.sha256 else None, verify=verify)


def _read_manifest(files: HubFiles) -> Manifest:
    path = files.ensure(MANIFEST_NAME)
    data = _read_small(path, MANIFEST_NAME, files)
    return manifest_from_dict(parse_json_strictly(data, path), origin=f"{files.reference} {MANIFEST_NAME}")


def _read_small(path: Path, name: str, files: HubFiles) -> bytes:
    """A JSON file of the repository, bounded like a manifest (it was checked by ``ensure`` just before)."""
    return read_bounded(path, MAX_MANIFEST_BYTES, f"{name} of {files.reference}")


def _open_transformers_classifier(client: HubClient, reference: HubReference, offline: bool, text: str) -> ModelPackage:
    """The Transformers layout; ``HubFileMissing`` when the folder lacks one of its JSON files."""
    commit = locate_commit(client, reference, CONFIG_NAME, offline)
    files = HubFiles(client, reference, commit, offline)
    config = parse_json_strictly(_read_small(files.ensure(CONFIG_NAME), CONFIG_NAME, files), Path(CONFIG_NAME))
    preprocessor_file = files.ensure(PREPROCESSOR_NAME)
    preprocessor = parse_json_strictly(_read_small(preprocessor_file, PREPROCESSOR_NAME, files), preprocessor_file)
    model_path, model_file = _find_network(files)
    origin = f"{reference}"
    try:
        header = read_header(model_file)
    except OnnxFormatError as error:
        raise PackageError(f"{origin}: {model_path} is not a valid ONNX model ({error})") from None
    artifacts = [_pinned_entry(files, model_path, model_file, "onnx")]
    for location in read_external_data(model_file).locations:
        data_path = posixpath.normpath(posixpath.join(posixpath.dirname(model_path), location))
        data_file = files.ensure(data_path)
        artifacts.append(_pinned_entry(files, data_path, data_file, DATA_FORMAT, used_by=model_path))
    name = reference.repo_id.rsplit("/", 1)[-1]
    manifest = transformers_manifest(name, config, preprocessor, header, artifacts, origin)
    return ModelPackage(
        root=files.root, manifest=manifest, source=SOURCE_NAME, reference=text, store=client.storage_folder
    )


def _find_network(files: HubFiles) -> tuple[str, Path]:
    for path in MODEL_PATHS:
        try:
            return path, files.ensure(path)
        except HubFileMissing:
            continue
    raise PackageError(
        f"{files.reference} has {CONFIG_NAME} and {PREPROCESSOR_NAME} but no ONNX network at "
        f"{' or '.join(MODEL_PATHS)}; export one with Optimum (`optimum-cli export onnx`)"
    )


def _pinned_entry(files: HubFiles, path: str, file: Path, fmt: str, used_by: str | None = None) -> ArtifactEntry:
    """A manifest entry for a file ``ensure`` checked against the Hub, pinned to that content.

    An LFS file's pin is its sha256 already; a file kept in git is read once, checked against its git
    blob id, and pinned by the sha256 of those same bytes.
    """
    pin = files.pin(path, file)
    if pin is not None and pin.is_sha256:
        sha256, size = pin.etag, file.stat().st_size
    else:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise PackageError(f"cannot read {path} of {files.reference} at {file}: {error.strerror}") from None
        if pin is not None:
            check_bytes(data, pin, f"{path!r} of {files.reference}", file)
        sha256, size = hashlib.sha256(data).hexdigest(), len(data)
    return ArtifactEntry(
        role="main",
        format=fmt,  # type: ignore[arg-type]
        path=path,
        size=size,
        sha256=sha256,
        used_by=used_by,
    )

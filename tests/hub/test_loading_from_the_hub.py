"""``modelrt.load("hf://org/repo")``: a modelrt package on the Hub loads like the same package from a directory.

Only the manifest and the artifacts the plan uses are downloaded, revisions and subfolders choose what
is loaded, a warm model loads offline without a socket, and every Hub problem is a modelrt error that
says what to do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import modelrt
from modelrt.errors import InputError, NotCachedError, PackageError

from .conftest import LABELS, classifier_onnx, image, manifest_for, package_files
from .emulator import TOKEN, HubEmulator


def write_package(files: dict[str, bytes], directory: Path) -> Path:
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    return directory


def probabilities(reference: str | Path, **options: object) -> np.ndarray:
    with modelrt.load(reference, device="cpu", **options) as model:
        return model.predict(image()).probabilities


def test_a_hub_package_predicts_exactly_what_the_same_package_predicts_from_a_directory(
    hub: HubEmulator, tmp_path: Path
) -> None:
    files = package_files()
    hub.publish("org/tiny", files)
    local = write_package(files, tmp_path / "local")
    with modelrt.load("hf://org/tiny", device="cpu") as model:
        assert model.labels == LABELS
        assert model.package.source == "huggingface-hub"
        np.testing.assert_array_equal(model.predict(image()).probabilities, probabilities(local))


def test_the_first_load_downloads_the_manifest_and_the_artifact_once_and_a_second_load_nothing(
    hub: HubEmulator,
) -> None:
    hub.publish("org/tiny", package_files())
    probabilities("hf://org/tiny")
    probabilities("hf://org/tiny")
    assert sorted(entry.path for entry in hub.downloads()) == ["model.onnx", "modelrt.json"]


@pytest.mark.parametrize("how", ["offline=True", "HF_HUB_OFFLINE", "MODELRT_OFFLINE"])
def test_a_cached_model_loads_offline_without_opening_a_socket(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, how: str
) -> None:
    hub.publish("org/tiny", package_files())
    online = probabilities("hf://org/tiny")
    request.getfixturevalue("no_sockets")
    if how != "offline=True":
        monkeypatch.setenv(how, "1")
    offline = probabilities("hf://org/tiny", **({"offline": True} if how == "offline=True" else {}))
    np.testing.assert_array_equal(offline, online)


def test_offline_a_model_never_downloaded_is_not_cached_error_with_the_pull_command(
    hub: HubEmulator, no_sockets: list[object]
) -> None:
    with pytest.raises(NotCachedError, match=r"not cached.*`modelrt pull hf://org/tiny@v2`"):
        modelrt.load("hf://org/tiny@v2", offline=True)


def test_a_moving_branch_is_followed_online_while_a_pinned_commit_keeps_its_files(hub: HubEmulator) -> None:
    first = hub.publish("org/tiny", package_files(classifier_onnx(seed=1)))
    before = probabilities("hf://org/tiny")
    hub.publish("org/tiny", package_files(classifier_onnx(seed=2)))
    after = probabilities("hf://org/tiny")
    assert not np.array_equal(before, after)
    requests_before_pinned_load = len(hub.log)
    np.testing.assert_array_equal(probabilities(f"hf://org/tiny@{first}"), before)
    assert len(hub.log) == requests_before_pinned_load  # a cached commit needs no question to the Hub
    np.testing.assert_array_equal(probabilities("hf://org/tiny", revision=first), before)


def test_offline_a_branch_loads_the_commit_it_pointed_to_when_last_seen_online(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files(classifier_onnx(seed=1)))
    seen = probabilities("hf://org/tiny")
    hub.publish("org/tiny", package_files(classifier_onnx(seed=2)))
    np.testing.assert_array_equal(probabilities("hf://org/tiny", offline=True), seen)


def test_a_tag_in_the_reference_and_a_pull_request_revision_as_argument(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files(classifier_onnx(seed=1)), branch="v1")
    hub.publish("org/tiny", package_files(classifier_onnx(seed=3)), branch="refs/pr/3")
    hub.publish("org/tiny", package_files(classifier_onnx(seed=2)))
    v1 = probabilities("hf://org/tiny@v1")
    pull_request = probabilities("hf://org/tiny", revision="refs/pr/3")
    main = probabilities("hf://org/tiny")
    assert len({v1.tobytes(), pull_request.tobytes(), main.tobytes()}) == 3


def test_a_package_in_a_subfolder_loads_from_the_reference_or_the_argument(hub: HubEmulator) -> None:
    hub.publish(
        "org/zoo",
        {**package_files(classifier_onnx(seed=1), "small/"), **package_files(classifier_onnx(seed=2), "large/v2/")},
    )
    small = probabilities("hf://org/zoo/small")
    large = probabilities("hf://org/zoo/large/v2")
    assert not np.array_equal(small, large)
    np.testing.assert_array_equal(probabilities("hf://org/zoo", subfolder="large/v2"), large)
    assert {entry.path for entry in hub.downloads()} == {
        "small/modelrt.json",
        "small/model.onnx",
        "large/v2/modelrt.json",
        "large/v2/model.onnx",
    }


def test_only_the_artifact_the_plan_loads_is_downloaded_from_a_repository_of_three_formats(
    hub: HubEmulator,
) -> None:
    model = classifier_onnx()
    others = {"model.torchscript": ("torchscript", b"t" * 50_000), "model.pt2": ("exported-program", b"e" * 80_000)}
    artifacts = {"model.onnx": ("onnx", model), **others}
    hub.publish(
        "org/three", {"modelrt.json": manifest_for(artifacts), **{path: data for path, (_, data) in artifacts.items()}}
    )
    with modelrt.load("hf://org/three", device="cpu") as loaded:
        loaded.predict(image())
    assert sorted(entry.path for entry in hub.downloads()) == ["model.onnx", "modelrt.json"]


def test_explain_downloads_the_manifest_only(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files())
    plan = modelrt.explain("hf://org/tiny", device="cpu")
    assert plan.source == "huggingface-hub"
    assert [entry.path for entry in hub.downloads()] == ["modelrt.json"]


def test_a_gated_repository_without_a_token_names_the_two_ways_to_give_one(hub: HubEmulator) -> None:
    hub.publish("org/gated", package_files(), gated=True)
    with pytest.raises(PackageError, match=r"hf://org/gated is gated.*`hf auth login`, or set HF_TOKEN"):
        modelrt.load("hf://org/gated")


def test_a_gated_repository_loads_with_the_token_from_hf_token(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.publish("org/gated", package_files(), gated=True)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert probabilities("hf://org/gated").shape == (len(LABELS),)


def test_a_missing_repository_or_revision_is_a_package_error_saying_so(hub: HubEmulator) -> None:
    hub.publish("org/tiny", package_files())
    with pytest.raises(PackageError, match=r"hf://org/nope was not found on http://127.0.0.1:\d+, or is private"):
        modelrt.load("hf://org/nope")
    with pytest.raises(PackageError, match=r"has no revision 'v9'"):
        modelrt.load("hf://org/tiny@v9")


def test_a_repository_with_no_model_modelrt_can_open_says_what_it_looked_for(hub: HubEmulator) -> None:
    hub.publish("org/readme-only", {"README.md": b"# nothing here\n"})
    with pytest.raises(
        PackageError,
        match=r"no modelrt.json .*, no config.json with preprocessor_config.json .* and no single .onnx file",
    ):
        modelrt.load("hf://org/readme-only")


@pytest.mark.parametrize(
    ("reference", "options", "message"),
    [
        ("hf://just-a-name", {}, "names no repository"),
        ("hf://org/tiny/../other", {}, "subfolder"),
        ("hf://org/tiny@v1", {"revision": "v2"}, "give it in one place"),
        ("hf://org/ti ny", {}, "not a valid Hub"),
    ],
)
def test_malformed_references_are_input_errors_before_any_request(
    hub: HubEmulator, reference: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        modelrt.load(reference, **options)
    assert hub.log == []


def test_a_revision_for_a_local_directory_is_an_input_error(hub: HubEmulator, tmp_path: Path) -> None:
    local = write_package(package_files(), tmp_path / "local")
    with pytest.raises(InputError, match=r"revision= applies to models on a hub"):
        modelrt.load(local, revision="v1")


def test_without_huggingface_hub_installed_the_error_gives_the_install_command(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(PackageError, match=r"pip install 'modelrt-core\[hub\]'"):
        modelrt.load("hf://org/tiny")


def test_the_manifest_json_on_the_hub_is_parsed_as_strictly_as_a_local_one(hub: HubEmulator) -> None:
    files = package_files()
    manifest = json.loads(files["modelrt.json"])
    hub.publish("org/tiny", {**files, "modelrt.json": json.dumps({**manifest, "surprise": 1}).encode()})
    with pytest.raises(PackageError, match=r"unknown keys \['surprise'\]"):
        modelrt.load("hf://org/tiny")

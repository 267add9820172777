"""Install advice worded for how modelrt-core was installed: released extras, or the source tree it came from.

pip records where a distribution came from in its ``direct_url.json`` (PEP 610). These tests write
distributions on disk the way pip does (a ``.dist-info`` folder with that record) next to a fake checkout,
so the detection reads real metadata and the advice names real directories.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from modelrt.compatibility import core_findings
from modelrt.env_report import build_report, install_commands, render_report, report_to_dict
from modelrt.host_environment import probe_environment
from modelrt.installation import (
    FROM_INDEX,
    SOURCE_DIRECTORIES,
    Installation,
    detect_installation,
    installation_of,
)
from modelrt.specs import Finding, Severity, Status
from modelrt.testing.hosts import make_jetson_host, make_linux_host


def make_checkout(path: Path) -> Path:
    """The directories of a modelrt source tree: core/ and every plugin."""
    for directory in SOURCE_DIRECTORIES.values():
        (path / directory).mkdir(parents=True)
    return path


def write_core_distribution(site: Path, direct_url: dict[str, object] | str | None) -> Path:
    """A ``modelrt_core-0.1.0.dist-info`` as pip writes it, with ``direct_url`` as its PEP 610 record."""
    dist_info = site / "modelrt_core-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: modelrt-core\nVersion: 0.1.0\n")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (dist_info / "direct_url.json").write_text(text)
    return dist_info


def installed(site: Path, direct_url: dict[str, object] | str | None) -> Installation:
    return installation_of(importlib.metadata.PathDistribution(write_core_distribution(site, direct_url)))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return make_checkout(tmp_path / "src" / "modelrt")


def from_directory(directory: Path, editable: bool = False) -> dict[str, object]:
    return {"url": directory.as_uri(), "dir_info": {"editable": True} if editable else {}}


# ------------------------------------------------------------------------------------------ detection


def test_a_core_without_a_pep610_record_came_from_a_package_index(tmp_path: Path) -> None:
    assert installed(tmp_path / "site", None) == FROM_INDEX


def test_a_core_installed_from_the_core_directory_of_a_checkout_is_a_source_install(
    tmp_path: Path, checkout: Path
) -> None:
    assert installed(tmp_path / "site", from_directory(checkout / "core")) == Installation(checkout, editable=False)


def test_an_editable_install_of_a_checkout_says_so(tmp_path: Path, checkout: Path) -> None:
    assert installed(tmp_path / "site", from_directory(checkout / "core", editable=True)) == Installation(
        checkout, editable=True
    )


def test_a_core_built_from_a_directory_outside_a_checkout_gets_the_released_advice(tmp_path: Path) -> None:
    unpacked_sdist = tmp_path / "modelrt_core-0.1.0"
    unpacked_sdist.mkdir()
    assert installed(tmp_path / "site", from_directory(unpacked_sdist)) == FROM_INDEX


def test_a_checkout_that_is_gone_gets_the_released_advice(tmp_path: Path) -> None:
    assert installed(tmp_path / "site", from_directory(tmp_path / "deleted" / "core")) == FROM_INDEX


def test_a_core_installed_from_a_wheel_file_gets_the_released_advice(tmp_path: Path) -> None:
    wheel = {"url": (tmp_path / "modelrt_core-0.1.0-py3-none-any.whl").as_uri(), "archive_info": {}}
    assert installed(tmp_path / "site", wheel) == FROM_INDEX


@pytest.mark.parametrize("record", ["", "{not json", "[]", '{"url": 3, "dir_info": {}}'])
def test_an_unreadable_pep610_record_gets_the_released_advice(tmp_path: Path, record: str) -> None:
    assert installed(tmp_path / "site", record) == FROM_INDEX


def test_detection_reads_the_modelrt_core_that_this_python_imports(
    tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_core_distribution(tmp_path / "site", from_directory(checkout / "core"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert detect_installation() == Installation(checkout)


# ------------------------------------------------------------------------------------------ commands


def test_from_an_index_the_advice_names_the_released_extras() -> None:
    assert (
        FROM_INDEX.pip_install(["modelrt[onnx]", "acme-modelrt>=2"]) == 'pip install "modelrt[onnx]" "acme-modelrt>=2"'
    )


@pytest.mark.parametrize(
    ("extra", "directories"),
    [
        ("onnx", ["plugins/onnx_backend[cpu]"]),
        ("onnx-gpu", ["plugins/onnx_backend[gpu]"]),
        ("torch", ["plugins/torch_backend[torch]"]),
        ("cpu", ["plugins/onnx_backend[cpu]", "plugins/torch_backend[torch]"]),
        ("trt-cu12", ["plugins/trt_backend[cu12]"]),
        ("trt-cu13", ["plugins/trt_backend[cu13]"]),
        ("jetson", ["plugins/jetson", "plugins/onnx_backend", "plugins/torch_backend", "plugins/trt_backend"]),
        ("hub", ["core[hub]"]),
        ("ray", ["core[ray]"]),
    ],
)
def test_from_a_checkout_each_extra_becomes_the_directories_it_pulls(
    checkout: Path, extra: str, directories: list[str]
) -> None:
    expected = [f'"{checkout}/{directory}"' for directory in directories]
    assert Installation(checkout).pip_arguments([f"modelrt[{extra}]"]) == expected


def test_from_an_editable_checkout_each_directory_is_installed_editable(checkout: Path) -> None:
    assert Installation(checkout, editable=True).pip_install(["modelrt[onnx]"]) == (
        f'pip install -e "{checkout}/plugins/onnx_backend[cpu]"'
    )


def test_from_a_checkout_other_requirements_stay_as_they_are(checkout: Path) -> None:
    arguments = Installation(checkout).pip_arguments(["acme-modelrt>=2", "modelrt[trt-cu99]", "modelrt-onnx[gpu]"])
    assert arguments == ['"acme-modelrt>=2"', '"modelrt[trt-cu99]"', f'"{checkout}/plugins/onnx_backend[gpu]"']


def test_from_a_checkout_a_directory_two_extras_pull_is_named_once(checkout: Path) -> None:
    assert Installation(checkout).pip_arguments(["modelrt[cpu]", "modelrt[onnx]"]) == [
        f'"{checkout}/plugins/onnx_backend[cpu]"',
        f'"{checkout}/plugins/torch_backend[torch]"',
    ]


def test_a_checkout_path_a_shell_would_expand_is_quoted_literally(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "$HOME's tree")
    assert Installation(checkout).pip_arguments(["modelrt[onnx]"]) == [
        f"'{tmp_path}/$HOME'\"'\"'s tree/plugins/onnx_backend[cpu]'"
    ]


# ---------------------------------------------------------------------------- through `modelrt env`


def test_from_a_checkout_the_report_installs_from_its_directories(root: Path, checkout: Path) -> None:
    source = Installation(checkout, editable=True)
    env = probe_environment(make_linux_host(root))
    report = build_report(env, core_findings(env, source), installation=source)
    assert report.install_commands == (f'pip install -e "{checkout}/plugins/onnx_backend[cpu]"',)
    assert report_to_dict(report)["installation"] == {"source_tree": str(checkout), "editable": True}
    words = " ".join(render_report(report).split())  # without the terminal's line wrapping
    assert f"Source tree {checkout} (modelrt-core is an editable install of it" in words


def test_from_an_index_the_report_names_no_source_tree(root: Path) -> None:
    env = probe_environment(make_linux_host(root))
    report = build_report(env, core_findings(env, FROM_INDEX), installation=FROM_INDEX)
    assert report.install_commands == ('pip install "modelrt[onnx]"',)
    assert report_to_dict(report)["installation"] == {"source_tree": None, "editable": False}
    assert "Source tree" not in render_report(report)


def test_the_report_detects_the_installation_by_default(
    root: Path, tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_core_distribution(tmp_path / "site", from_directory(checkout / "core"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    env = probe_environment(make_linux_host(root))
    assert build_report(env, core_findings(env)).install_commands == (
        f'pip install "{checkout}/plugins/onnx_backend[cpu]"',
    )


def test_the_core_fix_for_a_jetson_without_its_plugin_installs_it_from_the_checkout(root: Path, checkout: Path) -> None:
    (finding,) = core_findings(probe_environment(make_jetson_host(root)), Installation(checkout))
    assert finding.fix == (
        f'pip install "{checkout}/plugins/jetson" "{checkout}/plugins/onnx_backend" "{checkout}/plugins/torch_backend" '
        f'"{checkout}/plugins/trt_backend"'
    )
    assert finding.install == ("modelrt[jetson]",)


def test_requirements_from_another_index_keep_their_names_in_a_source_install(checkout: Path) -> None:
    index = "https://pypi.jetson-ai-lab.io/jp6/cu126"
    finding = Finding(
        "jetson",
        Status.STABLE,
        Severity.INFO,
        "verdict",
        install=("modelrt[jetson]",),
        index_url=index,
        index_install=("torch",),
    )
    assert install_commands([finding], Installation(checkout))[1] == f'pip install "torch" --index-url {index}'

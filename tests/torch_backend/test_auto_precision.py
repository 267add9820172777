"""``precision="auto"`` on CUDA: fp16 only where the network measured faster in it, decided once per GPU.

The decision rule and the timing loop are tested with fixed numbers and a fake clock; the trial itself
runs real torch modules on the CPU, through a ``torch`` whose ``cuda`` namespace describes a fake GPU,
so what is copied, converted, cached and reported is the real code path. The same trial on a real GPU
is in ``test_real_devices.py`` (``gpu``).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from modelrt.backend import Artifact, TensorInfo
from modelrt.devices import Device
from modelrt_torch import auto_precision
from modelrt_torch.auto_precision import AutoPrecision, Timings, choose_on_cuda, decide, measure, trial_batches
from modelrt_torch.precision import resolve_precision

SHA = "ab" * 32


def timings(fp32: dict[int, float], fp16: dict[int, float]) -> Timings:
    return Timings(fp32=fp32, fp16=fp16)


# ------------------------------------------------------------------------------------- the rule


def test_fp16_is_chosen_when_it_is_faster_at_every_batch() -> None:
    decision = decide(timings({1: 2.0, 8: 9.0}, {1: 1.2, 8: 5.0}), "fp32")
    assert decision.precision == "fp16"
    assert decision.reason == (
        "precision auto chose fp16, measured faster on this GPU "
        "(batch 1: fp16 1.20 ms vs fp32 2.00 ms, batch 8: fp16 5.00 ms vs fp32 9.00 ms)"
    )


def test_fp16_slower_at_batch_8_keeps_fp32_and_says_how_to_ask_for_fp16() -> None:
    """MobileNetV2 on an H100: faster in fp16 alone, slower in a batch of 8."""
    decision = decide(timings({1: 2.0, 8: 4.0}, {1: 1.5, 8: 4.6}), "fp32")
    assert decision.precision == "fp32"
    assert "fp16 was not at least 5% faster at every batch" in decision.reason
    assert "batch 8: fp16 4.60 ms vs fp32 4.00 ms" in decision.reason
    assert decision.reason.endswith("ask precision='fp16' to use it anyway")


def test_a_gain_within_the_noise_margin_keeps_the_artifact_precision() -> None:
    assert decide(timings({1: 2.0, 8: 8.0}, {1: 1.92, 8: 7.7}), "fp32").precision == "fp32"


def test_an_fp16_artifact_runs_in_fp32_only_where_fp32_is_faster() -> None:
    assert decide(timings({1: 1.0, 8: 3.0}, {1: 2.0, 8: 6.0}), "fp16").precision == "fp32"
    kept = decide(timings({1: 2.0, 8: 6.0}, {1: 1.0, 8: 3.0}), "fp16")
    assert kept.precision == "fp16"
    assert "ask precision='fp32'" in kept.reason


def test_auto_leaves_the_artifact_precision_for_the_cuda_trial_to_decide() -> None:
    assert resolve_precision("auto", None, Device.parse("cuda:0"), "net.pt2") == "fp32"
    assert resolve_precision("auto", "fp16", Device.parse("cuda:0"), "net.pt2") == "fp16"


# --------------------------------------------------------------------------------- the timing loop


def test_measure_warms_up_then_alternates_and_takes_medians() -> None:
    now = [0.0]
    order: list[tuple[str, int]] = []
    cost_ms = {("fp32", 1): 2.0, ("fp16", 1): 1.0, ("fp32", 8): 10.0, ("fp16", 8): 12.0}

    def run_for(name: str) -> Any:
        def run(batch: int) -> None:
            order.append((name, batch))
            now[0] += cost_ms[(name, batch)] / 1000

        return run

    result = measure({"fp32": run_for("fp32"), "fp16": run_for("fp16")}, (1, 8), lambda: None, lambda: now[0])
    assert result.fp32 == pytest.approx({1: 2.0, 8: 10.0})
    assert result.fp16 == pytest.approx({1: 1.0, 8: 12.0})
    warmup = auto_precision.WARMUP_RUNS
    first_batch = order[: 2 * (warmup + auto_precision.TIMED_RUNS)]
    assert first_batch[: 2 * warmup] == [("fp32", 1)] * warmup + [("fp16", 1)] * warmup
    assert first_batch[2 * warmup :] == [("fp32", 1), ("fp16", 1)] * auto_precision.TIMED_RUNS


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ([TensorInfo("x", ("s0", 3, 224, 224), "float32")], (1, 8)),
        ([TensorInfo("x", (4, 3, 224, 224), "float32")], (4,)),
        (
            [TensorInfo("x", (None, 3, "h", "w"), "float32")],
            "input 'x' has no fixed shape besides the batch ([?, 3, h, w])",
        ),
        ([TensorInfo("x", (), "unknown")], "input 'x' is unknown, not floating point"),
        ([TensorInfo("ids", ("s0", 16), "int64")], "input 'ids' is int64, not floating point"),
    ],
)
def test_the_batches_a_trial_runs_or_why_it_cannot(inputs: list[TensorInfo], expected: object) -> None:
    assert trial_batches(inputs) == expected


# --------------------------------------------------------------------- the trial on a described GPU


class FakeCuda:
    """``torch.cuda`` for a GPU that is not there: names and capability as told; no-op synchronisation."""

    def __init__(self, name: str = "NVIDIA H200", capability: tuple[int, int] = (9, 0)) -> None:
        self.name = name
        self.capability = capability
        self.emptied = 0

    def get_device_name(self, _device: object) -> str:
        return self.name

    def get_device_capability(self, _device: object) -> tuple[int, int]:
        return self.capability

    def synchronize(self) -> None:
        pass

    def empty_cache(self) -> None:
        self.emptied += 1


class TorchWithFakeCuda:
    """The real torch module except for ``cuda`` and ``version.cuda``."""

    def __init__(self, cuda: FakeCuda) -> None:
        self.cuda = cuda
        self.version = SimpleNamespace(cuda="12.8")

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


class Convolution(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"features": self.conv(x)}


INPUTS = (TensorInfo("x", ("s0", 3, 8, 8), "float32"),)


def trial_artifact(sha256: str | None = SHA, precision: str | None = None) -> Artifact:
    return Artifact(
        role="main",
        format="exported-program",
        file=Path("/nowhere/net.pt2"),
        package_root=Path("/nowhere"),
        precision=precision,
        sha256=sha256,
    )


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fixed_timings(monkeypatch: pytest.MonkeyPatch, fp16_ms: float) -> list[object]:
    """Make every trial measure fp32 at 2 ms and fp16 at ``fp16_ms``; the list records each trial's runs."""
    trials: list[object] = []

    def fake_measure(runs: dict[str, Any], batches: tuple[int, ...], _sync: object) -> Timings:
        trials.append(sorted(runs))
        return Timings(fp32=dict.fromkeys(batches, 2.0), fp16=dict.fromkeys(batches, fp16_ms))

    monkeypatch.setattr(auto_precision, "measure", fake_measure)
    return trials


def test_the_trial_runs_both_precisions_and_leaves_the_loaded_weights_as_they_were(cache_dir: Path) -> None:
    module = Convolution().eval()
    before = {name: value.clone() for name, value in module.state_dict().items()}
    cuda = FakeCuda()
    decision = choose_on_cuda(TorchWithFakeCuda(cuda), module, INPUTS, trial_artifact(), torch.device("cpu"))
    assert decision.precision in ("fp32", "fp16")
    assert "batch 1: fp16" in decision.reason and "batch 8: fp16" in decision.reason
    runs_per_batch = auto_precision.WARMUP_RUNS + auto_precision.TIMED_RUNS
    assert module.calls == 2 * runs_per_batch  # the fp32 runs; the fp16 ones went to a copy
    assert all(
        torch.equal(value, before[name]) and value.dtype == torch.float32 for name, value in module.state_dict().items()
    )
    assert cuda.emptied == 1


def test_the_decision_is_kept_in_the_modelrt_cache_and_read_back(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials = fixed_timings(monkeypatch, fp16_ms=1.0)
    fake_torch = TorchWithFakeCuda(FakeCuda())
    first = choose_on_cuda(fake_torch, Convolution(), INPUTS, trial_artifact(), torch.device("cpu"))
    assert first.precision == "fp16"
    assert "kept in " in first.reason
    [record_file] = cache_dir.glob("torch-precision/*/decision.json")
    record = json.loads(record_file.read_text())
    assert record["precision"] == "fp16"
    assert record["facts"] == {
        "artifact_sha256": SHA,
        "stored_precision": "fp32",
        "gpu": "NVIDIA H200",
        "compute_capability": "9.0",
        "torch": str(torch.__version__),
        "cuda": "12.8",
        "batches": [1, 8],
    }
    assert record["timings_ms"] == {"fp32": {"1": 2.0, "8": 2.0}, "fp16": {"1": 1.0, "8": 1.0}}

    again = choose_on_cuda(fake_torch, Convolution(), INPUTS, trial_artifact(), torch.device("cpu"))
    assert again == AutoPrecision("fp16", f"{record['reason']}; decided earlier, from the modelrt cache")
    assert len(trials) == 1


def test_another_gpu_class_is_measured_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trials = fixed_timings(monkeypatch, fp16_ms=1.0)
    for cuda in (FakeCuda("NVIDIA H200", (9, 0)), FakeCuda("NVIDIA GeForce RTX 4090", (8, 9))):
        choose_on_cuda(TorchWithFakeCuda(cuda), Convolution(), INPUTS, trial_artifact(), torch.device("cpu"))
    assert len(trials) == 2
    assert len(list(cache_dir.glob("torch-precision/*/decision.json"))) == 2


def test_a_damaged_decision_is_measured_again_and_replaced(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trials = fixed_timings(monkeypatch, fp16_ms=1.0)
    fake_torch = TorchWithFakeCuda(FakeCuda())
    choose_on_cuda(fake_torch, Convolution(), INPUTS, trial_artifact(), torch.device("cpu"))
    [record_file] = cache_dir.glob("torch-precision/*/decision.json")
    record_file.write_text(record_file.read_text().replace('"fp16"', '"fp32"'))  # checksum no longer matches
    decision = choose_on_cuda(fake_torch, Convolution(), INPUTS, trial_artifact(), torch.device("cpu"))
    assert decision.precision == "fp16"
    assert "kept in " in decision.reason
    assert len(trials) == 2


def test_without_the_artifact_sha256_the_decision_is_measured_but_not_kept(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_timings(monkeypatch, fp16_ms=1.95)
    decision = choose_on_cuda(
        TorchWithFakeCuda(FakeCuda()), Convolution(), INPUTS, trial_artifact(None), torch.device("cpu")
    )
    assert decision.precision == "fp32"
    assert decision.reason.endswith("; not cached: the artifact was loaded without its sha256")
    assert not cache_dir.exists() or not list(cache_dir.glob("torch-precision/*/decision.json"))


def test_an_unwritable_cache_still_decides_and_says_the_next_load_measures_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MODELRT_CACHE", str(blocker / "cache"))
    fixed_timings(monkeypatch, fp16_ms=1.0)
    decision = choose_on_cuda(
        TorchWithFakeCuda(FakeCuda()), Convolution(), INPUTS, trial_artifact(), torch.device("cpu")
    )
    assert decision.precision == "fp16"
    assert "not cached (" in decision.reason and decision.reason.endswith("so the next load measures again")


def test_a_network_without_fixed_input_sizes_keeps_its_precision_and_says_why(cache_dir: Path) -> None:
    inputs = (TensorInfo("x", (), "unknown"),)  # a TorchScript module: shapes unknown before running
    decision = choose_on_cuda(
        TorchWithFakeCuda(FakeCuda()), Convolution(), inputs, trial_artifact(), torch.device("cpu")
    )
    assert decision == AutoPrecision(
        "fp32", "precision auto kept fp32: fp16 could not be measured, as input 'x' is unknown, not floating point"
    )


def test_a_network_that_fails_on_the_trial_inputs_keeps_its_precision_and_says_why(cache_dir: Path) -> None:
    wrong_size = (TensorInfo("x", ("s0", 5, 8, 8), "float32"),)  # the convolution takes 3 channels
    decision = choose_on_cuda(
        TorchWithFakeCuda(FakeCuda()), Convolution(), wrong_size, trial_artifact(), torch.device("cpu")
    )
    assert decision.precision == "fp32"
    assert decision.reason.startswith("precision auto kept fp32: fp16 could not be measured (RuntimeError(")

"""``precision="auto"`` on CUDA: fp16 only where this model measured faster in fp16 on this GPU.

Tensor cores make fp16 faster for most convolutional networks, but not for all of them on every GPU:
MobileNetV2 at batch 8 ran slower in fp16 than in fp32 on an H100 with torch. Since Ampere, torch runs
fp32 convolutions on TF32 tensor cores, and the fp16 path adds a conversion of every input and output
while depthwise convolutions, bound by memory traffic and kernel launches, gain little. No static rule
(compute capability, parameter count) tells those cases apart, so ``auto`` measures:

- both precisions run the network on the device, alternating, at batch 1 and batch 8 (the batch sizes a
  stream and a batched job use; a network with a fixed batch runs at that batch only), after warm-up runs;
- the artifact's own precision stays unless the other one's median is at least ``MARGIN`` faster at every
  batch measured (a smaller difference is within what a shared GPU varies): an fp32 artifact runs in fp16
  only where fp16 measured faster, and an fp16 artifact in fp32 (exact, more memory) only where that is;
- the decision is kept in the modelrt cache, keyed by the artifact's sha256, the GPU's name and compute
  capability and the torch and CUDA versions, so each model is measured once per GPU class and install.

A network whose inputs are not all floating point with fixed sizes besides the batch cannot be fed
without knowing the pre-processing, so ``auto`` keeps the artifact's precision and says why. Every case
ends in a sentence for the LoadPlan's notes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from modelrt import cache
from modelrt.errors import IntegrityError, StorageError
from modelrt_torch.session import named_outputs

if TYPE_CHECKING:
    from modelrt.backend import Artifact, TensorInfo

__all__ = ["MARGIN", "AutoPrecision", "Timings", "choose_on_cuda", "decide", "measure"]

#: fp16 must be at least this much faster (median per batch) to be chosen over the artifact's precision.
MARGIN = 0.05
TRIAL_BATCHES = (1, 8)
WARMUP_RUNS = 3
TIMED_RUNS = 15
CACHE_KIND = "torch-precision"
DECISION_FILE = "decision.json"
_FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


@attrs.frozen
class Timings:
    """Median milliseconds per run, by batch size, for each precision measured."""

    fp32: dict[int, float]
    fp16: dict[int, float]


@attrs.frozen
class AutoPrecision:
    """What ``auto`` runs in, and the sentence the LoadPlan shows about it."""

    precision: str
    reason: str


def decide(timings: Timings, stored: str) -> AutoPrecision:
    """The other precision when it is at least ``MARGIN`` faster at every batch measured, else ``stored``."""
    other = "fp32" if stored == "fp16" else "fp16"
    own, theirs = (timings.fp16, timings.fp32) if stored == "fp16" else (timings.fp32, timings.fp16)
    measured = ", ".join(
        f"batch {batch}: fp16 {timings.fp16[batch]:.2f} ms vs fp32 {timings.fp32[batch]:.2f} ms"
        for batch in sorted(own)
    )
    if all(theirs[batch] <= own[batch] * (1 - MARGIN) for batch in own):
        return AutoPrecision(other, f"precision auto chose {other}, measured faster on this GPU ({measured})")
    return AutoPrecision(
        stored,
        f"precision auto kept {stored}: {other} was not at least {MARGIN:.0%} faster at every batch on this GPU "
        f"({measured}); ask precision='{other}' to use it anyway",
    )


def measure(
    runs: dict[str, Callable[[int], None]],
    batches: Sequence[int],
    synchronize: Callable[[], None],
    clock: Callable[[], float] = time.perf_counter,
) -> Timings:
    """Median ms of ``runs[precision](batch)``: warm-up first, then the two precisions alternating."""
    samples: dict[str, dict[int, list[float]]] = {name: {batch: [] for batch in batches} for name in runs}
    for batch in batches:
        for run in runs.values():
            for _ in range(WARMUP_RUNS):
                run(batch)
        synchronize()
        for _ in range(TIMED_RUNS):
            for name, run in runs.items():
                start = clock()
                run(batch)
                synchronize()
                samples[name][batch].append((clock() - start) * 1000)
    medians = {
        name: {batch: statistics.median(values) for batch, values in by_batch.items()}
        for name, by_batch in samples.items()
    }
    return Timings(fp32=medians["fp32"], fp16=medians["fp16"])


def trial_batches(inputs: Sequence[TensorInfo]) -> tuple[int, ...] | str:
    """The batch sizes to measure at, or why the network cannot be fed without its pre-processing."""
    fixed_batch = None
    for info in inputs:
        if info.dtype not in _FLOAT_DTYPES:
            return f"input {info.name!r} is {info.dtype}, not floating point"
        if not info.shape or any(not isinstance(size, int) for size in info.shape[1:]):
            return f"input {info.name!r} has no fixed shape besides the batch ({_shape(info.shape)})"
        if isinstance(info.shape[0], int):
            fixed_batch = info.shape[0]
    return (fixed_batch,) if fixed_batch is not None else TRIAL_BATCHES


def choose_on_cuda(
    torch: ModuleType,
    module: Any,
    inputs: Sequence[TensorInfo],
    artifact: Artifact,
    torch_device: Any,
) -> AutoPrecision:
    """The precision ``auto`` runs ``module`` in on ``torch_device``: from the cache, else measured now."""
    stored = artifact.precision or "fp32"
    batches = trial_batches(inputs)
    if isinstance(batches, str):
        return AutoPrecision(stored, f"precision auto kept {stored}: fp16 could not be measured, as {batches}")
    facts = _facts(torch, artifact, torch_device, batches)
    key = _cache_key(facts) if facts["artifact_sha256"] else None
    cached = _cached(key, facts) if key else None
    if cached is not None:
        return attrs.evolve(cached, reason=f"{cached.reason}; decided earlier, from the modelrt cache")
    try:
        runs = _runs(torch, module, inputs, torch_device, stored)
        timings = measure(runs, batches, torch.cuda.synchronize)
    except Exception as error:  # a module torch cannot copy or convert, or that fails on zero inputs
        return AutoPrecision(stored, f"precision auto kept {stored}: fp16 could not be measured ({error!r})")
    finally:
        runs = {}  # drops the other precision's copy of the weights, which its run held,
        torch.cuda.empty_cache()  # and gives that memory back to the driver
    decision = decide(timings, stored)
    if key is None:
        return attrs.evolve(
            decision, reason=f"{decision.reason}; not cached: the artifact was loaded without its sha256"
        )
    stored_note = _store(key, facts, decision, timings)
    return attrs.evolve(decision, reason=f"{decision.reason}; {stored_note}")


def _runs(
    torch: ModuleType, module: Any, inputs: Sequence[TensorInfo], device: Any, stored: str
) -> dict[str, Callable[[int], None]]:
    """One callable per precision running a copy of ``module`` as the session would, on zero inputs."""
    other = copy.deepcopy(module)
    other = other.float() if stored == "fp16" else other.half()
    networks = {stored: module, "fp16" if stored != "fp16" else "fp32": other}
    shapes = [tuple(size for size in info.shape[1:] if isinstance(size, int)) for info in inputs]  # all ints

    def runner(network: Any, half: bool) -> Callable[[int], None]:
        def run(batch: int) -> None:
            tensors = [torch.zeros((batch, *shape), dtype=torch.float32, device=device) for shape in shapes]
            with torch.inference_mode():
                result = network(*(tensor.half() if half else tensor for tensor in tensors))
                if half:  # the session hands float32 back, so the trial converts as it does
                    _outputs_as_float(torch, result)

        return run

    return {name: runner(network, name == "fp16") for name, network in networks.items()}


def _outputs_as_float(torch: ModuleType, result: Any) -> None:
    for value in named_outputs(result, ()).values():
        if isinstance(value, torch.Tensor) and value.dtype == torch.float16:
            value.float()


def _facts(torch: ModuleType, artifact: Artifact, device: Any, batches: Sequence[int]) -> dict[str, Any]:
    major, minor = torch.cuda.get_device_capability(device)
    return {
        "artifact_sha256": artifact.sha256,
        "stored_precision": artifact.precision or "fp32",
        "gpu": torch.cuda.get_device_name(device),
        "compute_capability": f"{major}.{minor}",
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "batches": list(batches),
    }


def _cache_key(facts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _cached(key: str, facts: dict[str, Any]) -> AutoPrecision | None:
    """The decision recorded for exactly these facts; ``None`` when absent, damaged or unreadable."""
    try:
        text = cache.read_text(CACHE_KIND, key, DECISION_FILE)
    except (IntegrityError, StorageError, OSError):
        return None  # measured again and rewritten below
    if text is None:
        return None
    try:
        record = json.loads(text)
        if record["facts"] != facts or record["precision"] not in ("fp32", "fp16"):
            return None
        return AutoPrecision(record["precision"], record["reason"])
    except (ValueError, KeyError, TypeError):
        return None


def _store(key: str, facts: dict[str, Any], decision: AutoPrecision, timings: Timings) -> str:
    """Record the decision; the note says where, or why it could not be kept."""
    record = {
        "facts": facts,
        "precision": decision.precision,
        "reason": decision.reason,
        "timings_ms": {"fp32": timings.fp32, "fp16": timings.fp16},
    }
    try:
        with cache.open_entry(CACHE_KIND, key) as entry:
            path = entry.write_text(DECISION_FILE, json.dumps(record, indent=1) + "\n")
    except StorageError as error:
        return f"not cached ({error}), so the next load measures again"
    return f"kept in {path}"


def _shape(shape: Sequence[object]) -> str:
    return "[" + ", ".join("?" if size is None else str(size) for size in shape) + "]" if shape else "unknown"

"""modelrt's torch CPU path vs calling the exported program directly, interleaved in one process.

The model is the torch demo's MobileNetV2 (``demo/torch/build_packages.py``, built once into
``benchmarks/.cache``); both sides run the same ``.pt2`` file on the same preprocessed tensor, under
``torch.inference_mode()``, with the same torch thread count (torch's setting is process-wide, so the
two cannot differ). Variants:

- ``exported program``: ``torch.from_numpy`` → ``program.module()`` → ``.numpy()``, nothing else: the floor.
- ``session.run``: modelrt's ``TorchSession.run`` on the same tensor (name and dtype checks, the same
  ``from_numpy``, output conversion and the shared-memory check).
- ``predict``: ``Model.predict`` from the decoded image, with its pre, run and post stages.

The ratios that matter: ``session.run`` and ``predict``'s run stage over the floor (goal ≤ 1.05).
Before timing, the variants must give the same logits.

Usage: python -m benchmarks.torch_e2e [--image PATH] [--runs N] [--warmup N] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness

REPO = Path(__file__).resolve().parents[1]
PACKAGES = REPO / "benchmarks" / ".cache" / "torch-packages"
MODEL = "mobilenet-v2-imagenet"


def packages(out: Path = PACKAGES) -> Path:
    """The torch demo packages, built once by the same command `make demo-torch` runs."""
    if not (out / MODEL / "modelrt.json").exists():
        subprocess.run([sys.executable, str(REPO / "demo" / "torch" / "build_packages.py"), str(out)], check=True)
    return out


def run(image_path: Path, runs: int, warmup: int, threads: int) -> dict[str, Any]:
    import time

    import torch

    import modelrt
    from modelrt.images import load_image
    from modelrt.preprocess import Preprocessor
    from modelrt.timing import StageTimer

    package = packages() / MODEL
    model = modelrt.load(package, backend="torch", device="cpu", threads=threads, warmup=0)
    session = model.sessions["main"]
    program = torch.export.load(str(package / "mobilenet_v2.pt2")).module()
    image = load_image(image_path)
    # The preprocessing predict runs (the classifier's), once, to give every variant the same tensor.
    tensor = Preprocessor(model.package.manifest.input)([image])[0].copy()

    def floor_logits() -> np.ndarray:
        with torch.inference_mode():
            return program(torch.from_numpy(tensor))["logits"].numpy()

    def floor() -> dict[str, float]:
        start = time.perf_counter()
        floor_logits()
        return {"run": time.perf_counter() - start}

    def session_run() -> dict[str, float]:
        start = time.perf_counter()
        session.run({"image": tensor})
        return {"run": time.perf_counter() - start}

    def predict() -> dict[str, float]:
        timer = StageTimer()
        model.predict(image, color="rgb", timer=timer)
        return timer.seconds

    np.testing.assert_allclose(session.run({"image": tensor})["logits"], floor_logits(), rtol=1e-5, atol=1e-5)
    samples = harness.interleave(
        {"exported program": floor, "session.run": session_run, "predict": predict}, runs=runs, warmup=warmup
    )
    report: dict[str, Any] = {
        "model": f"{MODEL} (exported program)",
        "image": image_path.name,
        "tensor_shape": list(tensor.shape),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "runs": runs,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "provider": session.provider,
        "variants": {},
    }
    for name, rows in samples.items():
        report["variants"][name] = {
            stage: harness.summarise([row[stage] for row in rows])
            for stage in ("total", "pre", "run", "post")
            if stage in rows[0]
        }
    floor_ms = report["variants"]["exported program"]["run"]["median_ms"]
    report["ratios"] = {
        "session.run / exported program": report["variants"]["session.run"]["run"]["median_ms"] / floor_ms,
        "predict run stage / exported program": report["variants"]["predict"]["run"]["median_ms"] / floor_ms,
    }
    model.close()
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['model']} on {report['image']}, tensor {tuple(report['tensor_shape'])}, torch {report['torch']}, "
        f"{report['threads']} threads, {report['runs']} interleaved runs, {report['provider']}",
        f"{'variant':<18}{'median ms':>11}{'p90 ms':>9}   stages (median ms)",
    ]
    for name, entry in report["variants"].items():
        stages = "  ".join(f"{s} {entry[s]['median_ms']:.2f}" for s in ("pre", "run", "post") if s in entry)
        total = entry["total"]
        lines.append(f"{name:<18}{total['median_ms']:>11.2f}{total['p90_ms']:>9.2f}   {stages}")
    lines += [f"{name}: {value:.3f}x" for name, value in report["ratios"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(REPO / "demo" / "images" / "chelsea.png"))
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: usable CPUs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is None:
        from modelrt.cpus import usable_cpu_count

        args.threads = usable_cpu_count()
    report = run(Path(args.image), args.runs, args.warmup, args.threads)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

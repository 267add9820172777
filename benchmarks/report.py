"""The issue's targets as ratios, and the report as JSON and as a Markdown table.

Every target is computed from numbers of the same run; a part that was not run leaves its targets out.
Steady-state ratios are paired: the median over rounds of the two variants' ratio within one round
(``harness.paired_ratio``), which a burst of load from another process cannot skew the way it skews
one variant's median; the ratio of the medians is shown beside it in the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.e2e import MODELRT, RAW, REFERENCE, batched
from benchmarks.profiles import STAGES

SCHEMA = 1


def _target(name: str, value: float, limit: str, met: bool, unit: str) -> dict[str, Any]:
    return {"name": name, "value": value, "target": limit, "met": bool(met), "unit": unit}


def e2e_targets(e2e: dict[str, Any]) -> list[dict[str, Any]]:
    variants, paired = e2e["variants"], e2e["paired_ratios"]
    outside = variants[MODELRT]["outside_model_run_per_image"]["median_ms"]
    to_raw = paired[f"{MODELRT} / {RAW}"]
    targets = [
        _target("modelrt time outside the model run, per image (ms)", outside, "≤ 1.5", outside <= 1.5, "ms"),
        _target("modelrt / raw session.run (paired median)", to_raw, "≤ 1.02", to_raw <= 1.02, "x"),
    ]
    to_reference = paired.get(f"{MODELRT} / {REFERENCE}")
    if to_reference is not None:
        targets.append(
            _target("modelrt / inference-models (paired median)", to_reference, "< 1", to_reference < 1, "x")
        )
    batch = next((entry["batch"] for entry in variants.values() if entry["batch"] > 1), None)
    if batch is not None:
        per_image = paired[f"{batched(MODELRT, batch)} / {MODELRT}"]
        targets.append(
            _target(f"modelrt batch {batch} / batch 1, per image (CPU)", per_image, "≤ 0.9", per_image <= 0.9, "x")
        )
    return targets


def startup_targets(startup: dict[str, Any]) -> list[dict[str, Any]]:
    processes = startup["processes"]
    to_raw = startup["first_prediction_paired"]
    imported = startup["import_modelrt"]
    import_s = imported["import"]["median_s"]
    version_s = processes["modelrt --version"]["median_s"]
    heavy = imported["import_heavy"]
    return [
        _target(
            "process start to first prediction, modelrt / raw onnxruntime (paired median)",
            to_raw,
            "≤ 1.10",
            to_raw <= 1.10,
            "x",
        ),
        _target(
            "import modelrt (s), nothing heavy imported",
            import_s,
            "≤ 0.1, none",
            import_s <= 0.1 and not heavy,
            "s",
        ),
        _target("modelrt --version as a process (s)", version_s, "≤ 0.3", version_s <= 0.3, "s"),
    ]


def size_targets(size: dict[str, Any]) -> list[dict[str, Any]]:
    ours = size["installs"]["modelrt[onnx]"]
    return [
        _target(
            "modelrt[onnx] installed (MB), no torch or CUDA libraries",
            ours["megabytes"],
            "≤ 400, none",
            ours["megabytes"] <= 400 and not ours["frameworks"],
            "MB",
        )
    ]


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if "e2e" in report:
        found += e2e_targets(report["e2e"])
    if "startup" in report:
        found += startup_targets(report["startup"])
    if "install_size" in report:
        found += size_targets(report["install_size"])
    return found


# ------------------------------------------------------------------------------------------ markdown


def _ms(entry: dict[str, Any] | None, key: str = "median_ms") -> str:
    return "" if entry is None else f"{entry[key]:.1f}"


def _e2e_markdown(e2e: dict[str, Any]) -> list[str]:
    variants = e2e["variants"]
    lines = [
        f"Steady state: {e2e['model']}; image {e2e['image']} ({e2e['image_shape'][1]}x{e2e['image_shape'][0]}), "
        f"{e2e['detections']} detections, checked equal across variants before timing; {e2e['threads']} intra-op "
        f"threads everywhere; {e2e['runs']} interleaved runs after {e2e['warmup']} warm-up, "
        f"{e2e['pause_ms']:.0f} ms idle between calls; {e2e['machine']}.",
        "",
        "| variant | ms per image, median | p90 | pre | model run | post | outside the run | vs raw, paired |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in variants.items():
        stages = entry["per_image"]
        median = stages["total"]["median_ms"]
        lines.append(
            f"| {name} | {median:.1f} | {stages['total']['p90_ms']:.1f} | {_ms(stages.get('pre'))} | "
            f"{_ms(stages.get('run'))} | {_ms(stages.get('post'))} | {_ms(entry.get('outside_model_run_per_image'))} "
            f"| {entry['per_image_vs_raw_paired']:.3f}x |"
        )
    paired = ", ".join(f"{name} {ratio:.3f}" for name, ratio in e2e["paired_ratios"].items())
    lines += ["", f"Paired ratios (median over rounds of the per-round ratio, per image): {paired}."]
    return lines


def _startup_markdown(startup: dict[str, Any]) -> list[str]:
    lines = [
        f"Start-up, fresh processes (median of {startup['repeats']}; min-max):",
        "",
        "| process | median s | min-max s |",
        "|---|---:|---:|",
    ]
    for name, spread in startup["processes"].items():
        lines.append(f"| {name} | {spread['median_s']:.3f} | {spread['min_s']:.3f}-{spread['max_s']:.3f} |")
    imported = startup["import_modelrt"]
    lines += [
        "",
        f"First prediction, modelrt / raw onnxruntime, paired per round: {startup['first_prediction_paired']:.3f}.",
        f"`import modelrt`: {1000 * imported['import']['median_s']:.0f} ms, {imported['import_modules']} modules, "
        f"heavy: {', '.join(imported['import_heavy']) or 'none'}; plugin discovery: "
        f"{1000 * imported['discovery']['median_s']:.0f} ms more, {imported['discovery_modules']} modules, heavy: "
        f"{', '.join(imported['discovery_heavy']) or 'none'}.",
    ]
    reference = startup.get("import_inference_models")
    if reference:
        lines.append(
            f"`import inference_models`: {reference['import']['median_s']:.2f} s, {reference['import_modules']} "
            f"modules, heavy: {', '.join(reference['import_heavy']) or 'none'}."
        )
    return lines


def _size_markdown(size: dict[str, Any]) -> list[str]:
    lines = [
        "Installed size, fresh venvs (site-packages minus an empty venv's):",
        "",
        "| install | MB | distributions | largest (MB) | torch / CUDA |",
        "|---|---:|---:|---|---|",
    ]
    for name, install in size["installs"].items():
        largest = ", ".join(f"{dist} {mb:.0f}" for dist, mb in install["largest_mb"].items())
        frameworks = install["frameworks"]
        listed = ", ".join(frameworks[:4]) + (", ..." if len(frameworks) > 4 else "")
        shown = f"{len(frameworks)}: {listed}" if frameworks else "none"
        lines.append(f"| `{name}` | {install['megabytes']:.0f} | {install['distributions']} | {largest} | {shown} |")
    return lines


def _targets_markdown(found: list[dict[str, Any]]) -> list[str]:
    lines = ["| target | measured | goal | met |", "|---|---:|---|---|"]
    for target in found:
        value = target["value"]
        shown = f"{value:.3f}" if target["unit"] in ("x", "s") else f"{value:.1f}"
        lines.append(f"| {target['name']} | {shown} | {target['target']} | {'yes' if target['met'] else '**no**'} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Command: `{report['command']}` ({report['date']})", ""]
    if "e2e" in report:
        lines += [*_e2e_markdown(report["e2e"]), ""]
    if "startup" in report:
        lines += [*_startup_markdown(report["startup"]), ""]
    if "install_size" in report:
        lines += [*_size_markdown(report["install_size"]), ""]
    if report["targets"]:
        lines += ["Targets:", "", *_targets_markdown(report["targets"]), ""]
    if report.get("profiles"):
        lines += [_profiles_markdown(report["profiles"]), ""]
    return "\n".join(lines)


def _profiles_markdown(profiles: dict[str, Any]) -> str:
    """One line: where the profiles are and what each kind of file holds."""
    files: list[str] = profiles["files"]
    stems = [name.rsplit(".", 1)[0] for name in files if name.endswith(".pstats") and not name.startswith("startup")]
    variants = sorted({stem.rsplit("-", 1)[0] for stem in stems}, key=len)
    found = {stem.rsplit("-", 1)[1] for stem in stems}
    stages = [stage for stage in STAGES if stage in found] + sorted(found - set(STAGES))
    parts = []
    if variants:
        shown = ", ".join(f"`{variant}-<stage>.txt`" for variant in variants)
        parts.append(
            f"{shown} (stages {', '.join(stages)}: top functions by cumulative and by own time; the `.pstats` "
            "beside each opens with `python -m pstats FILE` or snakeviz)"
        )
    if "startup.pstats" in files:
        parts.append("`startup.txt`/`.pstats` (process start to first prediction, one fresh process)")
    imports = [name for name in files if name.startswith("startup-importtime")]
    if imports:
        parts.append(f"{', '.join(f'`{name}`' for name in imports)} (its imports, `-X importtime`)")
    return (
        f"Profiles (cProfile, {profiles['rounds']} predictions after the timing): `{profiles['directory']}/` — "
        + "; ".join(parts)
        + "."
    )


def write(report: dict[str, Any], directory: Path, stem: str = "latest") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    markdown_path.write_text(markdown(report))
    return json_path, markdown_path

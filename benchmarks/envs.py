"""The heavy environments the benchmarks need, built once, on request, into the cache directory.

Each tool gets its own virtual environment under ``benchmarks/.cache/venvs/NAME`` (git-ignored):

- ``ultralytics``: builds the real YOLOv8n from its yaml with random weights and exports it to ONNX.
  AGPL: a tool for making the benchmark model, never a dependency. About 6 GB, ~2 minutes.
- ``inference-models``: the reference runtime, ``inference-models[onnx-cpu]`` 0.39.x, exactly as its
  users install it (it pulls CUDA torch even for ONNX on a CPU). About 6.7 GB, several minutes.
- ``modelrt-size`` and ``inference-models-base``: fresh installs whose size is measured (issue item 7).

Anything that pulls torch is installed with ``pip``, which reads this machine's pip configuration
(local wheels and the torch cap); ``uv`` ignores that configuration and is used for the light ones.
A venv counts as built only once its install finished (a marker file holding the requirements), so an
interrupted build is redone rather than used half-installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / ".cache"
VENVS = CACHE / "venvs"
_MARKER = ".benchmark-installed"


def _shown(path: Path) -> Path:
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


@attrs.frozen
class ToolEnv:
    """A virtual environment for one tool: what it installs, and with which installer."""

    name: str
    requirements: tuple[str, ...]
    installer: str = "pip"  # "pip" or "uv"
    purpose: str = ""

    @property
    def root(self) -> Path:
        return VENVS / self.name

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def is_built(self) -> bool:
        marker = self.root / _MARKER
        return marker.is_file() and marker.read_text() == "\n".join(self.requirements)

    def missing_message(self) -> str:
        return (
            f"the {self.name} environment ({self.purpose}) is not built yet: run "
            f"`python -m benchmarks setup --env {self.name}` (it installs {' '.join(self.requirements)} into "
            f"{_shown(self.root)})"
        )


ULTRALYTICS = ToolEnv("ultralytics", ("ultralytics>=8.3,<9", "onnx>=1.16"), purpose="builds YOLOv8n, ~6 GB")
INFERENCE_MODELS = ToolEnv(
    "inference-models",
    ("inference-models[onnx-cpu]>=0.39,<0.40",),
    purpose="the reference runtime, ~6.7 GB",
)
INFERENCE_MODELS_BASE = ToolEnv(
    "inference-models-base", ("inference-models>=0.39,<0.40",), purpose="the reference's base install, for its size"
)
MODELRT_SIZE = ToolEnv(
    "modelrt-size",
    (f"{REPO / 'core'}", f"{REPO / 'plugins' / 'onnx_backend'}[cpu]", f"{REPO}[onnx]"),
    installer="uv",
    purpose="a fresh modelrt[onnx] install, for its size",
)
EMPTY = ToolEnv("empty", (), purpose="the size of a venv with nothing installed")
ALL = {env.name: env for env in (ULTRALYTICS, INFERENCE_MODELS, INFERENCE_MODELS_BASE, MODELRT_SIZE, EMPTY)}


def require(env: ToolEnv) -> Path:
    """The env's Python; ``RuntimeError`` saying how to build it when it is not built."""
    if not env.is_built():
        raise RuntimeError(env.missing_message())
    return env.python


def _install_command(env: ToolEnv) -> list[str]:
    if env.installer == "pip":
        return [str(env.python), "-m", "pip", "install", "--quiet", *env.requirements]
    # uv does not compile bytecode unless asked; pip does. Compiled, as a user's install is, or every
    # process start would compile the sources again (this machine sets PYTHONDONTWRITEBYTECODE).
    uv = Path(sys.executable).with_name("uv")
    executable = str(uv) if uv.exists() else shutil.which("uv") or "uv"
    return [
        executable,
        "pip",
        "install",
        "--quiet",
        "--compile-bytecode",
        "--python",
        str(env.python),
        *env.requirements,
    ]


def build(env: ToolEnv, *, force: bool = False) -> Path:
    """Create ``env`` from scratch unless already built; returns its Python."""
    if env.is_built() and not force:
        return env.python
    if env.root.exists():
        shutil.rmtree(env.root)
    env.root.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(env.root)], check=True)
    if env.requirements:
        subprocess.run(_install_command(env), check=True)
    (env.root / _MARKER).write_text("\n".join(env.requirements))
    return env.python

"""The cuda image's healthcheck: healthy only when `modelrt env --json` shows a GPU this process can use.

A container started without `--gpus` (or on a host whose driver is too old) runs models on the CPU
without failing; the healthcheck makes that visible as `unhealthy` in `docker ps`.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    """0 when a visible GPU is reported and no verdict is an error; 1, with the reason on stderr, otherwise."""
    completed = subprocess.run(["modelrt", "env", "--json"], capture_output=True, text=True, timeout=60, check=False)
    if completed.returncode != 0:
        sys.stderr.write(f"modelrt env failed: {completed.stderr.strip()}\n")
        return 1
    report = json.loads(completed.stdout)
    visible = [gpu for gpu in report["environment"].get("gpus", []) if gpu.get("cuda_index") is not None]
    if not visible:
        sys.stderr.write("no GPU is visible: run the container with --gpus all (NVIDIA Container Toolkit)\n")
        return 1
    errors = [finding["message"] for finding in report["findings"] if finding["severity"] == "error"]
    if errors:
        sys.stderr.write("; ".join(errors) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""On a host with no mark of a Jetson, the probe answers without importing what describes a Jetson.

Every process probes the host at its first load, and most hosts are not Jetsons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DESCRIBING = ("modelrt_jetson.facts", "modelrt_jetson.container", "modelrt_jetson.libraries", "modelrt_jetson.wheels")


def test_a_host_without_jetson_marks_is_probed_without_the_describing_modules(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from modelrt.host import Host\n"
        "from modelrt_jetson.probe import probe_jetson\n"
        f"facts = probe_jetson(Host({str(tmp_path)!r}))\n"
        "print(json.dumps([facts is None, sorted(sys.modules)]))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    is_none, modules = json.loads(output.splitlines()[-1])
    assert is_none
    assert not set(modules) & set(DESCRIBING)

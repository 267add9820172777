"""Where a Jetson gets GPU builds of the runtimes: the Jetson AI Lab wheel index, per JetPack and CUDA.

PyPI's ``onnxruntime-gpu`` and CUDA ``torch`` are not built for Jetson. The index used by
jetson-containers serves Jetson builds under standard wheel names; the variant lives only in the
index path: ``jp{JetPack major}/cu{CUDA major}{minor}`` (``jp6/cu126``), and ``sbsa/cu{...}`` for
JetPack 7 (Thor), whose GPU is served by the server-ARM builds. The index mirrors PyPI for every
other package, so it is given to pip as ``--index-url``: with ``--extra-index-url`` pip would take
PyPI's ``torch`` whenever PyPI has a higher version, and that build does not use a Jetson's GPU.
"""

from __future__ import annotations

import re

__all__ = ["JETSON_INDEX_HOST", "JETSON_WHEELS", "wheel_index_url"]

JETSON_INDEX_HOST = "https://pypi.jetson-ai-lab.io"
#: The runtimes modelrt's backends use that need a Jetson build.
JETSON_WHEELS = ("onnxruntime-gpu", "torch")

#: JetPack major → the index's platform folder. JetPack 5's GPU wheels are built for its Python
#: 3.8, below what modelrt supports, so no index is offered for it.
_PLATFORM_BY_JETPACK_MAJOR = {6: "jp6", 7: "sbsa"}


def wheel_index_url(jetpack_major: int | None, cuda: str | None) -> str | None:
    """``https://pypi.jetson-ai-lab.io/jp6/cu126`` for JetPack 6 with CUDA 12.6; ``None`` where none fits."""
    platform = _PLATFORM_BY_JETPACK_MAJOR.get(jetpack_major) if jetpack_major is not None else None
    match = re.match(r"(\d{1,3})\.(\d{1,3})", cuda or "")
    if platform is None or match is None:
        return None
    return f"{JETSON_INDEX_HOST}/{platform}/cu{match.group(1)}{match.group(2)}"
